#!/usr/bin/env bash
# Builds the bindings-wasm crate for wasm32-unknown-unknown and generates the JS glue
# (wasm-bindgen --target web, usable from Node, Deno, Bun and workerd) into bindings-wasm/pkg/.
# Needs scripts/setup.sh to have run (target or Debian toolchain, wasm-bindgen-cli).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${S3KEEP_CACHE:-$HOME/.cache/s3keep}"
TARGET=wasm32-unknown-unknown
cd "$REPO"

# getrandom (0.3.4+, 0.4) needs no RUSTFLAGS: its `wasm_js` crate feature, set in
# core/Cargo.toml, selects the JS backend by itself.
# Own target directory: Debian's rustc and rustup's would otherwise invalidate each
# other's artifacts in target/.
export CARGO_TARGET_DIR="$REPO/target/wasm32"
if rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    cargo build --profile wasm --target "$TARGET" -p s3keep-wasm
else
    # rustup cannot download the target here: Debian's rustc builds std for wasm32 itself.
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --profile wasm \
        --target "$TARGET" -Zbuild-std=std,panic_abort -p s3keep-wasm
fi

# The .wasm file is named after the crate's lib target; ask cargo rather than guess.
lib="$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
pkg = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "s3keep-wasm")
print(next(t["name"] for t in pkg["targets"] if "cdylib" in t["kind"]).replace("-", "_"))')"
wasm="$CARGO_TARGET_DIR/$TARGET/wasm/$lib.wasm"

# The CLI must match the wasm-bindgen version in Cargo.lock exactly.
version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
bindgen="$CACHE/wasm-bindgen-$version/bin/wasm-bindgen"
[ -x "$bindgen" ] || { echo "build-wasm: $bindgen missing; run scripts/setup.sh" >&2; exit 1; }

rm -rf bindings-wasm/pkg
# --remove-name-section: the `name` section maps function indices to Rust names for stack
# traces only; with format 2 it is ~470 KB of a ~2.1 MB module and puts it over the budget
# below. A trap then shows `wasm-function[N]` instead of the Rust name.
"$bindgen" --target web --remove-name-section --out-dir bindings-wasm/pkg "$wasm"

# Redirects must never be followed (issue 16): fetch would re-send a 301/307'd request to the
# other host, session token and body included. reqwest's wasm client passes no redirect mode
# to fetch (reqwest issue #2071), so every fetch the module makes gets `redirect: "manual"`
# here, in the two calls of wasm-bindgen's glue that stand for reqwest's fetch (the global
# one, and the ServiceWorkerGlobalScope one that workerd takes). Node, Deno, Bun and workerd
# then hand the 3xx itself to the core, which turns it into a RedirectError; a browser hands
# an "opaque redirect" of status 0, which the core maps to the same error. Nothing global is
# changed. The build fails if another wasm-bindgen version writes these calls differently.
python3 - "bindings-wasm/pkg/$lib.js" <<'PY'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
for call in ("arg0.fetch(arg1)", "fetch(arg0)"):
    old, new = f"const ret = {call};", f"const ret = {call[:-1]}, {{ redirect: \"manual\" }});"
    if text.count(old) != 1:
        sys.exit(f"build-wasm: expected one `{old}` in {path} (reqwest's fetch), found {text.count(old)}")
    text = text.replace(old, new)
open(path, "w", encoding="utf-8").write(text)
PY

out="bindings-wasm/pkg/${lib}_bg.wasm"
# Binaryen's wasm-opt (the npm package `binaryen`, a devDependency; what wasm-pack runs after
# wasm-bindgen too): -Oz takes ~5% off rustc's output (2,083,751 -> 1,972,649 bytes before
# Object Lock) in ~40 s. The features are the ones rustc's wasm32 target emits; wasm-opt
# refuses a module that uses others, and enabling more would let it emit what some runtime
# lacks.
wasm_opt="bindings-wasm/node_modules/.bin/wasm-opt"
[ -x "$wasm_opt" ] || { echo "build-wasm: $wasm_opt missing; run scripts/setup.sh" >&2; exit 1; }
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals "$out" -o "$out.opt"
mv "$out.opt" "$out"

# The size the README quotes, and its limit (issue #7: under 2 MiB raw).
raw=$(stat -c %s "$out")
gz=$(gzip -9 -c "$out" | wc -c)
awk -v f="$out" -v r="$raw" -v g="$gz" 'BEGIN {
    printf "build-wasm: %s: %d bytes raw (%.2f MiB), %d bytes gzipped (%.2f MiB)\n", f, r, r / 1048576, g, g / 1048576 }'
if [ "$raw" -ge $((2 * 1024 * 1024)) ]; then
    echo "build-wasm: $out is over the 2 MiB budget" >&2
    exit 1
fi
