#!/usr/bin/env bash
# Runs every test suite of the project (README: "run all tests"). Each suite gets its own
# fresh MinIO through scripts/minio_harness.py (the providers suite: distributed MinIO and
# versitygw as well) and prints its runner's summary line. All
# suites run even when one fails; the exit status is non-zero if any failed.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh || { echo "test.sh: setup failed" >&2; exit 1; }

# Ctrl-C stops the whole run, not just the current suite (the harness cleans up MinIO).
trap 'exit 130' INT TERM

HARNESS=(python3 scripts/minio_harness.py run --)
names=() results=()

suite() { # suite NAME CMD... : runs CMD, records pass/fail
    local name="$1"; shift
    printf '\n======== %s: %s\n' "$name" "$*"
    local start=$SECONDS
    if "$@"; then results+=("pass"); else results+=("FAIL"); fi
    names+=("$name ($((SECONDS - start))s)")
}

pytest_suite() {
    local dirs=(tests/python)
    [ -d bindings-python/tests ] && dirs+=(bindings-python/tests)
    if [ -f pyproject.toml ]; then
        # The Python binding (pyproject.toml -> maturin -> bindings-python/), installed with
        # its `s3keep` command as a user gets it. No build isolation: the venv's maturin (found
        # on PATH by its PEP 517 hook), no download. Its own target dir: incremental release
        # builds that never wait on (or invalidate) the cargo lock of target/.
        PATH="$REPO/.venv/bin:$PATH" CARGO_TARGET_DIR="$REPO/target/py" .venv/bin/python -m pip install --quiet \
            --disable-pip-version-check --no-build-isolation . || return 1
    fi
    "${HARNESS[@]}" .venv/bin/python -m pytest "${dirs[@]}"
    local rc=$?
    # pytest exits 5 when it collected no tests: a suite that ran nothing proves nothing.
    [ $rc -eq 5 ] && echo "pytest: no tests collected: FAILED"
    return $rc
}

# --no-fail-fast: a failing unit test must not hide the integration tests.
# --include-ignored: the slow tests (a 5 GiB file, 25,000 files, peak memory) run here.
# The default members (core, cli): the bindings are tested through Python and JS below.
suite rust "${HARNESS[@]}" cargo test --no-fail-fast -- --include-ignored
suite python pytest_suite
# ---- JavaScript (bindings-wasm, the npm package): owned by scripts/test-js.sh, which builds
# the wasm package, runs tsc, then Node, Deno, Bun and workerd (Miniflare), each under its
# own MinIO and printing `N passed, N failed`, and the 1 GiB memory measurement.
suite js bash scripts/test-js.sh
suite interop bash scripts/interop.sh
# ---- Providers (§14): the conformance runners and a subset of the Rust store tests
# against distributed MinIO (four nodes in network namespaces; a subset: it is slow) and
# versitygw (an independent S3 implementation), each under its own server; prints the matrix.
suite providers bash scripts/providers.sh

printf '\n======== summary\n'
status=0
for i in "${!names[@]}"; do
    printf '  %-24s %s\n' "${names[$i]}" "${results[$i]}"
    [ "${results[$i]}" = pass ] || status=1
done
exit $status
