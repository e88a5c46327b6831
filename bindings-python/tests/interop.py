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

Each phase also does the same with an encrypted store (prefix `interop-encrypted`, the test
age identity 1; README, "Interop", "Encrypted"): the reader also checks that another identity
is refused with `KeyWrong` and no key with `KeyMissing`.

    S3KEEP_INTEROP_BUCKET=b S3KEEP_INTEROP_PHASE=write .venv/bin/python bindings-python/tests/interop.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import s3keep

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance_runner import Harness, StepFailed, compare_tree  # noqa: E402
from generated import (BINDINGS, FIVE_MIB, IDENTITY, OTHER_IDENTITY, ZEEBE_PARTITION,  # noqa: E402
                       encrypted_files, writer_files, zeebe_files)

ME = "python"
CHECKPOINT = 1
PREFIX = "interop"
ENCRYPTED_PREFIX = "interop-encrypted"


def open_store(bucket: str) -> s3keep.BackupStore:
    h = Harness.from_env()
    return s3keep.BackupStore(bucket, prefix=PREFIX, endpoint=h.endpoint, region=h.region,
                              access_key_id=h.access_key, secret_access_key=h.secret_key,
                              part_size=FIVE_MIB, multipart_threshold=FIVE_MIB, create_bucket=True)


def open_encrypted(bucket: str, identity: Optional[str]) -> s3keep.BackupStore:
    h = Harness.from_env()
    keys = {} if identity is None else {"identity": identity}
    return s3keep.BackupStore(bucket, prefix=ENCRYPTED_PREFIX, endpoint=h.endpoint, region=h.region,
                              access_key_id=h.access_key, secret_access_key=h.secret_key, **keys)


def write(store: s3keep.BackupStore, bucket: str) -> bool:
    b = BINDINGS[ME]
    try:
        store.save(f"{b}/{CHECKPOINT}/0", writer_files(b), metadata={"binding": ME})
        open_encrypted(bucket, IDENTITY).save(f"{b}/{CHECKPOINT}/0", encrypted_files(b), metadata={"binding": ME})
    except Exception as e:
        print(f"interop write {ME}: FAILED: {type(e).__name__}: {e}")
        return False
    print(f"interop write {ME}: ok ({b}/{CHECKPOINT}/0 plain and encrypted)")
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


def read_encrypted_one(bucket: str, store: s3keep.BackupStore, id: s3keep.BackupId) -> None:
    """Raises StepFailed (or the binding's error) unless the encrypted backup reads back
    exactly with the identity, and another identity and none are refused."""
    info = store.status(id)
    if info.status != "COMPLETED":
        raise StepFailed(f"status {info.status} (expected COMPLETED)")
    # Sizes, file count and user metadata are sealed in an encrypted store (docs/FORMAT.md,
    # "Encryption"): the restore checks.
    expected = encrypted_files(id.partition)
    report = store.verify(id, deep=True)
    if not report.ok:
        raise StepFailed("verify --deep: " + "; ".join(f"{p.key}: {p.kind}" for p in report.problems))
    with tempfile.TemporaryDirectory() as target:
        store.restore(id, target, root_set=None)
        try:
            compare_tree(Path(target), {f"{s}/{n}": d for s, files in expected.items() for n, d in files.items()})
        except StepFailed as e:
            raise StepFailed(f"restore: {e}") from None
    for identity, code in ((OTHER_IDENTITY, "KeyWrong"), (None, "KeyMissing")):
        with tempfile.TemporaryDirectory() as target:
            try:
                open_encrypted(bucket, identity).restore(id, target, root_set=None)
            except s3keep.InvalidInput as e:
                if e.code != code:
                    raise StepFailed(f"restore: InvalidInput with code {e.code}, expected {code}: {e}") from None
            else:
                raise StepFailed(f"restore without the right key succeeded (expected {code})")
            if any(Path(target).iterdir()):
                raise StepFailed(f"restore refused with {code} wrote into the target")


def read_encrypted(bucket: str, expect: List[str]) -> Tuple[int, int]:
    """Reads every writer's encrypted backup; one line each; returns (passed, failed)."""
    try:
        store = open_encrypted(bucket, IDENTITY)
        listed = store.list()
    except s3keep.S3KeepError as e:
        print(f"interop-encrypted read {ME}: FAILED: list: {type(e).__name__}: {e}")
        return 0, 1
    names: Dict[int, str] = {i: n for n, i in BINDINGS.items()}
    passed = failed = 0
    seen = set()
    for info in listed:
        writer = names.get(info.id.partition)
        if writer is None:
            continue
        seen.add(writer)
        try:
            read_encrypted_one(bucket, store, info.id)
        except (StepFailed, s3keep.S3KeepError) as e:
            failed += 1
            what = str(e) if isinstance(e, StepFailed) else f"{type(e).__name__}: {e}"
            print(f"interop-encrypted {writer} -> {ME}: FAILED: {what}")
        else:
            passed += 1
            print(f"interop-encrypted {writer} -> {ME}: ok")
    for writer in expect:
        if writer != "zeebe" and writer not in seen:
            failed += 1
            print(f"interop-encrypted {writer} -> {ME}: FAILED: no encrypted backup of {writer} in the bucket")
    return passed, failed


def read(store: s3keep.BackupStore, bucket: str, expect: List[str]) -> bool:
    e_passed, e_failed = read_encrypted(bucket, expect)
    try:
        listed = store.list()
    except s3keep.S3KeepError as e:
        print(f"interop read {ME}: FAILED: list: {type(e).__name__}: {e}")
        print(f"{e_passed} passed, {e_failed + 1} failed, 0 skipped")
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
    passed, failed = passed + e_passed, failed + e_failed
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
    ok = write(store, bucket) if phase == "write" else read(store, bucket, expect)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
