#!/usr/bin/env bash
# Brings the whole product up locally with demo data: services, schema, seed, functions.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INVOKE_PORT="${NEXIFY_INVOKE_PORT:-9000}"

ensure_tools
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
AWS_LAMBDA_LOG_FORMAT=${AWS_LAMBDA_LOG_FORMAT:-JSON}
ENV

cat <<MSG

  Nexify is starting (first build takes a few minutes).

  Functions (cargo lambda watch):  http://127.0.0.1:$INVOKE_PORT/lambda-url/<function>/
    health:   curl http://127.0.0.1:$INVOKE_PORT/lambda-url/health/api/health/

  Demo logins (password: nexify-demo)
    admin@acme.test    admin of Acme Drive Support
    agent@acme.test    agent of Acme Drive Support, viewer of Globex Helpdesk
    viewer@acme.test   viewer of Acme Drive Support
    admin@globex.test  admin of Globex Helpdesk

  Logs: .local/logs/   Stop services: make stop   (Ctrl-C stops the functions)

MSG

cargo_lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
    --env-file "$STATE/functions.env"
