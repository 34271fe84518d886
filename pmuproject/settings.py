"""Django settings, read from the environment (and from `.env` when present).

Every variable is listed with its default in `.env.example` and in the
README's settings table.
"""

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from pmuproject.env import (
    env_bool,
    env_list,
    env_number,
    env_required,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# DJANGO_ENV_FILE names the dotenv file; an empty value disables it (the test
# settings do this so a developer's .env never leaks into the suite).
_env_file = os.environ.get("DJANGO_ENV_FILE")
if _env_file is None:
    load_dotenv(BASE_DIR / ".env", override=False)
elif _env_file:
    if not Path(_env_file).is_file():
        raise ImproperlyConfigured(
            f"DJANGO_ENV_FILE names {_env_file!r}: no such file."
        )
    load_dotenv(_env_file, override=False)

DEBUG = env_bool("DJANGO_DEBUG", False)

if DEBUG:
    # A development key that lives as long as the process: sessions do not
    # survive a restart, which is acceptable for a local demo.
    SECRET_KEY = env_str("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
else:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY", "when DJANGO_DEBUG is off")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "measurements",
    "alerts",
    "protocol",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pmuproject.urls"
# The dashboard calls /api/getpmus and friends with no trailing slash.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "pmuproject.wsgi.application"
ASGI_APPLICATION = "pmuproject.asgi.application"

VAR_DIR = BASE_DIR / "var"

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
            conn_max_age=60,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(
        "DATABASE_URL must be a database URL such as "
        f"postgres://user:password@host:5432/name or sqlite:///path; {exc}"
    ) from exc
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured(
        "DATABASE_URL must name a PostgreSQL (postgres://) or SQLite "
        "(sqlite:///) database."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Lets the admin and /docs work under daphne in development without a
# collectstatic step; production runs collectstatic and serves from STATIC_ROOT.
WHITENOISE_USE_FINDERS = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- HTTP API -------------------------------------------------------------

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", ["http://localhost:5173"])

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pmuproject.handlers.exception_handler",
    # `?format=` would otherwise pick a renderer; the API speaks JSON only.
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "PMU backend API",
    "DESCRIPTION": (
        "Synchrophasor measurements, power figures, alerts and the PMU "
        "stream transport setting."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Control actions (protocol changes, alert rules, acknowledgements) need an
# authenticated user with the matching permission unless debug is on or this
# demo switch is set.
PMU_ALLOW_ANONYMOUS_WRITES = env_bool("PMU_ALLOW_ANONYMOUS_WRITES", False)

# --- Measurement store ----------------------------------------------------

INFLUX_URL = env_str("INFLUX_URL", "")
INFLUX_TOKEN = env_str("INFLUX_TOKEN", "")
INFLUX_ORG = env_str("INFLUX_ORG", "")
INFLUX_BUCKET = env_str("INFLUX_BUCKET", "")
INFLUX_TIMEOUT = env_number("INFLUX_TIMEOUT", 5.0, kind=float, minimum=0.1)
if INFLUX_URL:
    for _name in ("INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"):
        env_required(_name, "when INFLUX_URL is set")

# Relative paths are taken from the project root, whatever the working folder.
PMU_STORE_PATH = str(BASE_DIR / (env_str("PMU_STORE_PATH") or "var/pmu-store.sqlite3"))
PMU_MAX_ROWS = env_number("PMU_MAX_ROWS", 200_000, minimum=1)
# The simulator runs by default only in the single-process embedded demo:
# never into a production InfluxDB, and not in each of several daphne
# processes sharing a Redis layer, which would write the same PMUs twice.
PMU_SIMULATE = env_bool("PMU_SIMULATE", not INFLUX_URL and not env_str("REDIS_URL", ""))
PMU_SIMULATE_RATE = env_number("PMU_SIMULATE_RATE", 30, minimum=1, maximum=240)

# --- Alerts and channels --------------------------------------------------


def redis_channel_layer(url):
    """The channels-redis layer for `url`.

    A consumer waits for messages with a blocking pop of up to 5 s; redis-py 8
    gives every read a 5 s timeout by default, which tears idle WebSockets
    down every few seconds. Reads get a timeout longer than the pop instead,
    so a dead connection is still noticed.
    """
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {"address": url, "socket_timeout": 30, "socket_connect_timeout": 5}
            ],
        },
    }


REDIS_URL = env_str("REDIS_URL", "")
_redis = urlsplit(REDIS_URL)
# redis-py reads a database number it cannot parse as 0: refuse it instead.
if REDIS_URL and (
    _redis.scheme not in ("redis", "rediss", "unix")
    or (_redis.scheme != "unix" and not re.fullmatch(r"(/\d{1,5})?/?", _redis.path))
):
    raise ImproperlyConfigured(
        "REDIS_URL must be redis://host:port/N (or rediss://, unix://) with a "
        f"whole database number N; got {REDIS_URL!r}."
    )
if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

ALERT_WORKER_INTERVAL = env_number(
    "ALERT_WORKER_INTERVAL", 1.0, kind=float, minimum=0.05
)
ALERT_STALE_AFTER = env_number("ALERT_STALE_AFTER", 10.0, kind=float, minimum=0.1)

# --- Protocol setting -----------------------------------------------------

PMU_CONFIG_INI = str(BASE_DIR / (env_str("PMU_CONFIG_INI") or "config.ini"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
_log_level = (env_str("DJANGO_LOG_LEVEL") or "INFO").upper()
if _log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(
        "DJANGO_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; "
        f"got {_log_level!r}."
    )
LOGGING["root"]["level"] = _log_level

if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name at least one host.")
