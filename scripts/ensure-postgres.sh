#!/usr/bin/env bash
# The two-engine tests need a PostgreSQL server (default 127.0.0.1:5432, trust auth; override with
# BALANCEWATCH_TEST_POSTGRES). If it is down and a local Debian cluster exists, start it (as root);
# otherwise fail: a missing server is a test failure, not a skip.
# BALANCEWATCH_TEST_ENGINES=sqlite skips all of this.
set -euo pipefail
case ",${BALANCEWATCH_TEST_ENGINES:-sqlite,postgres}," in *,postgres,*) ;; *) exit 0 ;; esac
server="${BALANCEWATCH_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432}"
command -v pg_isready >/dev/null 2>&1 && pg_isready -q -d "$server/postgres" && exit 0
if [ "$(id -u)" -eq 0 ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        echo "starting PostgreSQL $version (cluster main)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 20); do pg_isready -q -d "$server/postgres" && exit 0; sleep 0.5; done
fi
echo "error: no PostgreSQL server at $server (start one, or BALANCEWATCH_TEST_ENGINES=sqlite)" >&2
exit 1
