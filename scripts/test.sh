#!/usr/bin/env bash
# Runs every test against real services: starts Postgres and LocalStack if they are not
# already running (and stops again only what it started), migrates, then runs the suite.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

started_pg=0
started_localstack=0
ensure_tools
if [[ -z "$USER_DATABASE_URL" ]] && ! pg_is_up; then started_pg=1; fi
localstack_is_up || started_localstack=1

cleanup() {
    [[ $started_localstack == 0 ]] || localstack_stop
    [[ $started_pg == 0 ]] || pg_stop
}
trap cleanup EXIT

pg_start
localstack_start
# The migration creates the function role, and lets tests connect as it.
migrate

log "running the tests"
# sqlx::test makes a fresh database per test on this server.
DATABASE_URL="$OWNER_DATABASE_URL" cargo test --workspace "$@"

if [[ -z "$USER_DATABASE_URL" ]]; then
    log "fault injection: Postgres and LocalStack restarts, a worker killed mid-batch"
    DATABASE_URL="$OWNER_DATABASE_URL" cargo test -p nexify-tests --test faults -- \
        --ignored --test-threads=1
else
    log "skipping the fault-injection tests: they restart Postgres, and this one is yours"
fi

log "running the console's component tests (vitest)"
ensure_web
(cd "$ROOT/web" && npx vitest run)

"$ROOT/scripts/e2e.sh"

"$ROOT/scripts/fuzz.sh"
