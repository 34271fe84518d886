"""Settings of protocol test child processes: one SQLite file they all share.

The suite's own database is in memory and out of a child's reach, so the
test that starts the children names a file in PMU_TEST_CHILD_DB, and the
config.ini they change in PMU_TEST_CHILD_CONFIG_INI.
"""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PMU_TEST_CHILD_DB"],
        "OPTIONS": {"timeout": 30},
    }
}
PMU_CONFIG_INI = os.environ["PMU_TEST_CHILD_CONFIG_INI"]
