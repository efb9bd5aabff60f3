#!/usr/bin/env bash
# Runs benchmarks against the local services (started if needed), optimised build.
#   scripts/bench.sh [api|triage|outbound|embed|retrieval|coldstart|zips]...   (default: all)
#   scripts/bench.sh report [names...]   all (or the named) into bench/latest/report.{md,json}
# coldstart times the release zips' binaries: it runs scripts/build-zips.sh when they are
# missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_tools
pg_start
localstack_start
migrate
export PGBENCH="${PGBENCH:-$(pg_bin)/pgbench}"
# django-helpdesk, for the side-by-side in the api benchmark.
export NEXIFY_DJANGO_VENV="$STATE/django-venv"
ensure_venv "$NEXIFY_DJANGO_VENV" "$ROOT/bench/django/requirements.txt"
cargo build --quiet --profile perf -p nexify-bench
write_functions_env
export NEXIFY_ROOT="$ROOT"
if [[ "${1:-}" == report ]]; then
    # Everything, into bench/latest/report.md and report.json (the zips and cold starts need
    # the release build).
    [[ -f "$ROOT/target/lambda/triage-sweeper/bootstrap.zip" ]] || "$ROOT/scripts/build-zips.sh"
    export NEXIFY_BENCH_DATE="$(date -u +%Y-%m-%dT%H:%MZ)"
    export NEXIFY_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)"
    shift
    DATABASE_URL="$OWNER_DATABASE_URL" "$ROOT/target/perf/nexify-bench" report "$ROOT/bench/latest" "$@"
    exit
fi
for bench in "${@:-api triage outbound embed retrieval coldstart zips}"; do
    for name in $bench; do
        if [[ "$name" == coldstart || "$name" == zips ]] &&
            [[ ! -f "$ROOT/target/lambda/health/bootstrap" ]]; then
            "$ROOT/scripts/build-zips.sh" || true
        fi
        DATABASE_URL="$OWNER_DATABASE_URL" "$ROOT/target/perf/nexify-bench" "$name"
    done
done
