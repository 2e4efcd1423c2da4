"""FlowPilot settings: everything from the environment (see .env.example), one file for both modes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import (
    BASE_DIR,
    database_config,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_public_url,
    env_rate,
    env_str,
    secret_key,
)

VAR_DIR = Path(env_str("FLOWPILOT_VAR_DIR", str(BASE_DIR / "var")))
REDIS_URL = env_str("REDIS_URL")
DATABASE_URL = env_str("DATABASE_URL")
# Services mode: separate web, worker and beat processes over Redis. Embedded: one process, no Redis.
SERVICES_MODE = bool(REDIS_URL)

SECRET_KEY = secret_key(services_mode=SERVICES_MODE, var_dir=VAR_DIR)
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files of our own: the docs work offline
    "channels",
    "django_celery_beat",
    "accounts",
    "workflows",
    "triggers",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware (APPEND_SLASH): an API path answers with and without its slash (flowpilot/slashes.py).
    "flowpilot.slashes.optional_trailing_slash",
    # A body over its route's limit is a 413 before a view reads it, under any server (flowpilot/limits.py).
    "flowpilot.limits.RequestBodyLimit",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flowpilot.urls"
ASGI_APPLICATION = "flowpilot.asgi.application"
WSGI_APPLICATION = "flowpilot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "flowpilot" / "templates"],  # the API docs' ReDoc page (flowpilot/urls.py)
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

# --- Database ---------------------------------------------------------------------------------
# PostgreSQL: every process draws from a bounded pool of its own (flowpilot/database.py): each web
# process up to FLOWPILOT_DB_POOL_MAX connections, each Celery process (a worker's main process and
# each of its children, the beat) up to FLOWPILOT_WORKER_DB_POOL_MAX. All of them together must stay
# under PostgreSQL's max_connections (README: "Sizing the database pools").
FLOWPILOT_DB_POOL = env_bool("FLOWPILOT_DB_POOL", default=True)  # false: behind PgBouncer (transaction mode)
FLOWPILOT_DB_POOL_MIN = env_int("FLOWPILOT_DB_POOL_MIN", 1)
FLOWPILOT_DB_POOL_MAX = env_int("FLOWPILOT_DB_POOL_MAX", 8)
FLOWPILOT_WORKER_DB_POOL_MAX = env_int("FLOWPILOT_WORKER_DB_POOL_MAX", 3)
# How long a request waits for a free connection before it answers 503 (with Retry-After).
FLOWPILOT_DB_POOL_TIMEOUT = env_float("FLOWPILOT_DB_POOL_TIMEOUT", 10.0)
FLOWPILOT_DB_CONNECT_TIMEOUT = env_int("FLOWPILOT_DB_CONNECT_TIMEOUT", 5)
# What this process is (set by `manage.py serve` for its web processes): names its PostgreSQL sessions.
FLOWPILOT_PROCESS_ROLE = env_str("FLOWPILOT_PROCESS_ROLE")
if DATABASE_URL:
    DATABASES = {
        "default": database_config(DATABASE_URL, pool=FLOWPILOT_DB_POOL, min_size=FLOWPILOT_DB_POOL_MIN,
                                   max_size=FLOWPILOT_DB_POOL_MAX, timeout=FLOWPILOT_DB_POOL_TIMEOUT,
                                   connect_timeout=FLOWPILOT_DB_CONNECT_TIMEOUT, role=FLOWPILOT_PROCESS_ROLE)
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "flowpilot.sqlite3"),
            "OPTIONS": {
                # Writers take the lock when their transaction starts, so the worker threads and the
                # web server queue up instead of failing with "database is locked" mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file needs no pool: each thread keeps its connection (the worker's, the beat's, the
            # sweeper's, the web's), where closing it after every task and beat tick meant opening the
            # file and running the PRAGMAs again each time, most of an idle server's work.
            "CONN_MAX_AGE": None,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# The single-page app, built by Vite (flowpilot/spa.py serves index.html for its routes). WhiteNoise
# lists the files when it starts: a missing dist/ is no error (spa.py answers 503 until it is built).
FLOWPILOT_FRONTEND_DIST = Path(env_str("FLOWPILOT_FRONTEND_DIST", str(BASE_DIR / "frontend" / "dist")))
WHITENOISE_ROOT = FLOWPILOT_FRONTEND_DIST if FLOWPILOT_FRONTEND_DIST.is_dir() else None
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/assets/"  # Vite's hashed names: cached for ever


def _html_revalidated(headers, path: str, url: str) -> None:
    """The app's HTML (its names are not hashed) is revalidated on every load."""
    if url.endswith(".html"):
        headers["Cache-Control"] = "no-cache"


WHITENOISE_ADD_HEADERS_FUNCTION = _html_revalidated

# --- Web server (manage.py serve) ----------------------------------------------------------------
# Web processes in services mode (0: one per CPU); the embedded mode always runs one.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 0)
# Threads per web process serving HTTP requests (flowpilot/asgi.py); requests beyond them wait their turn.
FLOWPILOT_WEB_THREADS = env_int("FLOWPILOT_WEB_THREADS", 16)
# Allocations between two collections of the garbage collector's first generation in the web and
# worker processes (flowpilot/gc_tuning.py; Python's default is 700; 0 keeps it).
FLOWPILOT_GC_THRESHOLD = env_int("FLOWPILOT_GC_THRESHOLD", 10_000)
# Addresses of the proxies whose X-Forwarded-For/-Proto are believed (a load balancer in front).
FLOWPILOT_FORWARDED_ALLOW_IPS = env_str("FLOWPILOT_FORWARDED_ALLOW_IPS", "127.0.0.1")
# On SIGTERM, requests in flight get this long to finish.
FLOWPILOT_WEB_GRACEFUL_SECONDS = env_int("FLOWPILOT_WEB_GRACEFUL_SECONDS", 20)
# Connections the kernel queues for the web's socket while every process is busy.
FLOWPILOT_WEB_BACKLOG = env_int("FLOWPILOT_WEB_BACKLOG", 2048)
# The largest request body accepted (413 above it, before Django reads it: flowpilot/limits.py), and the
# largest workflow definition (create, update, validate, import: up to FLOWPILOT_MAX_WORKFLOW_STEPS steps
# with their configs and positions, which the designer saves whole).
FLOWPILOT_MAX_REQUEST_BYTES = env_int("FLOWPILOT_MAX_REQUEST_BYTES", 1024 * 1024)
FLOWPILOT_MAX_DEFINITION_BYTES = env_int("FLOWPILOT_MAX_DEFINITION_BYTES", 16 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(FLOWPILOT_MAX_REQUEST_BYTES, FLOWPILOT_MAX_DEFINITION_BYTES)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",  # personal tokens: fp_... keys
        "rest_framework.authentication.TokenAuthentication",  # manage.py drf_create_token keys
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested past FLOWPILOT_JSON_MAX_DEPTH is a 400 (workflows/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["workflows.api.parsers.BoundedJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.AnonRateThrottle", "accounts.throttling.UserRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "workflows.api.pagination.ListPagination",  # limit/offset, capped
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "workflows.api.errors.exception_handler",
}
# Requests per user (per client address when anonymous); counted in the default cache. Empty: no limit.
FLOWPILOT_API_RATE_USER = env_rate("FLOWPILOT_API_RATE_USER", "2000/minute")
FLOWPILOT_API_RATE_ANON = env_rate("FLOWPILOT_API_RATE_ANON", "60/minute")
# The OpenAPI schema and the docs answer anyone when true; else only logged-in users (session or token).
FLOWPILOT_PUBLIC_API_DOCS = env_bool("FLOWPILOT_PUBLIC_API_DOCS", default=False)
SPECTACULAR_SETTINGS = {
    "TITLE": "FlowPilot API",
    "SERVE_PERMISSIONS": ["accounts.permissions.ApiDocsAccess"],
    "DESCRIPTION": "Durable workflow orchestration: workflows, executions, steps, logs.",
    "VERSION": "1.0.0",
    # /api/v1/docs/ (Swagger UI) and /api/v1/redoc/ load their scripts and styles from our own static
    # files (drf-spectacular-sidecar, served by WhiteNoise like the admin's), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from validator.swagger.io: the page asks nothing of any other host.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # DRF's TokenAuthentication reads the same `Authorization: Token <key>` header as the personal
    # tokens (accounts.schema.ApiTokenScheme): one "tokenAuth" scheme documents both kinds of key.
    "AUTHENTICATION_WHITELIST": ["accounts.authentication.ApiTokenAuthentication",
                                 "rest_framework.authentication.SessionAuthentication"],
    # Several models have a "status"; name each set of choices after its own class.
    "ENUM_NAME_OVERRIDES": {
        "WorkflowStatusEnum": "workflows.models.WorkflowStatus",
        "ExecutionStatusEnum": "workflows.engine.planner.states.ExecutionStatus.choices",
        "TaskExecutionStatusEnum": "workflows.engine.planner.states.TaskStatus.choices",
        "TypeEnum": "triggers.models.TriggerType",  # kept as it was before alert channels had a "type"
        "AlertChannelTypeEnum": "monitoring.models.ChannelType",
        "AlertRuleStateEnum": "monitoring.models.AlertState",
        "AlertKindEnum": "monitoring.models.AlertKind",
        "WhyReasonEnum": "workflows.engine.planner.why.REASONS",  # GET /executions/{id}/why/
        "AlertEventStateEnum": "monitoring.models.AlertEventState",
        # Three sets of "kind" among the workflows' shapes: a workflow's (WorkflowKind), a code edge's, and
        # a stored definition's (only ever "code": a designed workflow's leaves it out).
        "CodeEdgeKindEnum": "workflows.code.registry.EDGE_KINDS",
        "DefinitionKindEnum": ["code"],
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "workflows.api.schema.add_error_responses"],  # the 4xx answers
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Publishing must not hang a web request while the broker is down or unreachable: the queued row is the
# outbox and the sweeper re-sends it once the broker is back. Connecting, and every command but the
# workers' BRPOP (which answers within a second), give up after this long.
FLOWPILOT_BROKER_TIMEOUT_SECONDS = env_float("FLOWPILOT_BROKER_TIMEOUT_SECONDS", 3.0)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": env_int("FLOWPILOT_BROKER_VISIBILITY_TIMEOUT", 3600),
     "socket_connect_timeout": FLOWPILOT_BROKER_TIMEOUT_SECONDS,
     "socket_timeout": max(FLOWPILOT_BROKER_TIMEOUT_SECONDS, 2.0)}  # over BRPOP's 1 s
    if SERVICES_MODE
    # Embedded: kombu's in-memory transport, woken at once by every publish and ack in this process
    # (flowpilot/memory_broker.py); the poll is only a safety net, so an idle server sleeps.
    else {"polling_interval": 1.0}
)
CELERY_BROKER_TRANSPORT = None if SERVICES_MODE else "flowpilot.memory_broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message reserved per process: with acks_late a prefetched message would wait behind a busy
# process while another sits idle (measured: paced p95 step latency 177 ms with 4, 28 ms with 1).
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("FLOWPILOT_WORKER_PREFETCH", 1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup would close the database connection around every task (a new PostgreSQL
# connection per step, measured as the largest cost per step). Keep connections; flowpilot/celery.py
# applies Django's own rules (CONN_MAX_AGE, health checks) before each task instead.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = FLOWPILOT_BROKER_TIMEOUT_SECONDS
CELERY_TASK_DEFAULT_QUEUE = "flowpilot.steps"
CELERY_TASK_ROUTES = {
    "workflows.tasks.sweep": {"queue": "flowpilot.control"},
    "workflows.tasks.start_scheduled": {"queue": "flowpilot.control"},
    "monitoring.tasks.*": {"queue": "flowpilot.control"},
    "triggers.tasks.prune_seen_signatures": {"queue": "flowpilot.control"},
    "workflows.tasks.advance_execution": {"queue": "flowpilot.steps"},
    "workflows.tasks.run_step": {"queue": "flowpilot.steps"},
}
CELERY_BEAT_SCHEDULER = "flowpilot.beat_scheduler:DatabaseScheduler"
# How often the beat asks the database whether its schedule changed in another process (a change made
# in the beat's own process is seen at the next tick; flowpilot/beat_scheduler.py). Embedded, the API
# runs in the beat's process; in services mode 0: at every tick.
FLOWPILOT_BEAT_SCHEDULE_CHECK_SECONDS = env_float("FLOWPILOT_BEAT_SCHEDULE_CHECK_SECONDS",
                                                  0.0 if SERVICES_MODE else 5.0)
FLOWPILOT_SWEEP_INTERVAL = env_float("FLOWPILOT_SWEEP_INTERVAL", 1.0)
# Embedded: how often the sweeper runs while no run is in flight (it finds nothing to do then); the
# first step published brings it back to FLOWPILOT_SWEEP_INTERVAL at once (flowpilot/idle.py).
FLOWPILOT_SWEEP_IDLE_INTERVAL = env_float("FLOWPILOT_SWEEP_IDLE_INTERVAL", 30.0)
FLOWPILOT_BEAT_TICK_SECONDS = env_float("FLOWPILOT_BEAT_TICK_SECONDS", 5.0)
# How often celery-beat evaluates the alert rules (monitoring/alert_services.py).
FLOWPILOT_ALERT_INTERVAL = env_float("FLOWPILOT_ALERT_INTERVAL", 30.0)
CELERY_BEAT_SCHEDULE = {
    "flowpilot-sweep": {
        "task": "workflows.tasks.sweep",
        "schedule": timedelta(seconds=FLOWPILOT_SWEEP_INTERVAL),
        "options": {"expires": max(FLOWPILOT_SWEEP_INTERVAL * 5, 5)},
    },
    # /health's "beat": the last tick that reached a worker (monitoring/presence.py).
    "flowpilot-beat-tick": {
        "task": "monitoring.tasks.beat_tick",
        "schedule": timedelta(seconds=FLOWPILOT_BEAT_TICK_SECONDS),
        "options": {"expires": max(FLOWPILOT_BEAT_TICK_SECONDS * 2, 5)},
    },
    # Webhook signatures too old to pass again (triggers/replay.py).
    "flowpilot-prune-seen-signatures": {
        "task": "triggers.tasks.prune_seen_signatures",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 60},
    },
    "flowpilot-evaluate-alerts": {
        "task": "monitoring.tasks.evaluate_alerts",
        "schedule": timedelta(seconds=FLOWPILOT_ALERT_INTERVAL),
        "options": {"expires": max(FLOWPILOT_ALERT_INTERVAL, 5)},
    },
}

# --- Cache (shared state between processes: e.g. the HTTP circuit breaker) ------------------------
# A Redis that hangs must not hang requests: limits fail open after this long (flowpilot/fail_open.py).
FLOWPILOT_CACHE_TIMEOUT_SECONDS = env_float("FLOWPILOT_CACHE_TIMEOUT_SECONDS", 2.0)
CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                 "KEY_PREFIX": env_str("FLOWPILOT_CACHE_PREFIX", "flowpilot"),
                 "OPTIONS": {"socket_connect_timeout": FLOWPILOT_CACHE_TIMEOUT_SECONDS,
                             "socket_timeout": FLOWPILOT_CACHE_TIMEOUT_SECONDS}}}
    if SERVICES_MODE
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "flowpilot"}}
)

# --- Email (the send_email step) --------------------------------------------------------------
# SMTP in services mode; embedded, each message is written to a file under var/mail/.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if SERVICES_MODE
                        else "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "flowpilot@localhost")

# --- Channels ---------------------------------------------------------------------------------
# redis-py 8 reads with a 5 s socket timeout by default, exactly channels-redis's 5 s BZPOPMIN: every
# idle WebSocket consumer died with "Timeout reading" (django/channels_redis#422). Reads may take longer.
CHANNEL_LAYERS = (
    {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                 "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]}}}
    if SERVICES_MODE
    else {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
)
# Every commit's events to the live monitor's WebSocket groups (workflows/live.py); off: no live updates.
FLOWPILOT_LIVE_EVENTS = env_bool("FLOWPILOT_LIVE_EVENTS", default=True)

# --- FlowPilot engine -------------------------------------------------------------------------
# How long a running step's claim lasts without a heartbeat before the sweeper declares its worker dead.
FLOWPILOT_LEASE_SECONDS = env_float("FLOWPILOT_LEASE_SECONDS", 30.0)
FLOWPILOT_HEARTBEAT_SECONDS = env_float("FLOWPILOT_HEARTBEAT_SECONDS", FLOWPILOT_LEASE_SECONDS / 3)
# A queued step whose message has not been picked up for this long is sent again (lost message).
FLOWPILOT_REDISPATCH_AFTER_SECONDS = env_float("FLOWPILOT_REDISPATCH_AFTER_SECONDS", 120.0)
# A worker that ran a step runs one of the steps it queued next itself, without a message: at most
# this many in a row, and none once its message has been running this long (0: a message per step).
FLOWPILOT_FOLLOW_STEPS = env_int("FLOWPILOT_FOLLOW_STEPS", 100)
FLOWPILOT_FOLLOW_SECONDS = env_float("FLOWPILOT_FOLLOW_SECONDS", 1.0)
# ... and, when the steps' queue already holds this many messages (every worker busy), the other steps
# it queued too, unsent, within the same bounds (0: always send them; docs/adr/0041).
FLOWPILOT_FOLLOW_BACKLOG = env_int("FLOWPILOT_FOLLOW_BACKLOG", 8)
FLOWPILOT_DEFAULT_TIMEOUT_SECONDS = env_int("FLOWPILOT_DEFAULT_TIMEOUT_SECONDS", 300)
# Bounds on what a workflow can ask for (workflows/bounds.py): saving a larger value is a 400 naming
# the field and the bound; the engine clamps a stored one (a delay past the maximum is the maximum).
FLOWPILOT_MAX_RETRY_DELAY_SECONDS = env_float("FLOWPILOT_MAX_RETRY_DELAY_SECONDS", 7 * 86400.0)
FLOWPILOT_MAX_BACKOFF_FACTOR = env_float("FLOWPILOT_MAX_BACKOFF_FACTOR", 10.0)
FLOWPILOT_MAX_STEP_TIMEOUT_SECONDS = env_int("FLOWPILOT_MAX_STEP_TIMEOUT_SECONDS", 7 * 86400)
FLOWPILOT_MAX_WAIT_SECONDS = env_int("FLOWPILOT_MAX_WAIT_SECONDS", 366 * 86400)
FLOWPILOT_MAX_CONCURRENCY = env_int("FLOWPILOT_MAX_CONCURRENCY", 10_000)
# Flow control's limits (workflows/flow_limits.py): a rate limit's count and period, a debounce window.
FLOWPILOT_MAX_RATE_LIMIT = env_int("FLOWPILOT_MAX_RATE_LIMIT", 100_000)
FLOWPILOT_MAX_RATE_PERIOD_SECONDS = env_int("FLOWPILOT_MAX_RATE_PERIOD_SECONDS", 86_400)
FLOWPILOT_MAX_DEBOUNCE_SECONDS = env_int("FLOWPILOT_MAX_DEBOUNCE_SECONDS", 86_400)
# A step's rate limit (engine/step_limits.py): an attempt whose slot is at most this far ahead is queued now and
# its worker waits for the slot's instant (holding the worker that long); a later one waits in the database and
# the sweeper queues it this long before its slot. Keep it above FLOWPILOT_SWEEP_INTERVAL, well under the lease.
FLOWPILOT_RATE_SLOT_HOLD_SECONDS = min(max(env_float("FLOWPILOT_RATE_SLOT_HOLD_SECONDS", 2.0), 0.0), 60.0)
# Priority's aging (docs/adr/0038): a run pending this long goes before every younger one, whatever their
# priority (1 s .. 1 day): no low-priority run waits for higher ones longer than this.
FLOWPILOT_PRIORITY_AGING_SECONDS = env_float("FLOWPILOT_PRIORITY_AGING_SECONDS", 300.0)
FLOWPILOT_MAX_OFFSET_MINUTES = env_int("FLOWPILOT_MAX_OFFSET_MINUTES", 365 * 1440)
FLOWPILOT_MAX_WORKFLOW_STEPS = env_int("FLOWPILOT_MAX_WORKFLOW_STEPS", 10_000)
# The most runs one POST /api/v1/executions/bulk/ starts (the request body's limit bounds them too).
FLOWPILOT_MAX_BULK_START = env_int("FLOWPILOT_MAX_BULK_START", 1000)
# The most runs one POST /api/v1/executions/rerun/ re-opens: a larger selection is refused (400), not cut.
FLOWPILOT_MAX_BULK_RERUN = env_int("FLOWPILOT_MAX_BULK_RERUN", 500)
# The most runs one bulk pause or unpause selects (a workflow's pause takes all of its runs, a batch at a time).
FLOWPILOT_MAX_BULK_PAUSE = env_int("FLOWPILOT_MAX_BULK_PAUSE", 1000)
# "Try a step" (POST /api/v1/step-types/<name>/try/) runs the handler in the web process: this long
# unless the request names its own limit, and never longer than the maximum.
FLOWPILOT_TRY_DEFAULT_SECONDS = env_float("FLOWPILOT_TRY_DEFAULT_SECONDS", 10.0)
FLOWPILOT_TRY_MAX_SECONDS = env_float("FLOWPILOT_TRY_MAX_SECONDS", 30.0)
FLOWPILOT_HTTP_ALLOWED_NETWORKS = env_networks("FLOWPILOT_HTTP_ALLOWED_NETWORKS")
FLOWPILOT_HTTP_MAX_RESPONSE_BYTES = env_int("FLOWPILOT_HTTP_MAX_RESPONSE_BYTES", 5 * 1024 * 1024)
# Circuit breaker per target host (workflows/circuit.py): this many consecutive failures open it for
# the cool-down, during which calls fail fast without a request. 0 turns it off.
FLOWPILOT_CIRCUIT_FAILURES = env_int("FLOWPILOT_CIRCUIT_FAILURES", 5)
FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS = env_float("FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS", 30.0)
FLOWPILOT_WEBHOOK_MAX_BYTES = env_int("FLOWPILOT_WEBHOOK_MAX_BYTES", 256 * 1024)
FLOWPILOT_WEBHOOK_RATE = env_int("FLOWPILOT_WEBHOOK_RATE", 600)  # deliveries per minute per webhook
FLOWPILOT_MAX_PAYLOAD_BYTES = env_int("FLOWPILOT_MAX_PAYLOAD_BYTES", 256 * 1024)
# A workflow's pinned data (PUT /api/v1/workflows/<id>/pinned-data/): its size as JSON, at most.
FLOWPILOT_MAX_PINNED_DATA_BYTES = env_int("FLOWPILOT_MAX_PINNED_DATA_BYTES", 512 * 1024)
# The `file` step (workflows/files.py): its root, a local directory, unless FLOWPILOT_FILES_STORAGE names
# a storage of STORAGES (e.g. STORAGES["flowpilot_files"] = {"BACKEND": "storages.backends.s3.S3Storage",
# ...} with django-storages installed); the largest file one step reads or writes, the most entries a list answers.
FLOWPILOT_FILES_ROOT = Path(env_str("FLOWPILOT_FILES_ROOT", str(VAR_DIR / "files")))
FLOWPILOT_FILES_STORAGE = env_str("FLOWPILOT_FILES_STORAGE")
FLOWPILOT_FILES_MAX_BYTES = env_int("FLOWPILOT_FILES_MAX_BYTES", 1024 * 1024)
FLOWPILOT_FILES_MAX_LIST_ENTRIES = env_int("FLOWPILOT_FILES_MAX_LIST_ENTRIES", 1000)
if FLOWPILOT_FILES_MAX_BYTES < 1 or FLOWPILOT_FILES_MAX_LIST_ENTRIES < 1:
    raise ImproperlyConfigured("FLOWPILOT_FILES_MAX_BYTES and FLOWPILOT_FILES_MAX_LIST_ENTRIES must be at least 1")

# The sql step (workflows/steps/sql.py): the highest max_rows and timeout_seconds a step may ask for, the
# size its rows may take in the output (beyond it they are left out: truncated), and the directories
# its SQLite databases must be in (the files are never created; FlowPilot's own database is not in var/sqlite).
FLOWPILOT_SQL_MAX_ROWS = env_int("FLOWPILOT_SQL_MAX_ROWS", 10_000)
FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS = env_float("FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS", 300.0)
FLOWPILOT_SQL_MAX_OUTPUT_BYTES = env_int("FLOWPILOT_SQL_MAX_OUTPUT_BYTES", 1024 * 1024)
FLOWPILOT_SQL_SQLITE_DIRS = env_list("FLOWPILOT_SQL_SQLITE_DIRS", str(VAR_DIR / "sqlite"))
# Key(s) encrypting stored credentials; comma-separated to rotate (first encrypts). Default: from SECRET_KEY.
FLOWPILOT_SECRETS_KEY = env_str("FLOWPILOT_SECRETS_KEY")
FLOWPILOT_EXECUTOR = env_str("FLOWPILOT_EXECUTOR", "workflows.engine.executors.CeleryExecutor")
# Modules imported at start-up so that their @task_function / step-type registrations happen.
FLOWPILOT_STEP_MODULES = env_list("FLOWPILOT_STEP_MODULES")
# Code workflows (workflows.code): each installed app's `workflows` module is imported at start-up,
# and these modules too; their workflows are owned by this (inactive) user.
FLOWPILOT_CODE_WORKFLOW_MODULES = env_list("FLOWPILOT_CODE_WORKFLOW_MODULES")
FLOWPILOT_CODE_WORKFLOW_OWNER = env_str("FLOWPILOT_CODE_WORKFLOW_OWNER", "flowpilot-code")
# A code run fails rather than visit one step more than this many times (a loop without a way out).
FLOWPILOT_CODE_MAX_VISITS = env_int("FLOWPILOT_CODE_MAX_VISITS", 10_000)
# A sub_workflow or for_each step fails (not retried) rather than start a child run deeper than this
# (the run a user started is depth 0); a workflow that would run inside itself fails at any depth.
FLOWPILOT_MAX_WORKFLOW_DEPTH = env_int("FLOWPILOT_MAX_WORKFLOW_DEPTH", 10)
# Templates and conditions (workflows/template_limits.py): the largest value one may make or render
# (characters; a list or object counts as its text), how long one may run (never past its step's
# timeout), and how deep its expressions may nest.
FLOWPILOT_TEMPLATE_MAX_CHARS = env_int("FLOWPILOT_TEMPLATE_MAX_CHARS", 1_000_000)
FLOWPILOT_TEMPLATE_MAX_SECONDS = env_float("FLOWPILOT_TEMPLATE_MAX_SECONDS", 1.0)
FLOWPILOT_TEMPLATE_MAX_DEPTH = env_int("FLOWPILOT_TEMPLATE_MAX_DEPTH", 50)
# How deep JSON may nest: request bodies (400 above it), step outputs and rendered values.
FLOWPILOT_JSON_MAX_DEPTH = env_int("FLOWPILOT_JSON_MAX_DEPTH", 64)
# Embedded mode: worker threads inside the web process.
FLOWPILOT_EMBEDDED_WORKER_CONCURRENCY = env_int("FLOWPILOT_EMBEDDED_WORKER_CONCURRENCY", 4)

# --- Monitoring -------------------------------------------------------------------------------
# The address users open FlowPilot at: links in alert notifications point to the app's pages under it.
# Empty: the host of the request at hand, else the address `manage.py serve` listens on
# (flowpilot/public_url.py). FLOWPILOT_BASE_URL is its older name.
FLOWPILOT_PUBLIC_URL = env_public_url("FLOWPILOT_PUBLIC_URL", "FLOWPILOT_BASE_URL")
# Approve/reject links in messages (workflows/approval_links.py) are refused after this many seconds
# (clamped to 1 minute .. 366 days); each is also single-use, and dies with the wait it answers.
FLOWPILOT_APPROVAL_LINK_MAX_AGE_SECONDS = env_int("FLOWPILOT_APPROVAL_LINK_MAX_AGE_SECONDS", 7 * 86400)
# Each worker refreshes its heartbeat this often; /health counts a worker (and the beat) as up when
# seen within the HEALTH_* windows. Services mode needs both for a 200; embedded, its own threads.
FLOWPILOT_PRESENCE_SECONDS = env_float("FLOWPILOT_PRESENCE_SECONDS", 5.0)
FLOWPILOT_HEALTH_WORKER_SECONDS = env_float("FLOWPILOT_HEALTH_WORKER_SECONDS", 30.0)
FLOWPILOT_HEALTH_BEAT_SECONDS = env_float("FLOWPILOT_HEALTH_BEAT_SECONDS", 30.0)

# FLOWPILOT_LOG_FORMAT=json: one JSON object per line, with execution_id / step_key / task_id
# inside the engine (flowpilot/logs.py); plain: the same fields after the message.
FLOWPILOT_LOG_FORMAT = env_str("FLOWPILOT_LOG_FORMAT", "plain").strip().lower()
if FLOWPILOT_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"FLOWPILOT_LOG_FORMAT must be plain or json, got {FLOWPILOT_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "flowpilot.logs.ContextFilter"},
                # the credentials a running step holds never reach a log line (workflows/secrets.py)
                "redact": {"()": "workflows.secrets.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s%(log_context)s"},
                   "json": {"()": "flowpilot.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": FLOWPILOT_LOG_FORMAT,
                             "filters": ["context", "redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per message is noise at steps/s rates; the ExecutionLog is the audit trail.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
        "kombu.connection": {"level": "ERROR"},
        # httpx logs every request's full URL at INFO; a Slack webhook's URL is itself a secret.
        "httpx": {"level": "WARNING"},
    },
}

# --- Prometheus: /metrics (monitoring/prometheus.py) ----------------------------------------------
# The bearer token /metrics asks for ("Authorization: Bearer <token>"). Unset: open in the embedded
# mode, refused (403) in services mode. Several processes (web, prefork workers) add up their counters
# when PROMETHEUS_MULTIPROC_DIR (an environment variable of prometheus-client) names one directory for all.
FLOWPILOT_METRICS_TOKEN = env_str("FLOWPILOT_METRICS_TOKEN")
# How often a process counts the transitions its commits noted (two queries per batch, none per commit).
FLOWPILOT_METRICS_FLUSH_SECONDS = min(max(env_float("FLOWPILOT_METRICS_FLUSH_SECONDS", 1.0), 0.05), 60.0)
