#!/usr/bin/env bash
# Lints template.yaml with cfn-lint (installed into .local/lint-venv on first use).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv "$STATE/lint-venv" "$ROOT/scripts/requirements-lint.txt"
"$STATE/lint-venv/bin/cfn-lint" "$ROOT/template.yaml"
echo "template.yaml: cfn-lint clean"
