#!/usr/bin/env bash
# Fault injection for tests/tests/faults.rs: stops and starts the local services.
#   scripts/restart-service.sh postgres-restart <seconds down>
#   scripts/restart-service.sh localstack-stop | localstack-start
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
postgres-restart)
    [[ -z "$USER_DATABASE_URL" ]] || die "will not restart a Postgres this script did not start"
    as_pg_user "$(pg_server_bin)/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
    sleep "${2:-2}"
    pg_start >/dev/null
    ;;
localstack-stop)
    localstack_stop >/dev/null
    ;;
localstack-start)
    localstack_start >/dev/null
    ;;
*)
    echo "usage: $0 postgres-restart <seconds>|localstack-stop|localstack-start" >&2
    exit 2
    ;;
esac
