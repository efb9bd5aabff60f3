#!/usr/bin/env bash
# Brings the whole product up locally with demo data: services, schema, seed, functions,
# the SQS bridge, the console and the gateway in front of it all.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_tools
# Edit a function and cargo lambda watch rebuilds and restarts it.
export NEXIFY_RELOAD=1
trap functions_down EXIT INT TERM
product_up

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
