#!/usr/bin/env bash
# The JavaScript face of s3keep (bindings-wasm/, the npm package `s3keep`): builds the wasm
# package, type-checks index.d.ts, then runs the same scenarios in Node, Deno, Bun and
# workerd (Miniflare), each against its own MinIO from scripts/minio_harness.py, and
# measures the memory of a 1 GiB save; then the shared conformance suite (conformance/cases,
# test/conformance/) in the same four runtimes. Every suite prints `NAME: N passed, N failed`
# (the conformance runners also `N skipped`). All suites run even when one fails; the exit
# status is non-zero if any failed, or if one passed no test.
#
#   scripts/test-js.sh                 everything (needs scripts/setup.sh to have run)
#   S3KEEP_SKIP_BUILD=1 ...            reuse bindings-wasm/pkg/
#   S3KEEP_SKIP_BENCH=1 ...            leave out the 1 GiB memory measurement
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO/bindings-wasm"
BIN="$REPO/bindings-wasm/node_modules/.bin"
HARNESS=(python3 "$REPO/scripts/minio_harness.py" run --)
trap 'exit 130' INT TERM

summaries=()
status=0
# Miniflare (workerd) leaves a directory in TMPDIR per run: give the suites their own
# TMPDIR and remove it at the end, so no temp dirs are left behind.
export TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/s3keep-js-XXXXXX")"
log="$TMPDIR/suite.log"
trap 'rm -rf "$TMPDIR"' EXIT

# run NAME PARSER CMD...: runs CMD (output shown and kept), then prints its counts as
# "NAME: N passed, N failed[, N skipped]" using PARSER (a function reading $log).
run() {
    local name="$1" parser="$2"; shift 2
    printf '\n======== js/%s: %s\n' "$name" "$*"
    local start=$SECONDS
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]} counts passed failed skipped
    counts="$(RC=$rc "$parser")"
    read -r passed failed skipped <<<"$counts"
    # A runner that crashed before counting still fails the suite.
    if [ "$rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; fi
    # So does one that passed nothing: a suite that ran no test proves nothing.
    if [ "${passed:-0}" -eq 0 ]; then
        echo "js/$name: no test passed: FAILED"
        [ "${failed:-0}" -eq 0 ] && failed=1
    fi
    local line
    line="$(printf '%s: %d passed, %d failed' "$name" "${passed:-0}" "${failed:-0}")"
    [ -n "$skipped" ] && line+="$(printf ', %d skipped' "$skipped")"
    line+=" ($((SECONDS - start)) s)"
    echo "$line"
    summaries+=("$line")
    [ "$rc" -eq 0 ] && [ "${failed:-0}" -eq 0 ] || status=1
}

last_number() { grep -oE "$1" "$log" | grep -oE '[0-9]+' | tail -1; }
node_counts() { echo "$(last_number '^# pass [0-9]+') $(last_number '^# fail [0-9]+')"; }
deno_counts() { echo "$(last_number '[0-9]+ passed') $(last_number '[0-9]+ failed')"; }
bun_counts() { echo "$(last_number '^ *[0-9]+ pass$') $(last_number '^ *[0-9]+ fail$')"; }
# The conformance runners' own summary line (conformance/README.md), exactly.
conformance_counts() {
    local summary
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)"
    if [ -n "$summary" ]; then echo "$summary" | grep -oE '[0-9]+' | tr '\n' ' '; else echo "0 1"; fi
}
exit_counts() { # one check: passed when it exited 0 and its log matches $OK_PATTERN
    if [ "$RC" -eq 0 ] && { [ -z "${OK_PATTERN:-}" ] || grep -q "$OK_PATTERN" "$log"; }; then
        echo "1 0"
    else
        echo "0 1"
    fi
}

if [ "${S3KEEP_SKIP_BUILD:-0}" != 1 ]; then
    OK_PATTERN='^build-wasm: .* bytes gzipped' run build exit_counts bash "$REPO/scripts/build-wasm.sh"
fi
run typescript exit_counts "$BIN/tsc" --noEmit -p test/tsconfig.json
# An explicit glob: `node --test DIR` would also run helper modules such as harness.mjs.
run node node_counts "${HARNESS[@]}" node --test --test-reporter=tap test/*.test.mjs
run deno deno_counts "${HARNESS[@]}" env NO_COLOR=1 "$BIN/deno" test --no-check \
    --allow-net=127.0.0.1 --allow-read --allow-env --allow-write test/deno_test.mjs
run bun bun_counts "${HARNESS[@]}" "$BIN/bun" test ./test/bun_store_test.js
run workerd node_counts "${HARNESS[@]}" node --test --test-reporter=tap test/workerd/miniflare.test.mjs
if [ "${S3KEEP_SKIP_BENCH:-0}" != 1 ]; then
    OK_PATTERN='limit .*: ok$' run memory-1GiB exit_counts \
        "${HARNESS[@]}" node --expose-gc bench/memory.mjs
fi

# The shared conformance suite (conformance/README.md): test/conformance/runner.mjs in each
# runtime, each under its own MinIO. workerd has no filesystem: its restoreDir cases are
# skipped (and say so). Deno may write only to the temporary directory (restoreDir).
CONFORMANCE=test/conformance/run.mjs
run conformance-node conformance_counts "${HARNESS[@]}" node "$CONFORMANCE"
run conformance-deno conformance_counts "${HARNESS[@]}" env NO_COLOR=1 "$BIN/deno" run \
    --allow-net=127.0.0.1 --allow-read --allow-env --allow-write="${TMPDIR:-/tmp}" "$CONFORMANCE"
run conformance-bun conformance_counts "${HARNESS[@]}" "$BIN/bun" "$CONFORMANCE"
run conformance-workerd conformance_counts "${HARNESS[@]}" node test/conformance/workerd.mjs

printf '\n======== js summary\n'
printf '  %s\n' "${summaries[@]}"
exit $status
