"""Settings for the test suite: the real settings, on a throwaway store."""

import os
import tempfile

# Child processes started by a test inherit the scratch folder, so they see
# the same store and config.ini as the test that started them.
_scratch = os.environ.setdefault(
    "PMU_TEST_SCRATCH", tempfile.mkdtemp(prefix="pmu-tests-")
)

# A developer's .env and shell must not change what the tests see.
os.environ["DJANGO_ENV_FILE"] = ""
for _name in (
    "INFLUX_URL",
    "INFLUX_TOKEN",
    "INFLUX_ORG",
    "INFLUX_BUCKET",
    "REDIS_URL",
    "DATABASE_URL",
    "PMU_ALLOW_ANONYMOUS_WRITES",
    "DJANGO_ALLOWED_HOSTS",
    "PMU_MAX_ROWS",
):
    os.environ.pop(_name, None)
os.environ["DJANGO_SECRET_KEY"] = "tests-only-not-a-secret"
os.environ["DJANGO_DEBUG"] = "0"
os.environ["PMU_SIMULATE"] = "0"
os.environ["PMU_STORE_PATH"] = os.path.join(_scratch, "store.sqlite3")
os.environ["PMU_CONFIG_INI"] = os.path.join(_scratch, "config.ini")
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"

from pmuproject.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_ROOT = os.path.join(_scratch, "static")
os.makedirs(STATIC_ROOT, exist_ok=True)
