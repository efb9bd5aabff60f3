#!/usr/bin/env bash
# Brings the whole product up locally with demo data: services, schema, seed, functions,
# the SQS bridge, the console and the gateway in front of it all.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_tools
# The demo runs the real model: MiniLM embeddings for the knowledge base and the triage models.
export NEXIFY_EMBEDDER="${NEXIFY_EMBEDDER:-minilm}"
pg_start
localstack_start
log "migrating the database"
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- migrate --local-app-login
log "seeding demo data"
DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- seed
build_web
trap functions_down EXIT INT TERM
functions_up
wait_for_api

cat <<MSG

  Nexify is running.

  Console:   http://127.0.0.1:$GATEWAY_PORT/      (API on the same origin: /api/...)
  Functions: http://127.0.0.1:$INVOKE_PORT/lambda-url/<function>/   (cargo lambda watch)
    curl http://127.0.0.1:$GATEWAY_PORT/api/health/

  Demo logins (password: nexify-demo)
    admin@acme.test    admin of Acme Drive Support
    agent@acme.test    agent of Acme Drive Support, viewer of Globex Helpdesk
    viewer@acme.test   viewer of Acme Drive Support
    admin@globex.test  admin of Globex Helpdesk

  Logs: .local/logs/ (functions, sqs-bridge, gateway)   Ctrl-C stops the functions;
  make stop stops Postgres and LocalStack.

MSG
wait
