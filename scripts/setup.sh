#!/usr/bin/env bash
# Installs everything the test suites need. Idempotent: each step checks first and skips
# what is already there, so a second run takes seconds. Needs Go, Python 3.11, Node 20/npm,
# rustup's Rust and gcc; run as root on a fresh Debian machine (apt-get for the wasm route).
# Tools built from source are cached outside the work tree, one directory per pinned version.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${S3KEEP_CACHE:-$HOME/.cache/s3keep}"
# shellcheck source=versions.env
source "$REPO/scripts/versions.env"

step() { printf '\n== setup: %s\n' "$*"; }
skip() { printf '   (already there: %s)\n' "$*"; }

python_venv() {
    step "Python venv ($REPO/.venv)"
    local req="$REPO/scripts/requirements-dev.txt" venv="$REPO/.venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    # The stamp holds the hash of the requirements, so editing them reinstalls.
    local want have
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    have="$(cat "$venv/.s3keep-requirements" 2>/dev/null || true)"
    if [ "$want" = "$have" ]; then skip "requirements-dev.txt"; return; fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" >"$venv/.s3keep-requirements"
}

go_tool() { # go_tool NAME MODULE VERSION -> $CACHE/bin/NAME-VERSION/NAME
    local name="$1" module="$2" version="$3"
    local dir="$CACHE/bin/$name-$version"
    step "$name $version"
    if [ -x "$dir/$name" ]; then skip "$dir/$name"; return; fi
    # Build into a scratch GOBIN and move into place, so an interrupted build leaves nothing
    # that looks finished.
    local tmp="$CACHE/bin/.build-$name-$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$CACHE" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$module@$version")
    mkdir -p "$dir" && mv "$tmp/$name" "$dir/$name" && rm -rf "$tmp"
}

toxiproxy() { # Toxiproxy's server (Shopify): its module builds a binary named `server`.
    local dir="$CACHE/bin/toxiproxy-$TOXIPROXY_VERSION"
    step "toxiproxy $TOXIPROXY_VERSION"
    if [ -x "$dir/toxiproxy" ]; then skip "$dir/toxiproxy"; return; fi
    local tmp="$CACHE/bin/.build-toxiproxy-$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$CACHE" && GOBIN="$tmp" GOFLAGS=-buildvcs=false \
        go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION")
    mkdir -p "$dir" && mv "$tmp/server" "$dir/toxiproxy" && rm -rf "$tmp"
}

wasm_target() {
    step "wasm32-unknown-unknown target"
    if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        skip "rustup target"; return
    fi
    # rustup's download server is unreachable here: use Debian's rustc with std sources
    # and build std for wasm32 (see scripts/build-wasm.sh). rust-lld links through lld-22.
    local pkgs=(rustc-web cargo-web rust-web-src lld-22) missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then skip "Debian ${pkgs[*]}"; return; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

wasm_bindgen_cli() {
    step "wasm-bindgen-cli (the version in Cargo.lock)"
    local lock="$REPO/Cargo.lock"
    if [ ! -f "$lock" ]; then
        (cd "$REPO" && cargo generate-lockfile -q) || true
    fi
    local version=""
    [ -f "$lock" ] && version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$lock")"
    if [ -z "$version" ]; then
        echo "   WARNING: no wasm-bindgen in Cargo.lock (workspace not buildable yet?); skipped"
        return
    fi
    local root="$CACHE/wasm-bindgen-$version"
    if [ -x "$root/bin/wasm-bindgen" ]; then skip "$root/bin/wasm-bindgen"; return; fi
    # Not --locked: one of the CLI's locked dependency versions is gone from the registry.
    cargo install --quiet wasm-bindgen-cli --version "$version" --root "$root"
}

js_deps() {
    step "JavaScript runtimes and test deps (bindings-wasm/node_modules)"
    local dir="$REPO/bindings-wasm" stamp="$REPO/bindings-wasm/node_modules/.s3keep-lock"
    local want have
    if [ ! -f "$dir/package-lock.json" ]; then
        # First install: writes package-lock.json, which is then committed.
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    else
        want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
        have="$(cat "$stamp" 2>/dev/null || true)"
        if [ "$want" = "$have" ]; then skip "node_modules matches package-lock.json"; return; fi
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
    echo "$want" >"$stamp"
}

# Sourced (bench/setup.sh does), it only defines the functions above.
[[ "${BASH_SOURCE[0]}" != "$0" ]] && return 0

start=$SECONDS
mkdir -p "$CACHE/bin"
# Several checkouts may run setup at once (the cache is shared): one installs, the others
# wait, then find everything there.
exec {setup_lock}>"$CACHE/.setup.lock"
flock "$setup_lock"
# `setup.sh minio` installs only what the main job uses (MinIO); no argument: everything the
# test suites need.
go_tool minio github.com/minio/minio "$MINIO_VERSION"
if [ "${1:-all}" != minio ]; then
    python_venv
    go_tool mc github.com/minio/mc "$MC_VERSION"
    # An independent S3 implementation for the provider matrix (scripts/minio_harness.py
    # --provider versitygw).
    go_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
    toxiproxy
    wasm_target
    wasm_bindgen_cli
    js_deps
fi
printf '\n== setup: done in %ss\n' "$((SECONDS - start))"
