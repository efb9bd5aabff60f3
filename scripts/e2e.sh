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
(cd "$ROOT/web" && BASE_URL="http://127.0.0.1:$GATEWAY_PORT" node e2e/console.e2e.mjs)
