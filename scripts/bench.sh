#!/usr/bin/env bash
# Runs the benchmarks against the local Postgres (started if needed), in release mode.
#   scripts/bench.sh api
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_tools
pg_start
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- migrate --local-app-login
export PGBENCH="${PGBENCH:-$(pg_bin)/pgbench}"
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet --release -p nexify-bench -- "${@:-api}"
