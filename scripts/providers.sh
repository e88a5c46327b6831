#!/usr/bin/env bash
# The provider matrix (§14; README "Providers"): the conformance runners and a subset of
# the Rust store tests against each S3 implementation scripts/minio_harness.py can start, each
# run under its own fresh server. Prints every run's output, then one summary line per run
# and the matrix as a markdown table (cases passed / failed / skipped per provider and runner,
# with the capabilities the skipped cases require). Exit status non-zero if a run failed.
#
#   bash scripts/providers.sh                    the runs scripts/test.sh makes (below)
#   bash scripts/providers.sh minio versitygw    every run of these providers
#
# What runs where (a distributed MinIO here costs ~25 ms per object, so it gets a subset):
#   minio-dist  rust conformance without the two paging cases (2,000+ objects: 95 s of 185),
#               rust store tests (probe, store_save_delete without the 2,500-file delete,
#               restore, store_zeebe_prune; and the CLI's doctor_probe)
#   versitygw   rust conformance, rust store tests (all four, and the CLI's doctor_probe),
#               python conformance, node conformance
#   minio       (only when named: scripts/test.sh runs the full suites on it already)
#               rust conformance, rust store tests, python conformance, node conformance
# The node runs need bindings-wasm/pkg (scripts/build-wasm.sh), the python runs the binding
# installed in .venv (pip install .); a run that cannot start says why and counts as failed.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
trap 'exit 130' INT TERM

providers=("$@")
[ ${#providers[@]} -gt 0 ] || providers=(minio-dist versitygw)

logs="$(mktemp -d "${TMPDIR:-/tmp}/s3keep-providers-XXXXXX")"
trap 'rm -rf "$logs"' EXIT
status=0
rows=()

# The conformance cases minus the paging family, for the cluster.
no_paging="$logs/cases-no-paging"
mkdir -p "$no_paging"
for f in conformance/cases/*.json; do
    case "$(basename "$f")" in paging_*) ;; *) cp "$f" "$no_paging/" ;; esac
done

RUST_STORE_TESTS=(--test probe --test store_save_delete --test restore --test store_zeebe_prune)

# run PROVIDER RUNNER KIND CMD...: runs CMD under a fresh server of PROVIDER; KIND says how to
# read its counts: `cases` (a conformance runner's summary line) or `cargo` (libtest's).
run() {
    local provider="$1" runner="$2" kind="$3"; shift 3
    local log="$logs/$provider-$runner.log" start=$SECONDS
    printf '\n======== %s / %s: %s\n' "$provider" "$runner" "$*"
    python3 scripts/minio_harness.py run --provider "$provider" -- "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]} passed=0 failed=0 skipped=0 line
    if [ "$kind" = cases ]; then
        line="$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)"
        [ -n "$line" ] && read -r passed failed skipped <<<"$(echo "$line" | grep -oE '[0-9]+' | tr '\n' ' ')"
    else
        while read -r p f i; do
            passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + i))
        done < <(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/p' "$log")
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] || status=1
    # The capabilities the skipped cases require, as the runners name them.
    local caps
    caps="$(grep -oE 'requires [A-Za-z0-9]+, which the provider' "$log" | awk '{print $2}' | tr -d ',' \
        | sort | uniq -c | awk '{printf "%s%s ×%s", sep, $2, $1; sep=", "}')"
    rows+=("| $provider | $runner | $passed | $failed | $skipped | ${caps:--} | $((SECONDS - start)) s |")
    echo "$provider / $runner: $passed passed, $failed failed, $skipped skipped ($((SECONDS - start)) s)"
}

rust_conformance() { # rust_conformance PROVIDER [CASES_DIR]
    local env=()
    [ -n "${2:-}" ] && env=(env "S3KEEP_CONFORMANCE_CASES=$2")
    run "$1" "rust conformance" cases "${env[@]}" cargo test -q -p s3keep --test conformance
}
rust_store() { # rust_store PROVIDER [SKIP]: the core's store tests, then the CLI's doctor --probe
    local skip=""
    [ -n "${2:-}" ] && skip="--skip $2"
    run "$1" "rust store tests" cargo bash -c "cargo test -p s3keep ${RUST_STORE_TESTS[*]} -- --nocapture $skip; a=\$?
        cargo test -p s3keep-cli --test doctor_probe -- --nocapture; b=\$?; exit \$((a | b))"
}
python_conformance() {
    run "$1" "python conformance" cases .venv/bin/python -m pytest -q -p no:cacheprovider \
        bindings-python/tests/test_conformance.py
}
node_conformance() {
    run "$1" "node conformance" cases node bindings-wasm/test/conformance/run.mjs
}

# Compile once, before any server starts.
cargo test -q -p s3keep --test conformance "${RUST_STORE_TESTS[@]}" --no-run || exit 1
cargo test -q -p s3keep-cli --test doctor_probe --no-run || exit 1

for provider in "${providers[@]}"; do
    case "$provider" in
        minio-dist)
            rust_conformance minio-dist "$no_paging"
            rust_store minio-dist delete_of_2500_files
            ;;
        versitygw | minio)
            rust_conformance "$provider"
            rust_store "$provider"
            python_conformance "$provider"
            node_conformance "$provider"
            ;;
        *) echo "providers.sh: unknown provider $provider (minio, minio-dist, versitygw)" >&2; exit 2 ;;
    esac
done

printf '\n======== provider matrix\n'
echo "| provider | runner | passed | failed | skipped | skipped for lack of | time |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
exit $status
