"""Settings for benchmark servers: the real settings plus a do-nothing route."""

from pmuproject.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
