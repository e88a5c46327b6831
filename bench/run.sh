#!/usr/bin/env bash
# The peer benchmark, one command (bench/README.md):
#   bash bench/run.sh [--quick] [--only cli,python,js,sink] [--runs N] [other bench/peers.py options]
# Installs the peers (bench/setup.sh: shared cache, idempotent), builds what the chosen groups
# run (release CLI; the Python package into .venv; the wasm package), then runs
# bench/peers.py against a fresh MinIO started by scripts/minio_harness.py.
# S3KEEP_BENCH_NO_BUILD=1 skips the builds (use what is there).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
cd "$REPO"

groups="cli,python,js,sink"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --only) groups="${args[$((i + 1))]:-}" ;;
        --only=*) groups="${args[$i]#--only=}" ;;
        -h | --help) exec python3 "$BENCH/peers.py" --help ;;
    esac
done
has() { [[ ",$groups," == *",$1,"* ]]; }

bash "$BENCH/setup.sh"
set -a
# shellcheck source=/dev/null
source "$BENCH/.peers.env"
set +a

if [ "${S3KEEP_BENCH_NO_BUILD:-}" != 1 ]; then
    if has python || has js || has sink; then
        # The repository's venv (holds the s3keep package) and bindings-wasm/node_modules (bun).
        if [ ! -x .venv/bin/python ] || [ ! -x bindings-wasm/node_modules/.bin/bun ]; then bash scripts/setup.sh; fi
    fi
    if has cli || has sink; then
        printf '\n== bench: release build of the CLI\n'
        cargo build --release -p s3keep-cli
    fi
    if has python || has sink; then
        printf '\n== bench: the Python package into .venv\n'
        PATH="$REPO/.venv/bin:$PATH" CARGO_TARGET_DIR="$REPO/target/py" \
            .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-build-isolation .
    fi
    if has js; then
        printf '\n== bench: the wasm package\n'
        bash scripts/build-wasm.sh
    fi
fi
export S3KEEP_BENCH_CLI="${S3KEEP_BENCH_CLI:-$REPO/target/release/s3keep}"
export S3KEEP_BENCH_S3KEEP_PYTHON="$REPO/.venv/bin/python"
export S3KEEP_BENCH_BUN="$REPO/bindings-wasm/node_modules/.bin/bun"

printf '\n== bench: %s\n' "$(uptime)"
exec python3 scripts/minio_harness.py run -- python3 "$BENCH/peers.py" "$@"
