#!/usr/bin/env bash
# Runs the service as a local demo: the embedded store, the PMU simulator
# and the in-process alert worker, on http://127.0.0.1:8000.
#
# Everything it needs is set up on the way: the virtual environment, the
# database tables, the static files, and on first run a .env holding a new
# secret key. Settings come from the environment or .env (.env.example).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh

mkdir -p var
if [ ! -e .env ]; then
    # First run: a .env of our own, so manage.py commands run later from this
    # folder (import_pmu_csv, createsuperuser) use the same settings.
    key="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    umask 077
    cat > .env <<ENV
# Written by run.sh on its first run; edit freely (see .env.example).
DJANGO_SECRET_KEY=$key
# Local demo: anonymous users may change the protocol and alert rules so the
# stock dashboard works. Set to 0 before serving beyond this machine.
PMU_ALLOW_ANONYMOUS_WRITES=1
ENV
    umask 022
    echo "Wrote .env with a new secret key (see .env.example for the rest)." >&2
fi

python manage.py migrate --noinput -v0
python manage.py collectstatic --noinput -v0

host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
case "$host" in
    127.*|localhost|::1) ;;
    *) python - <<'PY'
import django
django.setup()
from pmuproject.permissions import writes_are_open
if writes_are_open():
    print("Warning: control actions are open to anonymous users "
          "(PMU_ALLOW_ANONYMOUS_WRITES or DJANGO_DEBUG) on a non-loopback address.")
PY
    ;;
esac
echo "Serving on http://$host:$port/api/getpmus (docs at /docs, admin at /admin/)" >&2
exec daphne -b "$host" -p "$port" pmuproject.asgi:application
