#!/usr/bin/env bash
# The console's browser tests: Debian's Chromium, driven by playwright-core, against the
# whole local stack (Postgres, LocalStack, the functions under cargo lambda watch, the SQS
# bridge, the gateway). Starts what is not running and stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_tools
ensure_chromium
stop_what_we_start

product_up
log "running the browser tests (screenshots: web/e2e/screenshots/)"
if ! (cd "$ROOT/web" && BASE_URL="http://127.0.0.1:$GATEWAY_PORT" node e2e/console.e2e.mjs); then
    # CI keeps only this output: show what the bridge and the functions said last. Their
    # logs carry ids and error codes, never secrets or ticket bodies.
    for name in sqs-bridge gateway; do
        echo "--- the last lines of .local/logs/$name.log"
        tail -n 30 "$LOGS/$name.log"
    done
    echo "--- the last warnings and errors of .local/logs/functions.log"
    grep -E '"level":"(WARN|ERROR)"|ERROR|WARN|panicked' "$LOGS/functions.log" | tail -n 40
    exit 1
fi
