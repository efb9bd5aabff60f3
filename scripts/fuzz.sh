#!/usr/bin/env bash
# Fuzzes every route of the API with schemathesis, from the OpenAPI document the running
# API serves at /api/openapi.json, against the whole local stack with the demo data.
# Passes only with no 5xx and no response outside the document (tests/schemathesis.toml).
# Starts what is not running and stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FUZZ_VENV="$STATE/fuzz-venv"
ensure_tools
ensure_venv "$FUZZ_VENV" "$ROOT/scripts/requirements-fuzz.txt"
stop_what_we_start

# The fuzzer writes, rotates and deletes as the demo admin (it once emptied the demo org's
# teams, and the next run's browser tests failed on it). On the local Postgres it gets a
# database of its own, made afresh each run, so the demo data that `make run` and the
# browser tests use stays as seeded. On your own DATABASE_URL it uses that database.
if [[ -z "$USER_DATABASE_URL" ]]; then
    pg_start
    psql_owner -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS nexify_fuzz WITH (FORCE)" -c "CREATE DATABASE nexify_fuzz"
    OWNER_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/nexify_fuzz"
    APP_DATABASE_URL="postgres://nexify_app:nexify_app@127.0.0.1:$PG_PORT/nexify_fuzz"
fi

# The offline hashing embedder: the fuzzer writes many documents, and what is checked here
# is the HTTP contract, not the quality of the vectors.
export NEXIFY_EMBEDDER="${NEXIFY_EMBEDDER:-hashing}"
product_up
export NEXIFY_API_URL="http://127.0.0.1:$GATEWAY_PORT"

log "preparing ids for the fuzzer (a ticket, its triage job and suggestion, a document)"
# Prints NAME=value lines: signs in as the demo admin and finds or makes one of each.
eval "$("$FUZZ_VENV/bin/python" - <<'PY'
import json, os, time, urllib.request

base = os.environ["NEXIFY_API_URL"]

def call(method, path, token=None, body=None, headers=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")

token = call("POST", "/api/auth/token/", body={"email": "admin@acme.test", "password": "nexify-demo"})["access"]
org = next(m["organization_id"] for m in call("GET", "/api/me/", token)["memberships"]
           if m["organization_name"].startswith("Acme"))
ticket = call("POST", f"/api/orgs/{org}/tickets/", token, {
    "requester_email": "fuzz@example.com", "subject": "Card declined at checkout",
    "body": "My card was declined twice today."})["id"]
job = call("POST", f"/api/orgs/{org}/tickets/{ticket}/triage/", token,
           headers={"idempotency-key": f"fuzz-{ticket}"})["id"]
suggestion = None
for _ in range(120):
    items = call("GET", f"/api/orgs/{org}/tickets/{ticket}/suggestions/", token)["items"]
    if items:
        suggestion = items[0]["id"]
        break
    time.sleep(0.5)
assert suggestion, "the triage job made no suggestion within a minute"
document = call("GET", f"/api/orgs/{org}/documents/?limit=1", token)["items"][0]["id"]
for name, value in [("TOKEN", token), ("ORG_ID", org), ("TICKET_ID", ticket), ("JOB_ID", job),
                    ("SUGGESTION_ID", suggestion), ("DOCUMENT_ID", document)]:
    print(f"export NEXIFY_API_{name}={value}" if name == "TOKEN" else f"export NEXIFY_{name}={value}")
PY
)"

log "fuzzing every route with schemathesis (report: .local/logs/schemathesis/)"
rm -rf "$LOGS/schemathesis"
"$FUZZ_VENV/bin/schemathesis" --config-file "$ROOT/tests/schemathesis.toml" run \
    "$NEXIFY_API_URL/api/openapi.json" \
    --report junit --report-dir "$LOGS/schemathesis" --no-color
