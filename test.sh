#!/usr/bin/env bash
# Runs the test suite (arguments go to pytest), setting up .venv first.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
exec python -m pytest "$@"
