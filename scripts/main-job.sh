#!/usr/bin/env bash
# The main job (README's first command): a real backup → list → restore → verify → prune
# round trip with the `s3keep` command, against a MinIO this script starts and stops itself.
# The data is the installed Python standard library: tens of thousands of files nobody wrote
# for this purpose.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# Only what the job uses: MinIO (built with `go install` into the cache, downloads mostly)
# alongside the release build of the CLI (compiling mostly), so the first backup starts soon
# after the clone. The test toolchains (wasm, npm runtimes, venv) are not installed here.
bash scripts/setup.sh minio >"${TMPDIR:-/tmp}/s3keep-main-job-setup.log" 2>&1 &
setup_pid=$!
cargo build --quiet --release -p s3keep-cli
wait "$setup_pid" || { echo "main-job: setup failed; see ${TMPDIR:-/tmp}/s3keep-main-job-setup.log" >&2; exit 1; }
exec python3 scripts/minio_harness.py run -- bash scripts/lib/round-trip.sh "$REPO/target/release/s3keep"
