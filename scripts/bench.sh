#!/usr/bin/env bash
# Runs benchmarks against the local services (started if needed), optimised build.
#   scripts/bench.sh [api|triage|embed|retrieval]...     (default: all)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_tools
pg_start
localstack_start
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- migrate --local-app-login
export PGBENCH="${PGBENCH:-$(pg_bin)/pgbench}"
cargo build --quiet --profile perf -p nexify-bench
for bench in "${@:-api triage embed retrieval}"; do
    for name in $bench; do
        DATABASE_URL="$OWNER_DATABASE_URL" "$ROOT/target/perf/nexify-bench" "$name"
    done
done
