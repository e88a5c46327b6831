#!/usr/bin/env bash
# Cross-binding interop (§9; conformance/README.md, "Interop"): under ONE harness MinIO
# and one fresh bucket, the write phase of every available runner, then the read phase of
# every available runner (each reads what all wrote, plus Rust's Zeebe-format fixture);
# prints the writer × reader matrix, then checks that every reader's status document of
# each backup equals `s3keep status --json` (one schema, docs/SCHEMA.md); exits non-zero if
# any write, read or comparison failed.
#
#   bash scripts/interop.sh
#
# A runner that cannot run here (binding not built, runner not written yet) is skipped with
# its reason printed.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Outside a harness: start one MinIO for the whole run and come back in under it.
if [ -z "${S3KEEP_TEST_ENDPOINT:-}" ]; then
    exec python3 scripts/minio_harness.py run -- bash "${BASH_SOURCE[0]}" "$@"
fi

BINDINGS=(rust python node deno bun workerd cli)

# ------------------------------------------------------------------------------------------
# Runner hooks, one pair per binding NAME:
#   available_NAME  returns 0 if the runner can run here, else prints why and returns 1;
#   run_NAME        runs the runner once; S3KEEP_INTEROP_BUCKET / _PHASE / _EXPECT are set,
#                   which puts it in interop mode (instead of running the cases).
# What each runner must do in interop mode: conformance/README.md, "Interop".
# ------------------------------------------------------------------------------------------

available_rust() { command -v cargo >/dev/null || { echo "cargo not found"; return 1; }; }
run_rust() { cargo test --quiet -p s3keep --test conformance; }

# python: the interop phases of the Python runner (the cases run under pytest, test_conformance.py).
PYTHON_RUNNER=bindings-python/tests/interop.py
available_python() {
    [ -f "$PYTHON_RUNNER" ] || { echo "no runner yet ($PYTHON_RUNNER)"; return 1; }
    [ -x .venv/bin/python ] && .venv/bin/python -c 'import s3keep' 2>/dev/null \
        || { echo "binding not installed (.venv/bin/python -m pip install .)"; return 1; }
}
run_python() { .venv/bin/python "$PYTHON_RUNNER"; }

# node, deno, bun: one ES module runs under all three (it detects its runtime; interop
# mode when S3KEEP_INTEROP_BUCKET and S3KEEP_INTEROP_PHASE are set).
JS_RUNNER=bindings-wasm/test/conformance/run.mjs
WASM=bindings-wasm/pkg/s3keep_wasm_bg.wasm
js_tool() { # js_tool NAME: the runtime's binary (the npm-installed one first)
    local local_bin="bindings-wasm/node_modules/.bin/$1"
    if [ -x "$local_bin" ]; then echo "$local_bin"; else command -v "$1"; fi
}
available_js() { # available_js RUNTIME
    [ -f "$JS_RUNNER" ] || { echo "no runner yet ($JS_RUNNER)"; return 1; }
    [ -f "$WASM" ] || { echo "binding not built ($WASM: run scripts/build-wasm.sh)"; return 1; }
    js_tool "$1" >/dev/null || { echo "$1 not found"; return 1; }
}
available_node() { available_js node; }
run_node() { "$(js_tool node)" "$JS_RUNNER"; }
available_deno() { available_js deno; }
run_deno() { NO_COLOR=1 "$(js_tool deno)" run --allow-net=127.0.0.1 --allow-read --allow-env "$JS_RUNNER"; }
available_bun() { available_js bun; }
run_bun() { "$(js_tool bun)" "$JS_RUNNER"; }

# workerd: a Node script that runs the phase inside workerd (Miniflare).
WORKERD_RUNNER=bindings-wasm/test/conformance/workerd.mjs
available_workerd() {
    [ -f "$WORKERD_RUNNER" ] || { echo "no runner yet ($WORKERD_RUNNER)"; return 1; }
    [ -f "$WASM" ] || { echo "binding not built ($WASM: run scripts/build-wasm.sh)"; return 1; }
    js_tool node >/dev/null || { echo "node not found"; return 1; }
}
run_workerd() { "$(js_tool node)" "$WORKERD_RUNNER"; }

# cli: the `s3keep` command, driven by a script of the standard library only.
CLI_RUNNER=cli/tests/interop.py
export S3KEEP_CLI="$REPO/target/debug/s3keep"
available_cli() { [ -x "$S3KEEP_CLI" ] || { echo "the command is not built ($S3KEEP_CLI)"; return 1; }; }
run_cli() { python3 "$CLI_RUNNER"; }

# ------------------------------------------------------------------------------------------

S3KEEP_INTEROP_BUCKET="interop-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
export S3KEEP_INTEROP_BUCKET
"${S3KEEP_MC_BIN:-mc}" --no-color mb "${S3KEEP_TEST_MC_ALIAS:-s3keep}/$S3KEEP_INTEROP_BUCKET" >/dev/null \
    || echo "interop: could not create the bucket with mc; the writers create it"
echo "interop: bucket $S3KEEP_INTEROP_BUCKET at $S3KEEP_TEST_ENDPOINT"

# Compile before the phases, so that compiler output does not interleave with them.
if available_rust >/dev/null; then
    cargo test --quiet -p s3keep --test conformance --no-run || exit 1
    cargo build --quiet -p s3keep-cli || exit 1
fi

runners=()
for b in "${BINDINGS[@]}"; do
    if why="$("available_$b")"; then
        runners+=("$b")
    else
        echo "interop: $b skipped: $why"
    fi
done

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
status=0
writers=()
for b in "${runners[@]}"; do
    echo "======== write: $b"
    if S3KEEP_INTEROP_PHASE=write "run_$b" | tee "$logs/write-$b"; then
        writers+=("$b")
        [ "$b" = rust ] && writers+=(zeebe) # the Rust writer also writes the Zeebe fixture
    else
        status=1
    fi
done
expect="$(IFS=,; echo "${writers[*]}")"
for b in "${runners[@]}"; do
    echo "======== read: $b"
    S3KEEP_INTEROP_PHASE=read S3KEEP_INTEROP_EXPECT="$expect" "run_$b" | tee "$logs/read-$b" || status=1
done

# Two matrices: the plain store (prefix interop) and the encrypted one (interop-encrypted,
# where a reader also checks that a wrong key and none are refused with KeyWrong/KeyMissing).
python3 - "$logs" "${BINDINGS[@]}" <<'EOF'
import pathlib, re, sys
logs, bindings = pathlib.Path(sys.argv[1]), sys.argv[2:]
ran = {p.name[len("read-"):] for p in logs.glob("read-*")}
for label, writers in (("interop", bindings + ["zeebe"]), ("interop-encrypted", bindings)):
    print(f"======== {label} matrix (rows: writer, columns: reader)")
    cells = {}
    for log in logs.glob("read-*"):
        for line in log.read_text().splitlines():
            m = re.match(re.escape(label) + r" (\S+) -> (\S+): (ok|FAILED)", line)
            if m:
                cells[(m[1], m[2])] = "ok" if m[3] == "ok" else "FAILED"
    print("writer".ljust(10) + "".join(r.ljust(9) for r in bindings))
    for w in writers:
        row = [cells.get((w, r), "-" if r in ran else "skipped") for r in bindings]
        print(w.ljust(10) + "".join(c.ljust(9) for c in row))
print("(- = no backup of that writer; skipped = that reader did not run)")
EOF

# One schema (docs/SCHEMA.md): every reader printed the status document of each backup it
# read (Rust: the core's serialisation; Python: `to_dict()`; JS: `JSON.stringify(info)`);
# each must equal, as a parsed JSON document, what `s3keep status --json` prints for it.
echo "======== status documents: every reader's = s3keep status --json"
if cargo build --quiet -p s3keep-cli; then
    python3 - "$logs" "$REPO/target/debug/s3keep" <<'EOF' || status=1
import json, os, pathlib, re, subprocess, sys
logs, cli = pathlib.Path(sys.argv[1]), sys.argv[2]
e = os.environ
env = dict(e, AWS_ACCESS_KEY_ID=e["S3KEEP_TEST_ACCESS_KEY"], AWS_SECRET_ACCESS_KEY=e["S3KEEP_TEST_SECRET_KEY"])
store = ["--endpoint", e["S3KEEP_TEST_ENDPOINT"], "--region", e.get("S3KEEP_TEST_REGION", "us-east-1"),
         "--bucket", e["S3KEEP_INTEROP_BUCKET"], "--prefix", "interop"]
docs, readers = {}, sorted(p.name[len("read-"):] for p in logs.glob("read-*"))
for reader in readers:
    for line in (logs / f"read-{reader}").read_text().splitlines():
        m = re.match(r"interop status-json \S+ -> \S+: (.*)$", line)
        if m:
            doc = json.loads(m[1])
            docs.setdefault(doc["id"], {})[reader] = doc
passed = failed = 0
for id, by_reader in sorted(docs.items()):
    run = subprocess.run([cli, *store, "--json", "status", id], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        failed += 1
        print(f"status {id}: s3keep status --json: FAILED: {run.stderr.strip()}")
        continue
    want = json.loads(run.stdout)
    for reader in readers:
        got = by_reader.get(reader)
        if got == want:
            passed += 1
            print(f"status {id}: {reader} = CLI: ok")
        else:
            failed += 1
            why = "no document" if got is None else f"{json.dumps(got, sort_keys=True)} != {json.dumps(want, sort_keys=True)}"
            print(f"status {id}: {reader} = CLI: FAILED: {why}")
if not docs:
    failed += 1
    print("status documents: FAILED: no reader printed one")
print(f"{passed} passed, {failed} failed, 0 skipped")
sys.exit(1 if failed else 0)
EOF
else
    echo "status documents: FAILED: the CLI does not build"
    status=1
fi
exit $status
