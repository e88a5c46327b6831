#!/usr/bin/env bash
# Installs the peers of the benchmark (bench/run.sh calls it; idempotent, seconds when all is
# there). Everything goes into the shared cache outside the work tree, one directory per pin:
#   rclone, restic (go install at bench/versions.env), mc and MinIO (scripts/versions.env);
#   a venv with aws-cli v1, boto3 and obstore (bench/requirements.txt);
#   node_modules with @aws-sdk/client-s3, @aws-sdk/lib-storage, aws4fetch (bench/package*.json);
#   bench/rusage.c compiled (cc), the parent that measures each client.
# Then writes bench/.peers.env (paths, sourced by bench/run.sh).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# go_tool, step, skip, REPO, CACHE and the pins of MinIO and mc.
# shellcheck source=../scripts/setup.sh
source "$BENCH/../scripts/setup.sh"
# shellcheck source=versions.env
source "$BENCH/versions.env"

short_hash() { cat "$@" | sha256sum | cut -c1-12; }

bench_venv() { # -> $CACHE/bench/venv-HASH
    local req="$BENCH/requirements.txt"
    VENV="$CACHE/bench/venv-$(short_hash "$req")"
    step "bench venv ($VENV)"
    if [ -f "$VENV/.complete" ]; then skip "$VENV"; return; fi
    # A venv cannot be moved, so it is built in place; the stamp marks it finished.
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    touch "$VENV/.complete"
}

bench_npm() { # -> $CACHE/bench/npm-HASH/node_modules
    NPM_DIR="$CACHE/bench/npm-$(short_hash "$BENCH/package.json" "$BENCH/package-lock.json")"
    step "bench node_modules ($NPM_DIR)"
    if [ -f "$NPM_DIR/.complete" ]; then skip "$NPM_DIR/node_modules"; return; fi
    rm -rf "$NPM_DIR" && mkdir -p "$NPM_DIR"
    cp "$BENCH/package.json" "$BENCH/package-lock.json" "$NPM_DIR/"
    (cd "$NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$NPM_DIR/.complete"
}

rusage_wrapper() { # -> $CACHE/bench/rusage-HASH (a ~1 MiB parent for every measured client)
    RUSAGE="$CACHE/bench/rusage-$(short_hash "$BENCH/rusage.c")"
    step "rusage wrapper ($RUSAGE)"
    if [ -x "$RUSAGE" ]; then skip "$RUSAGE"; return; fi
    cc -O2 -Wall -o "$RUSAGE.tmp" "$BENCH/rusage.c" && mv "$RUSAGE.tmp" "$RUSAGE"
}

start=$SECONDS
mkdir -p "$CACHE/bin" "$CACHE/bench"
# The same lock as scripts/setup.sh: never two builds of one tool at once.
exec {setup_lock}>"$CACHE/.setup.lock"
flock "$setup_lock"
go_tool minio github.com/minio/minio "$MINIO_VERSION"
go_tool mc github.com/minio/mc "$MC_VERSION"
go_tool rclone github.com/rclone/rclone "$RCLONE_VERSION"
go_tool restic github.com/restic/restic/cmd/restic "$RESTIC_VERSION"
bench_venv
bench_npm
rusage_wrapper
cat >"$BENCH/.peers.env" <<EOF
S3KEEP_BENCH_MC=$CACHE/bin/mc-$MC_VERSION/mc
S3KEEP_BENCH_RCLONE=$CACHE/bin/rclone-$RCLONE_VERSION/rclone
S3KEEP_BENCH_RESTIC=$CACHE/bin/restic-$RESTIC_VERSION/restic
S3KEEP_BENCH_VENV=$VENV
S3KEEP_BENCH_NODE_MODULES=$NPM_DIR/node_modules
S3KEEP_BENCH_RUSAGE=$RUSAGE
EOF
printf '\n== bench setup: done in %ss (paths in %s)\n' "$((SECONDS - start))" "$BENCH/.peers.env"
