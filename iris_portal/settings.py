"""Settings, all from the environment (SPEC section 8). See README "Configuration"."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; a fixed dev key only with DEBUG; otherwise a random key
    generated once and kept in var/secret_key (0600), so a single-host install is never left
    with a guessable key. Several hosts behind a load balancer must share SECRET_KEY."""
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if DEBUG:
        return "dev-only-insecure-secret-key-do-not-use-in-production"
    path = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / "var" / "secret_key"))
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except OSError as exc:  # pragma: no cover - unreadable file is an operator error
        raise ImproperlyConfigured(f"SECRET_KEY is not set and {path} cannot be read: {exc}")


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" + (",testserver" if DEBUG else ""))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tables2",
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "iris_portal",
    "organizations",
    "patients",
    "orders",
    "grading",
    "delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "iris_portal.middleware.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "iris_portal.middleware.TwoFactorMiddleware",
    "iris_portal.middleware.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "iris_portal.urls"
WSGI_APPLICATION = "iris_portal.wsgi.application"

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
                "iris_portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded mode serves several threads (web, MLLP listener): WAL lets readers run beside a
    # writer, IMMEDIATE transactions queue writers on the busy timeout instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 30, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file (not shared-cache memory, whose table locks ignore the busy timeout), one
    # per process so parallel runs never share it.
    import tempfile

    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"iris_test_{os.getpid()}.sqlite3")}
# PostgreSQL: iris_portal.prepared.prepared_rows runs the fixed-shape queries every page sends as
# server-side prepared statements. Off (DB_PREPARED_STATEMENTS=0) behind a transaction-mode
# PgBouncer older than 1.21, which cannot route prepared statements.
IRIS_PREPARED_STATEMENTS = os.environ.get("DB_PREPARED_STATEMENTS", "1") != "0"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "organizations.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

# Sessions: clinic workstations are shared; expire idle sessions.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
# The age counts from the last request (an idle timeout): SessionRefreshMiddleware pushes the
# expiry back at most every IRIS_SESSION_REFRESH_SECONDS instead of saving on every request.
SESSION_SAVE_EVERY_REQUEST = False
IRIS_SESSION_REFRESH_SECONDS = int(os.environ.get("IRIS_SESSION_REFRESH_SECONDS", "60"))
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # a view that embeds itself (inline PDF) uses xframe_options_sameorigin

# Security (issue 9). HTTPS settings come from the environment (behind a TLS proxy set
# SECURE_PROXY_SSL_HEADER_ENABLED=1); `manage.py check --deploy` is clean with them set.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
IRIS_CONTENT_SECURITY_POLICY = os.environ.get(
    "IRIS_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# Sign-in lockout (django-axes): 5 failures of one username from one address lock it for 15 min.
AUTHENTICATION_BACKENDS = [
    "iris_portal.auth_backends.LockoutBackend",
    "iris_portal.auth_backends.PortalModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_VERBOSE = False
# Two-factor (django-otp TOTP), required for organization admins and platform staff.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "IRIS Portal")
IRIS_OTP_STRICT = env_bool("IRIS_OTP_STRICT", False)
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(3 * 24 * 3600)))

# Redis: broker and cache when set; otherwise tasks run eagerly and the cache is local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
    CACHES = {"default": {"BACKEND": "iris_portal.cache.SharedClientRedisCache", "LOCATION": REDIS_URL}}
    # Sessions read from Redis (written to both): no session query per page. Only with a cache
    # every process shares; a per-process memory cache would keep a logged-out session alive
    # in the other processes.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# WeasyPrint keeps ~0.2 MB per report render: recycle worker processes (issue 7).
CELERY_WORKER_MAX_TASKS_PER_CHILD = int(os.environ.get("CELERY_WORKER_MAX_TASKS_PER_CHILD", "200"))
# Periodic tasks (celery beat). CSV/XLSX drop folders are scanned every minute (issue 5).
CELERY_BEAT_SCHEDULE = {
    "orders-import-dropfolder-scan": {"task": "orders.tasks.import_dropfolder_scan", "schedule": 60.0},
    "delivery-deliveries-due": {"task": "delivery.tasks_delivery.deliveries_due_task", "schedule": 60.0},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "iris-portal@localhost")

# Integration settings.
IRIS_HL7_PORT = int(os.environ.get("IRIS_HL7_PORT", "2575"))
# Listener processes sharing the port, and batches each processes at once (docs/integrations/hl7.md).
IRIS_HL7_PROCESSES = int(os.environ.get("IRIS_HL7_PROCESSES", "1"))
IRIS_HL7_BATCH_SLOTS = int(os.environ.get("IRIS_HL7_BATCH_SLOTS", "4"))
IRIS_HL7_BATCH_SLOW_MS = float(os.environ.get("IRIS_HL7_BATCH_SLOW_MS", "50"))
IRIS_HL7_BATCH_MAX = int(os.environ.get("IRIS_HL7_BATCH_MAX", "200"))
IRIS_MESSAGE_VERSION = "2.3.1"
# Where image-first references (Camera.Images[].AzureBlobStorage) are looked up in default storage.
IRIS_BLOB_PREFIX = os.environ.get("IRIS_BLOB_PREFIX", "blobs")
# Cloud Direct broker (Redis Streams): the portal's connection, and the address shown to customers
# (default: the same host, port and database). See docs/integrations/cloud-direct.md.
IRIS_CLOUDDIRECT_REDIS_URL = os.environ.get("IRIS_CLOUDDIRECT_REDIS_URL", REDIS_URL)
IRIS_CLOUDDIRECT_PUBLIC_URL = os.environ.get("IRIS_CLOUDDIRECT_PUBLIC_URL", "")
# Dotted paths called with each emitted event (after commit); channels add their publishers here.
# With a broker configured, events go to each organization's Cloud Direct events stream.
IRIS_EVENT_PUBLISHERS = env_list(
    "IRIS_EVENT_PUBLISHERS",
    "orders.intake.clouddirect.publisher.events_stream_publish" if IRIS_CLOUDDIRECT_REDIS_URL else "",
)
# Grading (issue 6): image upload limit, claim lifetime, absolute links in emails, results hook.
IRIS_IMAGE_MAX_BYTES = int(os.environ.get("IRIS_IMAGE_MAX_BYTES", str(30 * 1024 * 1024)))
IRIS_GRADING_CLAIM_MINUTES = int(os.environ.get("IRIS_GRADING_CLAIM_MINUTES", "30"))
IRIS_PORTAL_URL = os.environ.get("IRIS_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")
# Dotted path called with a grading id after each grading commits (results generation).
IRIS_RESULTS_GENERATE_HANDLER = os.environ.get(
    "IRIS_RESULTS_GENERATE_HANDLER", "delivery.results.services.results_generate_handler")
# Results (issue 7): ResendResult handler (called with an order id), hooks called with each stored
# result set id, extra renderers {kind: dotted module}, lifetime of signed report links.
IRIS_RESULT_RESEND_HANDLER = os.environ.get("IRIS_RESULT_RESEND_HANDLER", "delivery.results.services.result_resend_handler")
IRIS_RESULTS_GENERATED_HANDLERS = env_list("IRIS_RESULTS_GENERATED_HANDLERS",
                                          "delivery.services.deliveries_create_handler")
# Result delivery (issue 8): bounded retries with exponential backoff + jitter; a claim on a row
# being sent expires after IRIS_DELIVERY_CLAIM_SECONDS (then the sweeper takes it up again).
CELERY_IMPORTS = ["delivery.tasks_delivery"]
# Tasks taken by a worker that died come back after this many seconds (kombu's default: 1 hour).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
IRIS_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("IRIS_DELIVERY_MAX_ATTEMPTS", "8"))
IRIS_DELIVERY_RETRY_BASE_SECONDS = float(os.environ.get("IRIS_DELIVERY_RETRY_BASE_SECONDS", "30"))
IRIS_DELIVERY_RETRY_MAX_SECONDS = float(os.environ.get("IRIS_DELIVERY_RETRY_MAX_SECONDS", "3600"))
IRIS_DELIVERY_CLAIM_SECONDS = int(os.environ.get("IRIS_DELIVERY_CLAIM_SECONDS", "300"))
IRIS_RESULT_RENDERERS: dict[str, str] = {}
IRIS_REPORT_LINK_DAYS = int(os.environ.get("IRIS_REPORT_LINK_DAYS", "14"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
