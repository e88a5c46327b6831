#!/usr/bin/env bash
# Format 1 against format 2 with the release CLI on one tree (default: the Python standard
# library), one MinIO: first save, second save of the unchanged tree, restore. Prints wall
# time, client CPU (user + system) and peak RSS of each command; asserts nothing.
#
#   cargo build --release -p s3keep-cli
#   python3 scripts/minio_harness.py run -- bash bench/format2_stdlib.sh [DIR]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')}"
BIN="${S3KEEP_BIN:-$REPO/target/release/s3keep}"
: "${S3KEEP_TEST_ENDPOINT:?run under scripts/minio_harness.py run --}"
export AWS_ACCESS_KEY_ID="$S3KEEP_TEST_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3KEEP_TEST_SECRET_KEY"
export AWS_REGION="${S3KEEP_TEST_REGION:-us-east-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$DIR" <<'EOF'
import os, sys
files = size = 0
for root, dirs, names in os.walk(sys.argv[1]):
    for n in names:
        p = os.path.join(root, n)
        if os.path.isfile(p):
            files += 1
            size += os.path.getsize(p)
            with open(p, "rb") as f:  # into the page cache, so that no run reads the disk
                while f.read(1 << 20):
                    pass
print(f"tree: {sys.argv[1]}: {files} files, {size / 2**20:.1f} MiB")
EOF
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # run LABEL ARGS...: one CLI command, timed
    local label="$1"; shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$BIN" "$@" >/dev/null
    read -r wall user sys rss <"$work/time"
    printf '%-36s %7.2f s wall %7.2f s CPU %6d MiB RSS\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024))
}

for format in 2 1; do
    store=(--endpoint "$S3KEEP_TEST_ENDPOINT" --bucket "bench-f$format-$RANDOM" --create-bucket --format "$format" -q)
    run "format $format: first save" "${store[@]}" save 0/1/0 "$DIR"
    run "format $format: second save, unchanged" "${store[@]}" save 0/2/0 "$DIR"
    run "format $format: restore" "${store[@]}" restore 0/2/0 "$work/restored-$format"
    python3 - "$DIR" "$work/restored-$format" <<'EOF'
import filecmp, os, sys
src, dst = sys.argv[1:]
bad = 0
for root, dirs, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        if os.path.isfile(p) and not filecmp.cmp(p, os.path.join(dst, os.path.relpath(p, src)), shallow=False):
            bad += 1
print("  restored tree: identical" if not bad else f"  restored tree: {bad} files differ")
EOF
    rm -rf "$work/restored-$format"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
