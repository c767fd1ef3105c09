"""Test settings: the real settings, pointed at a fresh data folder for this test run."""

import os
import tempfile

os.environ.setdefault("KB_DATA_DIR", tempfile.mkdtemp(prefix="kbassist-test-"))

from kbassist.settings import *  # noqa: E402,F403

# Tasks run in-process unless a test starts a real worker (tests/test_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
KB_LLM_MAX_TOKENS = env.int("KB_LLM_MAX_TOKENS", default=96)  # noqa: F405
KB_LLM_CONTEXT = env.int("KB_LLM_CONTEXT", default=2048)  # noqa: F405
# Login throttling is off in tests (Django's test client signs in without a request, which
# django-axes refuses); tests/accounts/test_throttling.py turns it on.
AXES_ENABLED = env.bool("KB_LOGIN_THROTTLE", default=False)  # noqa: F405
