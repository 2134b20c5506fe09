#!/usr/bin/env bash
# Makes sure the Postgres server the second CI run uses answers on 127.0.0.1:5432 (it is a service of this
# machine; start it if it has stopped).
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "Postgres does not answer on 127.0.0.1:5432" >&2
exit 1
