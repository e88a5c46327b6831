#!/usr/bin/env bash
# Runs inside scripts/minio_harness.py (which exports S3KEEP_TEST_*): drives the CLI as a
# user would. Usage: round-trip.sh PATH/TO/s3keep
set -euo pipefail
S3KEEP="$1"
export AWS_ACCESS_KEY_ID="$S3KEEP_TEST_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3KEEP_TEST_SECRET_KEY"
export AWS_REGION="$S3KEEP_TEST_REGION"
s3keep() { "$S3KEEP" --url "s3://main-job/nightly?endpoint=$S3KEEP_TEST_ENDPOINT" "$@"; }
say() { printf '\n== %s\n' "$*"; }

SRC="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FILES=$(find "$SRC" -type f | wc -l)

say "create the bucket, then doctor: reachable, credentials, permissions, clock?"
s3keep --create-bucket list
s3keep doctor

say "save: $SRC ($FILES files, $(du -sh "$SRC" | cut -f1))"
start=$SECONDS
# Links are followed so that `diff -r` (which follows them too) compares like with like:
# Debian's stdlib links sitecustomize.py into /etc.
s3keep save 0/1000/0 "$SRC" --follow-symlinks --meta source=python-stdlib --meta host="$(hostname)"
echo "saved in $((SECONDS - start)) s"

say "list"
s3keep list

say "status"
s3keep status 0/1000/0

say "restore into a fresh directory"
start=$SECONDS
s3keep restore 0/1000/0 "$WORK/restored"
echo "restored in $((SECONDS - start)) s"

say "identical? diff -r $SRC $WORK/restored"
diff -r "$SRC" "$WORK/restored"
echo "identical: $(find "$WORK/restored" -type f | wc -l) files"

say "verify --deep: every object re-read and its CRC32C checked"
s3keep verify 0/1000/0 --deep

say "a few more (small) backups, then prune with --keep-last 2"
for c in 1001 1002 1003; do
    s3keep --quiet save "0/$c/0" "$SRC/json"
done
s3keep list
s3keep prune --keep-last 2 --dry-run
s3keep prune --keep-last 2 --yes

say "what is left"
s3keep list
s3keep cleanup-uploads --older-than 1h
