"""Cross-binding interop through the Python binding (conformance/README.md, "Interop").

Run by scripts/interop.sh under the harness MinIO (`S3KEEP_TEST_*`) with
`S3KEEP_INTEROP_BUCKET` and `S3KEEP_INTEROP_PHASE` set:

- write: saves backup `2/1/0` (python's binding index) with metadata `{"binding": "python"}`
  and the protocol's five files;
- read: lists the bucket and, for every backup of a binding index or of the Zeebe fixture
  (partition 90), checks status, size, metadata, a deep verify and a byte-exact restore of
  every set; one line per writer, then `N passed, N failed, 0 skipped`; and for each backup
  read, its status document (`to_dict()`), which scripts/interop.sh compares with
  `s3keep status --json`.

    S3KEEP_INTEROP_BUCKET=b S3KEEP_INTEROP_PHASE=write .venv/bin/python bindings-python/tests/interop.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import s3keep

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance_runner import Files, Harness, StepFailed, compare_tree, generate  # noqa: E402

BINDINGS = {"rust": 1, "python": 2, "node": 3, "deno": 4, "bun": 5, "workerd": 6}
ME = "python"
ZEEBE_PARTITION = 90
CHECKPOINT = 1
PREFIX = "interop"
FIVE_MIB = 5 * 1024 * 1024


def writer_files(b: int) -> Files:
    """The files every writer saves; `b` is its binding index."""
    return {
        "files": {
            "small.bin": generate(1000, b),
            "nested/dir/ünïcode name.txt": generate(100, b + 10),
            "empty.bin": b"",
            "multipart.bin": generate(FIVE_MIB + 1, b + 20),  # multipart: 2 parts
        },
        "segments": {"00000001.log": generate(70000, b + 30)},
    }


def zeebe_files() -> Files:
    """The Zeebe-format fixture written by the Rust writer."""
    return {
        "snapshot": {"000012.sst": generate(3000, 91), "CURRENT": b"MANIFEST-000001\n"},
        "segments": {"raft-partition-1.log": generate(70000, 92)},
    }


def open_store(bucket: str) -> s3keep.BackupStore:
    h = Harness.from_env()
    return s3keep.BackupStore(bucket, prefix=PREFIX, endpoint=h.endpoint, region=h.region,
                              access_key_id=h.access_key, secret_access_key=h.secret_key,
                              part_size=FIVE_MIB, multipart_threshold=FIVE_MIB, create_bucket=True)


def write(store: s3keep.BackupStore) -> bool:
    b = BINDINGS[ME]
    try:
        store.save(f"{b}/{CHECKPOINT}/0", writer_files(b), metadata={"binding": ME})
    except Exception as e:
        print(f"interop write {ME}: FAILED: {type(e).__name__}: {e}")
        return False
    print(f"interop write {ME}: ok ({b}/{CHECKPOINT}/0)")
    return True


def read_one(store: s3keep.BackupStore, id: s3keep.BackupId, writer: str) -> s3keep.BackupInfo:
    """Its status; raises StepFailed (or the binding's error) unless the backup reads back exactly."""
    info = store.status(id)
    if info.status != "COMPLETED":
        raise StepFailed(f"status {info.status} (expected COMPLETED)")
    if writer == "zeebe":
        expected = zeebe_files()
    else:
        expected = writer_files(id.partition)
        count = sum(len(files) for files in expected.values())
        size = sum(len(data) for files in expected.values() for data in files.values())
        if (info.file_count, info.total_size) != (count, size):
            raise StepFailed(f"status: {info.file_count} files of {info.total_size} bytes, expected {count} of {size}")
        if info.user_metadata.get("binding") != writer:
            raise StepFailed(f"metadata {info.user_metadata}, expected binding={writer}")
    report = store.verify(id, deep=True)
    if not report.ok:
        raise StepFailed("verify --deep: " + "; ".join(f"{p.key}: {p.kind}" for p in report.problems))
    with tempfile.TemporaryDirectory() as target:
        store.restore(id, target, root_set=None)  # every set in its own directory
        try:
            compare_tree(Path(target), {f"{s}/{n}": d for s, files in expected.items() for n, d in files.items()})
        except StepFailed as e:
            raise StepFailed(f"restore: {e}") from None
    return info


def read(store: s3keep.BackupStore, expect: List[str]) -> bool:
    try:
        listed = store.list()
    except s3keep.S3KeepError as e:
        print(f"interop read {ME}: FAILED: list: {type(e).__name__}: {e}")
        print("0 passed, 1 failed, 0 skipped")
        return False
    names: Dict[int, str] = {i: n for n, i in BINDINGS.items()}
    names[ZEEBE_PARTITION] = "zeebe"
    passed = failed = 0
    seen = set()
    for info in listed:
        writer = names.get(info.id.partition)
        if writer is None:
            continue  # backups of other partitions are ignored
        seen.add(writer)
        try:
            status = read_one(store, info.id, writer)
        except (StepFailed, s3keep.S3KeepError) as e:
            failed += 1
            what = str(e) if isinstance(e, StepFailed) else f"{type(e).__name__}: {e}"
            print(f"interop {writer} -> {ME}: FAILED: {what}")
        else:
            passed += 1
            print(f"interop {writer} -> {ME}: ok")
            print(f"interop status-json {writer} -> {ME}: {json.dumps(status.to_dict(), ensure_ascii=False)}")
    for writer in expect:
        if writer not in seen:
            failed += 1
            print(f"interop {writer} -> {ME}: FAILED: no backup of {writer} in the bucket")
    print(f"{passed} passed, {failed} failed, 0 skipped")
    return failed == 0


def main() -> int:
    bucket = os.environ.get("S3KEEP_INTEROP_BUCKET", "")
    phase = os.environ.get("S3KEEP_INTEROP_PHASE", "")
    if not bucket or phase not in ("write", "read"):
        print("interop.py needs S3KEEP_INTEROP_BUCKET and S3KEEP_INTEROP_PHASE=write|read", file=sys.stderr)
        return 2
    expect = [w.strip() for w in os.environ.get("S3KEEP_INTEROP_EXPECT", "").split(",") if w.strip()]
    store = open_store(bucket)
    ok = write(store) if phase == "write" else read(store, expect)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
