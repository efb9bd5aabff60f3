#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint` (both offline; installed into
# .local/lint-venv on first use).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv "$STATE/lint-venv" "$ROOT/scripts/requirements-lint.txt"
"$STATE/lint-venv/bin/cfn-lint" "$ROOT/template.yaml"
echo "template.yaml: cfn-lint clean"
# SAM's own validation runs locally; it only needs a region and (unused) credentials.
(cd "$ROOT" && SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=unused AWS_SECRET_ACCESS_KEY=unused \
    "$STATE/lint-venv/bin/sam" validate --lint --template template.yaml) >"$LOGS/sam-validate.log" 2>&1 ||
    { cat "$LOGS/sam-validate.log"; die "sam validate --lint failed"; }
echo "template.yaml: sam validate --lint clean"
