"""HAT Clinic settings: one file, everything from environment variables.

Development defaults are safe (SQLite, no broker, DEBUG only when asked for);
production must set SECRET_KEY and ALLOWED_HOSTS or start-up stops.
The README lists every variable.
"""

import hashlib
import ipaddress
import re
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_database, env_int, env_list, env_redis_url, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # one-time recovery codes
    "simple_history",
    "oauth2_provider",
    # Ours. Arrows point one way: clinics <- partners <- patients <- cd_register <- dosing;
    # patients <- referrals <- onward.
    "clinics",
    "health",
    "partners",
    "patients",
    "cd_register",
    "dosing",
    "referrals",
    "onward",  # onward referrals to partners and the partner API
    "alerts",  # drug early-warning alerts: the banner, partner deliveries and feed
    "deliveries",
    "reports",
    "ops",  # backups, the restore drill and the serving database role (management commands only)
    # After ours: clinics/templates/two_factor/ overrides its pages.
    "two_factor",
]

MIDDLEWARE = [
    # Outermost: a request caught by a PostgreSQL restart answers a clear 503, reads are tried again.
    "health.middleware.DatabaseRestartMiddleware",
    "clinics.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files keep their cache lifetimes), before everything that answers.
    "clinics.caching.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "clinics.middleware.SessionIdleMiddleware",
    "clinics.middleware.CurrentClinicMiddleware",
    "clinics.middleware.TwoFactorRequiredMiddleware",
    "clinics.parsing.BadParameterMiddleware",
    # django-axes wants to be last so it sees every failed login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hat_clinic.urls"
WSGI_APPLICATION = "hat_clinic.wsgi.application"

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
                "clinics.context_processors.clinic_context",
                "alerts.context_processors.drug_alert_banner",
            ],
            "builtins": ["clinics.templatetags.plain_words"],  # {{ text|plain }}: no rule codes on pages
        },
    },
]

# --- Data stores -----------------------------------------------------------
# Without DATABASE_URL the app runs on an embedded SQLite file (the quick-start demo).
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")
# Redis is optional at request time (issue 13): while it is unreachable, each process answers cache
# calls from its own memory (health/cache.py), so throttles count per process instead of failing.
# Short socket timeouts: a Redis host that does not answer costs a request at most this once.
REDIS_TIMEOUT_SECONDS = env_int("REDIS_TIMEOUT_MS", 500, minimum=50, maximum=10_000) / 1000
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "health.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication and sessions ---------------------------------------------
AUTH_USER_MODEL = "clinics.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "clinics.backends.StaffBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "clinics.hashers.WitnessPinHasher",  # witness PINs only; see the module for why
    "clinics.hashers.LegacyWitnessPinHasher",  # PINs set before the keyed hash, until next used
]
# The key of the witness PINs' hash (clinics/hashers.py). Without it, one derived from SECRET_KEY: then
# a new SECRET_KEY means every witness sets their PIN again, so production sets its own.
WITNESS_PIN_KEY = env_str("WITNESS_PIN_KEY") or hashlib.sha256(f"witness-pin:{SECRET_KEY}".encode()).hexdigest()
WITNESS_PIN_MAX_FAILURES = env_int("WITNESS_PIN_MAX_FAILURES", 5, minimum=1)
WITNESS_PIN_LOCKOUT_MINUTES = env_int("WITNESS_PIN_LOCKOUT_MINUTES", 15, minimum=1)
LOGIN_URL = "login"
OTP_LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# A shared clinic tablet must not stay signed in: sessions end after this much idle time.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=5, maximum=720) * 60
# The idle clock is renewed at most once a minute (clinics.middleware.SessionIdleMiddleware),
# not on every request: the dosing board polls every few seconds.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Sessions live in PostgreSQL only: signing in must never depend on Redis (issue 13). A session
# read is one primary-key lookup, which the cache saved little of; cached_db also wrote every
# session to Redis and failed the request when Redis was down. Django's database engine, with its
# per-request read written as one plain statement (clinics/sessions.py: the board poll, issue 13).
SESSION_ENGINE = "clinics.sessions"

# Login throttling (django-axes): lock the pair (username, client address), never the username
# alone, so nobody can lock a colleague out from elsewhere. Behind a reverse proxy every request
# comes from the proxy: TRUSTED_PROXY_COUNT says how many proxies of ours append to
# X-Forwarded-For, and the client is the address the outermost of them saw (clinics/client_ip.py).
# 0 (the default) ignores X-Forwarded-For, which a client can forge.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "clinics.client_ip.client_ip_address"
AXES_LOCKOUT_CALLABLE = "clinics.lockout.lockout_response"  # says until when the pause lasts
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Staff two-factor authentication (django-two-factor-auth on django-otp: an authenticator app,
# plus one-time recovery codes). On by default when DEBUG is off: after the password, staff
# enrol a device once (only while they have none), then give a code at each sign-in. A lost
# phone is reset by their clinic manager or an administrator (audited). /admin/ always needs it.
STAFF_2FA_REQUIRED = env_bool("STAFF_2FA_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "HAT Clinic")
TWO_FACTOR_REMEMBER_COOKIE_AGE = None  # never "remember this browser": tablets are shared
TWO_FACTOR_LOGIN_TIMEOUT = 300  # seconds between the password and the code

# --- Security ----------------------------------------------------------------
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself (see docker-compose.yml).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# No inline script or style anywhere: every page's JavaScript and CSS are static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Internationalisation and time -------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"  # each clinic has its own; this is the default for new ones
USE_I18N = True
USE_TZ = True
# dd/mm/yyyy and 24-hour times on every page, whatever Django's en_GB defaults say (issue 14.9).
FORMAT_MODULE_PATH = ["hat_clinic.formats"]

# --- Static files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email -----------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or None  # for the file-based backend (tests, demos)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "HAT Clinic <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery --------------------------------------------------------------------
# Without REDIS_URL there is no broker: tasks run in-process (eager) and scheduled jobs
# run through `manage.py run_scheduled_jobs` (the README explains).
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"  # a host named: kombu warns without one
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30 if CELERY_TASK_TIME_LIMIT > 60 else CELERY_TASK_TIME_LIMIT
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "hat_clinic")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "health.tasks.record_heartbeat", "schedule": 60.0},
    # The outbox: hand due reminders and alerts to workers, retry failures, recover stale claims.
    "deliveries-dispatch-due-messages": {"task": "deliveries.tasks.dispatch_due_messages", "schedule": 60.0},
    # dosing: slots for today and tomorrow ahead of time; S11 closes unused slots within a minute.
    "dosing-create-slots": {"task": "dosing.tasks.create_slots_job", "schedule": 15 * 60.0},
    "dosing-close-missed-slots": {"task": "dosing.tasks.close_missed_slots_job", "schedule": 60.0},
    # S14: licence expiry alerts (30 and 7 days before); idempotent, so hourly is enough and safe to repeat.
    "dosing-licence-expiry-alerts": {"task": "dosing.tasks.licence_expiry_alerts_job", "schedule": 60 * 60.0},
    # reports: summary tables of the days touched since the last run (and the last 35 days once a day).
    "reports-refresh-summaries": {"task": "reports.tasks.refresh_summaries_job", "schedule": 5 * 60.0},
    # housekeeping: stored API answers of old Idempotency-Keys, expired partner access tokens.
    "clinics-purge-idempotency-keys": {"task": "clinics.tasks.purge_expired_idempotency_keys_job", "schedule": 3600.0},
    "partners-clear-expired-tokens": {"task": "partners.tasks.clear_expired_tokens_job", "schedule": 3600.0},
    # issue 16: diversion weekly summaries; hourly and idempotent (one per contract and week), so the first
    # run after each clinic's local Monday midnight sends last week's, whatever the clock change.
    "onward-diversion-weekly-summaries": {"task": "onward.tasks.diversion_weekly_summaries_job", "schedule": 3600.0},
}

# --- Partner API credentials (OAuth2 client credentials, django-oauth-toolkit) ------
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("PARTNER_TOKEN_SECONDS", 900, minimum=60, maximum=3600),
    "SCOPES": {
        "referrals:read": "Read the onward referrals addressed to your organisation",
        "referrals:write": "Update the status of, and add notes to, those referrals",
        "referrals:submit": "Submit incoming referrals to the clinic (police and probation partners)",
        "alerts:read": "Read the clinic's drug early-warning alerts",
        "alerts:write": "Submit drug early-warning alerts for the clinic to review (public-health and police partners)",
        "diversion:read": "Read attendance under diversion contracts (police and probation partners)",
    },
    "DEFAULT_SCOPES": ["referrals:read"],
    # Partners (partners/oauth.py): a client gets only the scopes granted to it (all of them when
    # it asks for none), and only while the client and its organisation are active.
    "SCOPES_BACKEND_CLASS": "partners.oauth.PartnerScopes",
    "OAUTH2_VALIDATOR_CLASS": "partners.oauth.PartnerOAuth2Validator",
    "CLIENT_SECRET_HASHER": "default",  # client secrets are stored hashed (hash_client_secret=True)
    # Store only a checksum of each access token, never the token itself (RFC 9700 section 4.14).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # Flows we do not expose (only /o/token/ and /o/revoke_token/ are routed), set safe all the same.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# Webhooks never reach the clinic's own network (loopback, link-local, private ranges), checked
# when saved and again after DNS resolution at delivery. An operator whose partner sits on a
# private network names it here, e.g. "10.20.0.0/16" (comma-separated networks).
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", [])
for _network in WEBHOOK_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"WEBHOOK_ALLOWED_NETWORKS: {_network!r} is not a network such as 10.20.0.0/16."
        ) from None
# Named so that migrations of models pointing at the (swappable) Application can be made.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# --- REST API --------------------------------------------------------------------
# Requests per partner API client, e.g. "120/minute" (partners.api_auth.PartnerClientRateThrottle).
API_THROTTLE_PARTNER = env_str("API_THROTTLE_PARTNER", "120/minute")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_THROTTLE_PARTNER):
    raise ImproperlyConfigured(f"API_THROTTLE_PARTNER={API_THROTTLE_PARTNER!r} is not a rate such as 120/minute.")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON nested too deep is a 400 (clinics/parsers.py); forms and multipart as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "clinics.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "clinics.api_errors.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_THROTTLE_USER", "600/minute"), "partner": API_THROTTLE_PARTNER},
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HAT Clinic API",
    "DESCRIPTION": "Staff and partner API of the HAT Clinic service. Errors are problem details (RFC 9457).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Every operation's error answers as problem+json, and integer parameters with their bounds.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "clinics.api_schema.add_problem_responses",
    ],
    # Fields called status/kind/outcome exist in several apps: give every choice set its own name.
    "ENUM_NAME_OVERRIDES": {
        "PatientStatusEnum": "patients.models.PatientStatus",
        "DischargeReasonEnum": "patients.models.DischargeReason",
        "ConsentKindEnum": "patients.models.ConsentKind",
        "ConsentDecisionEnum": "patients.models.ConsentDecision",
        "AccessChannelEnum": "patients.models.AccessLogEntry.Channel",
        "AccessPartEnum": "patients.models.AccessPart",
        "PartnerKindEnum": "partners.models.PartnerKind",
        "ReferralStatusEnum": "referrals.models.ReferralStatus",
        "ReferralSourceEnum": "referrals.models.ReferralSource",
        "ReferralRecommendationEnum": "referrals.models.Recommendation",
        "TreatmentKindEnum": "referrals.models.TreatmentKind",
        "OnwardReferralStatusEnum": "onward.models.OnwardStatus",
        "OnwardReferralOutcomeEnum": "onward.models.OnwardOutcome",
        "PreviousEpisodeEndEnum": "referrals.models.EpisodeEnd",
        "EligibilityOutcomeEnum": "referrals.rules.Outcome",
        "DrugEnum": "dosing.models.Drug",
        "SlotStatusEnum": "dosing.models.SlotStatus",
        "CheckOutcomeEnum": "dosing.models.CheckOutcome",
        "AdverseEventKindEnum": "dosing.models.AdverseEventKind",
        "AlertKindEnum": "dosing.models.AlertKind",
        "AbsenceReasonEnum": "dosing.models.AbsenceReason",
        "SessionEnum": "dosing.models.Session",
        "SignOutStateEnum": "dosing.models.SignOutState",
        "DoseHistoryStateEnum": "dosing.history.STATES",
        "RegisterDrugEnum": "cd_register.models.CdDrug",
        "RegisterEntryKindEnum": "cd_register.models.EntryKind",
        "DiscrepancyStatusEnum": "cd_register.models.DiscrepancyStatus",
        "MessageStatusEnum": "deliveries.models.MessageStatus",
        "DeliveryChannelEnum": "deliveries.models.Channel",
    },
}

# --- Logging: no identifiers in logs, only opaque ids ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
