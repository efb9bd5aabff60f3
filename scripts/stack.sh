#!/usr/bin/env bash
# Starts, stops or reports the local services: Postgres 18 + pgvector and LocalStack SQS.
# Both `up` and `down` are idempotent.
#   scripts/stack.sh up | down | status
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
up)
    pg_start
    localstack_start
    ;;
down)
    localstack_stop
    pg_stop
    ;;
status)
    if pg_is_up 2>/dev/null; then echo "postgres:   up (127.0.0.1:$PG_PORT)"; else echo "postgres:   down"; fi
    if localstack_is_up; then echo "localstack: up (127.0.0.1:$LOCALSTACK_PORT)"; else echo "localstack: down"; fi
    ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
