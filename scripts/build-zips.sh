#!/usr/bin/env bash
# Builds every function as a Lambda zip (cargo lambda build --release, linked by Zig from
# the PyPI ziglang package) and prints each zip's size against the 5 MB goal.
#   scripts/build-zips.sh [--arm64]    (x86_64 by default: the only Rust std installed here)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_tools

arch_flag=--x86-64
[[ "${1:-}" == "--arm64" ]] && arch_flag=--arm64
packages=()
for p in "${FUNCTION_PACKAGES[@]}"; do packages+=(-p "$p"); done
log "building ${#FUNCTION_PACKAGES[@]} functions (release: fat LTO, one codegen unit, stripped)"
cargo_lambda build --release "$arch_flag" --output-format zip "${packages[@]}"
# The cold-start floors, for nexify-bench coldstart.
cargo build --quiet --profile perf -p nexify-bench --bin hello-lambda --bin hello-secret

# The binaries themselves, beside their zips, for the cold-start benchmark.
for name in "${FUNCTION_PACKAGES[@]}"; do
    python3 -m zipfile -e "$ROOT/target/lambda/$name/bootstrap.zip" "$ROOT/target/lambda/$name/"
    chmod +x "$ROOT/target/lambda/$name/bootstrap"
done

limit=$((5 * 1024 * 1024))
over=0
printf '\n| function | zip (bytes) | zip (MB) | goal ≤ 5 MB |\n|---|---|---|---|\n'
for name in "${FUNCTION_PACKAGES[@]}"; do
    zip="$ROOT/target/lambda/$name/bootstrap.zip"
    [[ -f "$zip" ]] || die "missing $zip"
    size=$(stat -c %s "$zip")
    ok=yes
    if ((size > limit)); then ok=no; over=1; fi
    printf '| %s | %d | %s | %s |\n' "$name" "$size" "$(awk -v b="$size" 'BEGIN { printf "%.2f", b / 1048576 }')" "$ok"
done
exit $over
