#!/usr/bin/env bash
# Runs the service as a local demo: the embedded store, the PMU simulator
# and the in-process alert worker, on http://127.0.0.1:8000.
#
# Everything it needs is set up on the way: the virtual environment, the
# database tables, the static files and a secret key kept in var/.
# Settings come from the environment or .env (see .env.example).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh

mkdir -p var
if [ -z "${DJANGO_SECRET_KEY:-}" ] && ! grep -qs '^DJANGO_SECRET_KEY=.' .env; then
    if [ ! -s var/secret-key ]; then
        python -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret-key
        chmod 600 var/secret-key
    fi
    DJANGO_SECRET_KEY="$(cat var/secret-key)"
    export DJANGO_SECRET_KEY
fi
# The demo listens on loopback only; there the stock dashboard may change
# the protocol and alert rules without signing in. Production leaves this off.
export PMU_ALLOW_ANONYMOUS_WRITES="${PMU_ALLOW_ANONYMOUS_WRITES:-1}"

python manage.py migrate --noinput -v0
python manage.py collectstatic --noinput -v0

host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
echo "Serving on http://$host:$port/api/getpmus (docs at /docs, admin at /admin/)" >&2
exec daphne -b "$host" -p "$port" pmuproject.asgi:application
