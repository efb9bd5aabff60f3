#!/usr/bin/env bash
# Brings the whole product up locally with demo data: services, schema, seed, functions.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INVOKE_PORT="${NEXIFY_INVOKE_PORT:-9000}"

ensure_tools
# The demo runs the real model: MiniLM embeddings for the knowledge base and the triage models.
export NEXIFY_EMBEDDER="${NEXIFY_EMBEDDER:-minilm}"
pg_start
localstack_start
log "migrating the database"
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- migrate --local-app-login
log "seeding demo data"
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- seed

# What every function reads at start-up, as it would from its Lambda configuration.
cat >"$STATE/functions.env" <<ENV
DATABASE_URL=$APP_DATABASE_URL
TRIAGE_QUEUE_URL=$(queue_url nexify-triage)
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
NEXIFY_ENV=local
NEXIFY_EMBEDDER=$NEXIFY_EMBEDDER
NEXIFY_MINILM_PATH=$NEXIFY_MINILM_PATH
AWS_LAMBDA_LOG_FORMAT=${AWS_LAMBDA_LOG_FORMAT:-JSON}
ENV

cat <<MSG

  Nexify is starting (first build takes a few minutes).

  Functions (cargo lambda watch):  http://127.0.0.1:$INVOKE_PORT/lambda-url/<function>/
    health:   curl http://127.0.0.1:$INVOKE_PORT/lambda-url/health/api/health/
    sign in:  curl -X POST http://127.0.0.1:$INVOKE_PORT/lambda-url/auth/api/auth/token/ \\
                -H 'content-type: application/json' -d '{"email":"agent@acme.test","password":"nexify-demo"}'
    (auth, tickets, settings, webhooks, triage-api, kb, health; the triage worker is fed by
     the SQS bridge, log: .local/logs/sqs-bridge.log)

  Demo logins (password: nexify-demo)
    admin@acme.test    admin of Acme Drive Support
    agent@acme.test    agent of Acme Drive Support, viewer of Globex Helpdesk
    viewer@acme.test   viewer of Acme Drive Support
    admin@globex.test  admin of Globex Helpdesk

  Logs: .local/logs/   Stop services: make stop   (Ctrl-C stops the functions)

MSG

log "building the local SQS bridge"
cargo build --quiet -p nexify-cli
cargo_lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
    --env-file "$STATE/functions.env" &
watch_pid=$!
# The bridge plays Lambda's SQS event source: queue -> triage-worker, plus the sweep schedule.
AWS_LAMBDA_LOG_FORMAT=Text "$ROOT/target/debug/nexify" sqs-bridge \
    --queue-url "$(queue_url nexify-triage)" --invoke "http://127.0.0.1:$INVOKE_PORT" \
    >"$LOGS/sqs-bridge.log" 2>&1 &
bridge_pid=$!
trap 'kill $bridge_pid $watch_pid 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
wait $watch_pid
