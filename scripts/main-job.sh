#!/usr/bin/env bash
# The main job (README's first command): a real backup → list → restore → verify → prune
# round trip with the `s3keep` command, against a MinIO this script starts and stops itself.
# The data is the installed Python standard library: tens of thousands of files nobody wrote
# for this purpose.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh >/dev/null || { echo "main-job: setup failed (run bash scripts/setup.sh to see why)" >&2; exit 1; }
cargo build --quiet --release -p s3keep-cli
exec python3 scripts/minio_harness.py run -- bash scripts/lib/round-trip.sh "$REPO/target/release/s3keep"
