"""Test settings: the real settings, pointed at a fresh data folder for this test run."""

import os
import tempfile

os.environ.setdefault("KB_DATA_DIR", tempfile.mkdtemp(prefix="kbassist-test-"))

from kbassist.settings import *  # noqa: E402,F403

# Tasks run in-process unless a test starts a real worker (tests/test_worker.py).
CELERY_TASK_ALWAYS_EAGER = env.bool("KB_CELERY_EAGER", default=True)  # noqa: F405  (a Daphne of a test may hand tasks to a real worker)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
KB_LLM_MAX_TOKENS = env.int("KB_LLM_MAX_TOKENS", default=96)  # noqa: F405
KB_LLM_CONTEXT = env.int("KB_LLM_CONTEXT", default=2048)  # noqa: F405
# Login throttling is off in tests (Django's test client signs in without a request, which
# django-axes refuses); tests/accounts/test_throttling.py turns it on.
AXES_ENABLED = env.bool("KB_LOGIN_THROTTLE", default=False)  # noqa: F405
# One process's memory unless a test asks for more: each test starts with an empty cache
# (tests/conftest.py). The embedded default (the database cache) and Redis are tested across
# processes in tests/guardrails/ and tests/e2e/test_production.py.
if not os.environ.get("KB_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kbassist-tests"}}
# The answer check's model (Qwen 1.5B) only where a test asks for it (tests/chat/test_answer_check.py).
KB_CHECK_MODEL = env.str("KB_CHECK_MODEL", default="")  # noqa: F405
# No warm-up of the real models when a test imports kbassist.asgi or starts Daphne
# (tests/health/test_warmup.py turns it on).
KB_WARMUP = env.bool("KB_WARMUP", default=False)  # noqa: F405
# Each document syncs the index itself unless a test asks for shared syncs
# (tests/ingestion/test_shared_index_sync.py): tests leave documents queued that no worker will read.
KB_INDEX_SYNC_SECONDS = env.float("KB_INDEX_SYNC_SECONDS", default=0)  # noqa: F405
