#!/usr/bin/env bash
# Runs benchmarks against the local services (started if needed), optimised build.
#   scripts/bench.sh [api|triage|embed|retrieval|coldstart]...     (default: all)
# coldstart times the release zips' binaries: it runs scripts/build-zips.sh when they are
# missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_tools
pg_start
localstack_start
migrate
export PGBENCH="${PGBENCH:-$(pg_bin)/pgbench}"
cargo build --quiet --profile perf -p nexify-bench
write_functions_env
export NEXIFY_ROOT="$ROOT"
for bench in "${@:-api triage embed retrieval coldstart}"; do
    for name in $bench; do
        if [[ "$name" == coldstart && ! -f "$ROOT/target/lambda/health/bootstrap" ]]; then
            "$ROOT/scripts/build-zips.sh" || true
        fi
        DATABASE_URL="$OWNER_DATABASE_URL" "$ROOT/target/perf/nexify-bench" "$name"
    done
done
