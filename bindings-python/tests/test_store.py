"""Every BackupStore method, blocking form, against the harness MinIO."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest

import s3keep
from s3keep import BackupId, RetentionPolicy
from s3keep_test_helpers import MiB, big_file, multipart_uploads, read_tree, store_keys, write_tree

UTC = dt.timezone.utc


def test_save_then_restore_a_directory_gives_an_identical_tree(store: s3keep.BackupStore, tree: Path, tmp_path: Path) -> None:
    id = BackupId(0, 1, 0)
    saved = store.save(id, {"files": tree}, metadata={"host": "db1", "kind": "nightly"})
    assert saved.status == "COMPLETED"
    assert saved.file_count == 4
    assert saved.total_size == sum(len(v) for v in read_tree(tree).values())
    assert saved.user_metadata == {"host": "db1", "kind": "nightly"}

    summary = store.restore(id, tmp_path / "out")
    assert read_tree(tmp_path / "out") == read_tree(tree)
    assert (summary.files_restored, summary.files_skipped) == (4, 0)
    assert summary.bytes_restored == saved.total_size

    again = store.restore(id, str(tmp_path / "out"))  # resumable: nothing left to download
    assert (again.files_restored, again.files_skipped, again.bytes_restored) == (0, 4, 0)


def test_status_reports_utc_timestamps_size_and_metadata(store: s3keep.BackupStore, tree: Path) -> None:
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)
    store.save("0/2/0", {"files": str(tree)}, metadata={"k": "v"})
    info = store.status(BackupId(0, 2, 0))
    assert info.id == BackupId(0, 2, 0)
    assert info.status == "COMPLETED"
    assert info.failure_reason is None
    assert info.created_at is not None and info.updated_at is not None
    assert info.created_at.tzinfo is UTC and info.updated_at.tzinfo is UTC
    assert before <= info.created_at <= info.updated_at <= dt.datetime.now(UTC) + dt.timedelta(seconds=5)
    assert info.writer is not None and info.writer.startswith("s3keep/")
    assert info.file_count == 4 and info.user_metadata == {"k": "v"}

    missing = store.status("0/3/0")
    assert missing.status == "DOES_NOT_EXIST" and missing.created_at is None


def test_save_accepts_paths_lists_bytes_and_named_files(store: s3keep.BackupStore, tree: Path, tmp_path: Path) -> None:
    seg1 = write_tree(tmp_path / "segs", {"1.log": b"one", "2.log": b"two"})
    extra_dir = write_tree(tmp_path / "extra", {"x/y.txt": b"why"})
    file_sets: dict[str, Any] = {
        "files": tree,
        "segments": [seg1 / "1.log", str(seg1 / "2.log"), extra_dir],
        "blob": b"raw bytes",
        "named": {"deep/name.bin": bytearray(b"\x00\x01"), "copy.txt": tree / "top.txt"},
        "single": tree / "top.txt",
    }
    info = store.save(BackupId(1, 10, 2), file_sets)
    assert info.file_count == 4 + 3 + 1 + 2 + 1

    store.restore("1/10/2", tmp_path / "out")
    got = read_tree(tmp_path / "out")
    assert {k: got[k] for k in read_tree(tree)} == read_tree(tree)  # `files` at the root
    assert got["segments/1.log"] == b"one" and got["segments/2.log"] == b"two"
    assert got["segments/extra/x/y.txt"] == b"why"
    assert got["blob/blob"] == b"raw bytes"
    assert got["named/deep/name.bin"] == b"\x00\x01" and got["named/copy.txt"] == b"top level\n"
    assert got["single/top.txt"] == b"top level\n"


def test_restore_selected_sets_and_root_set(store: s3keep.BackupStore, tmp_path: Path) -> None:
    store.save("0/1/0", {"snapshot": {"s.db": b"S"}, "segments": {"1.log": b"L"}})
    store.restore("0/1/0", tmp_path / "only", sets=["segments"], root_set="segments")
    assert read_tree(tmp_path / "only") == {"1.log": b"L"}
    store.restore("0/1/0", tmp_path / "all", root_set=None)
    assert read_tree(tmp_path / "all") == {"snapshot/s.db": b"S", "segments/1.log": b"L"}
    with pytest.raises(s3keep.InvalidInput):
        store.restore("0/1/0", tmp_path / "bad", sets=["nope"])


def test_large_file_goes_by_multipart_and_verifies_deep_format1(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tmp_path: Path) -> None:
    # Format 1 (one object per file): the file itself is uploaded in parts.
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=4, format=1)
    src = big_file(tmp_path / "src" / "big.bin", 12 * MiB + 123)
    store.save("0/1/0", {"files": src.parent})
    head = s3.head_object(Bucket=bucket_name, Key="0/1/0/files/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    report = store.verify("0/1/0", deep=True)
    assert report.ok and report.files_checked == 1 and report.bytes_checked == 12 * MiB + 123
    store.restore("0/1/0", tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == src.read_bytes()
    assert multipart_uploads(s3, bucket_name) == []


def test_large_file_goes_into_a_multipart_pack_and_verifies_deep_format2(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tmp_path: Path) -> None:
    # Format 2 (the default): the file's chunks fill one pack (target 16 MiB), uploaded in
    # 5 MiB parts while it fills; random bytes, so zstd leaves them as they are.
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=4)
    src = big_file(tmp_path / "src" / "big.bin", 12 * MiB + 123)
    store.save("0/1/0", {"files": src.parent})
    packs = [k for k in store_keys(s3, bucket_name) if k.startswith("data/")]
    assert len(packs) == 1, packs
    head = s3.head_object(Bucket=bucket_name, Key=packs[0])
    assert head["ContentLength"] > 12 * MiB + 123 and head["ETag"].strip('"').endswith("-3")  # three parts
    assert not any(k.startswith("0/1/0/files/") for k in store_keys(s3, bucket_name))
    report = store.verify("0/1/0", deep=True)
    assert report.ok and report.files_checked == 1 and report.bytes_checked == 12 * MiB + 123
    store.restore("0/1/0", tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == src.read_bytes()
    assert multipart_uploads(s3, bucket_name) == []


@pytest.mark.parametrize("format", [1, 2], ids=["format1", "format2"])
def test_save_writes_the_zeebe_descriptor_into_metadata_json(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, format: int) -> None:
    store = make_store(prefix="backups/", format=format)
    store.save("2/5/1", {"snapshot": {"CURRENT": b"MANIFEST-000001\n"}},
               descriptor={"checkpoint_position": 1234, "number_of_partitions": 3, "snapshot_id": "1-2-3-4"})
    doc = json.loads(s3.get_object(Bucket=bucket_name, Key="backups/2/5/1/metadata.json")["Body"].read())
    assert (doc["checkpointPosition"], doc["numberOfPartitions"], doc["snapshotId"]) == (1234, 3, "1-2-3-4")
    if format == 1:  # Zeebe's layout: the snapshot's file names, each file its own object
        assert doc["snapshotFileNames"] == ["CURRENT"]
        assert s3.get_object(Bucket=bucket_name, Key="backups/2/5/1/snapshot/CURRENT")["Body"].read() == b"MANIFEST-000001\n"
    else:  # a summary: the files are in the manifest
        assert (doc["formatVersion"], doc["fileSets"], doc["fileCount"]) == (2, {}, 1)
        assert "snapshotFileNames" not in doc
    with pytest.raises(s3keep.InvalidInput):
        store.save("2/6/1", {"files": b"x"}, descriptor={"checkpointPosition": 1})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(s3keep.InvalidInput):
        store.save("2/6/1", {"files": b"x"}, descriptor={"number_of_partitions": -1})
    assert store.status("2/6/1").status == "DOES_NOT_EXIST"


def test_list_filters_and_sorts(store: s3keep.BackupStore) -> None:
    for p, c, n in [(2, 5, 0), (1, 7, 1), (1, 3, 0), (1, 5, 0), (2, 3, 1)]:
        store.save(BackupId(p, c, n), {"files": {"f": b"x"}})
    ids = [str(b.id) for b in store.list()]
    assert ids == ["1/3/0", "1/5/0", "1/7/1", "2/5/0", "2/3/1"]  # (partition, node, checkpoint)
    assert [str(b.id) for b in store.list(partition=1)] == ["1/3/0", "1/5/0", "1/7/1"]
    assert [str(b.id) for b in store.list(checkpoint=5)] == ["1/5/0", "2/5/0"]
    assert [str(b.id) for b in store.list(node=1)] == ["1/7/1", "2/3/1"]
    assert [str(b.id) for b in store.list(partition=2, node=1)] == ["2/3/1"]
    assert all(b.status == "COMPLETED" and b.created_at is not None for b in store.list())


def test_mark_failed_turns_in_progress_into_failed(store: s3keep.BackupStore, s3: Any, bucket_name: str) -> None:
    # A writer that died: IN_PROGRESS status only.
    store.save("0/1/0", {"files": {"f": b"x"}})
    s3.put_object(Bucket=bucket_name, Key="backups/0/2/0/status.json",
                  Body=b'{"statusCode":"IN_PROGRESS","failureReason":null}')
    info = store.mark_failed("0/2/0", "writer died")
    assert info.status == "FAILED" and info.failure_reason == "writer died"
    assert store.status("0/2/0").status == "FAILED"
    with pytest.raises(s3keep.Conflict):
        store.mark_failed("0/1/0", "too late")  # COMPLETED is never turned into FAILED
    with pytest.raises(s3keep.NotFound):
        store.mark_failed("0/9/0", "nothing there")


def test_delete_removes_every_object_format1(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tree: Path) -> None:
    store = make_store(prefix="backups/", format=1)  # one object per file
    store.save("0/1/0", {"files": tree})
    store.save("0/2/0", {"files": tree})
    deleted = store.delete(BackupId(0, 1, 0))
    assert deleted == 4 + 2  # files, metadata.json, status.json
    keys = store_keys(s3, bucket_name)
    assert keys and all(k.startswith("backups/0/2/0/") for k in keys)
    assert store.status("0/1/0").status == "DOES_NOT_EXIST"
    with pytest.raises(s3keep.NotFound):
        store.delete("0/1/0")


def test_delete_removes_every_object_of_the_backup_format2(store: s3keep.BackupStore, s3: Any, bucket_name: str, tree: Path) -> None:
    # Format 2 (the default): a backup's own objects are its manifest, metadata.json and
    # status.json; the packs and index objects it shares stay for prune to collect.
    store.save("0/1/0", {"files": tree})
    store.save("0/2/0", {"files": tree})
    before = store_keys(s3, bucket_name)
    own = sorted(k for k in before if k.startswith("backups/0/1/0/"))
    assert own == ["backups/0/1/0/manifest.json.zst", "backups/0/1/0/metadata.json", "backups/0/1/0/status.json"]
    assert store.delete(BackupId(0, 1, 0)) == 3
    after = store_keys(s3, bucket_name)
    assert sorted(after) == sorted(set(before) - set(own))
    assert any(k.startswith("backups/data/") for k in after) and "backups/s3keep.json" in after
    assert store.status("0/1/0").status == "DOES_NOT_EXIST"
    assert store.verify("0/2/0", deep=True).ok  # the packs it shared are still there
    with pytest.raises(s3keep.NotFound):
        store.delete("0/1/0")


def test_delete_refuses_a_fresh_in_progress_backup_unless_forced(store: s3keep.BackupStore, s3: Any, bucket_name: str) -> None:
    store.save("0/0/0", {"files": {"f": b"x"}})  # creates the bucket
    now = dt.datetime.now(UTC).isoformat().replace("+00:00", "Z")
    s3.put_object(Bucket=bucket_name, Key="backups/0/1/0/status.json",
                  Body=f'{{"statusCode":"IN_PROGRESS","failureReason":null,"createdAt":"{now}","updatedAt":"{now}"}}'.encode())
    with pytest.raises(s3keep.Conflict):
        store.delete("0/1/0")
    assert store.delete("0/1/0", force=True) >= 1
    assert store.status("0/1/0").status == "DOES_NOT_EXIST"


def test_verify_reports_missing_and_damaged_files_format1(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tree: Path) -> None:
    store = make_store(prefix="backups/", format=1)  # one object per file, damaged one by one
    store.save("0/1/0", {"files": tree})
    assert store.verify("0/1/0").ok
    s3.delete_object(Bucket=bucket_name, Key="backups/0/1/0/files/top.txt")
    s3.put_object(Bucket=bucket_name, Key="backups/0/1/0/files/a/empty", Body=b"now longer")
    original = (tree / "d" / "e.txt").read_bytes()
    s3.put_object(Bucket=bucket_name, Key="backups/0/1/0/files/d/e.txt", Body=bytes(len(original)))

    shallow = store.verify("0/1/0")
    assert not shallow.ok and shallow.files_checked == 4
    kinds = {p.key.rsplit("/files/", 1)[1]: (p.kind, p.expected, p.actual) for p in shallow.problems}
    assert kinds == {"top.txt": ("missing", None, None), "a/empty": ("size-mismatch", 0, 10)}

    deep = store.verify(BackupId(0, 1, 0), deep=True)
    by_kind = {p.kind for p in deep.problems}
    assert by_kind == {"missing", "size-mismatch", "checksum-mismatch"}
    checksum = next(p for p in deep.problems if p.kind == "checksum-mismatch")
    assert checksum.key.endswith("d/e.txt") and isinstance(checksum.expected, str)
    assert "checksum mismatch" in str(checksum)


def test_verify_reports_missing_and_damaged_packs_format2(store: s3keep.BackupStore, s3: Any, bucket_name: str) -> None:
    # Format 2 (the default): three backups of different random files, one pack each,
    # each pack damaged in its own way behind s3keep's back.
    packs: list[str] = []
    for checkpoint in (1, 2, 3):
        before = set(store_keys(s3, bucket_name, "backups/data/"))
        store.save(BackupId(0, checkpoint, 0), {"files": {"f.bin": os.urandom(100_000)}})
        new = sorted(set(store_keys(s3, bucket_name, "backups/data/")) - before)
        assert len(new) == 1, new
        packs.append(new[0])
        assert store.verify(BackupId(0, checkpoint, 0), deep=True).ok
    lengths = [s3.head_object(Bucket=bucket_name, Key=k)["ContentLength"] for k in packs]
    s3.delete_object(Bucket=bucket_name, Key=packs[0])
    s3.put_object(Bucket=bucket_name, Key=packs[1], Body=b"now longer" * 20_000)
    s3.put_object(Bucket=bucket_name, Key=packs[2], Body=bytes(lengths[2]))  # same length, zeros

    def problems(id: str, deep: bool) -> list[tuple[str, str]]:
        report = store.verify(id, deep=deep)
        assert report.files_checked == 1 and report.ok == (not report.problems)
        return [(p.key, p.kind) for p in report.problems]

    assert problems("0/1/0", deep=False) == [(packs[0], "missing")]
    assert problems("0/2/0", deep=False) == [(packs[1], "size-mismatch")]
    assert problems("0/3/0", deep=False) == []  # a shallow verify only compares lengths
    assert problems("0/3/0", deep=True) == [(packs[2], "corrupt")]
    size = store.verify("0/2/0").problems[0]
    assert (size.expected, size.actual) == (lengths[1], 200_000)
    corrupt = store.verify("0/3/0", deep=True).problems[0]
    assert packs[2] in str(corrupt)
def test_prune_plans_then_deletes(store: s3keep.BackupStore, s3: Any, bucket_name: str) -> None:
    for checkpoint in (1, 2, 3, 4):
        store.save(BackupId(0, checkpoint, 0), {"files": {"f": b"x"}})
    s3.put_object(Bucket=bucket_name, Key="backups/0/5/0/status.json",
                  Body=b'{"statusCode":"FAILED","failureReason":"disk full"}')
    policy = RetentionPolicy(keep_last=2, prune_failed=True)

    plan = store.prune(policy)  # dry run by default
    assert plan.dry_run and plan.deleted == () and len(plan) == 5
    decisions = {str(e.id): (e.action, e.reason) for e in plan}
    assert decisions == {
        "0/1/0": ("delete", "no-rule-matched"),
        "0/2/0": ("delete", "no-rule-matched"),
        "0/3/0": ("keep", "keep-last"),
        "0/4/0": ("keep", "keep-last"),
        "0/5/0": ("delete", "failed"),
    }
    assert [str(e.id) for e in plan.to_keep] == ["0/3/0", "0/4/0"]
    assert all(e.created_at.tzinfo is UTC for e in plan.entries)
    assert plan.entries[2].matched == ("keep-last",)
    assert len(store.list()) == 5

    done = store.prune(policy, dry_run=False)
    assert not done.dry_run and done.failed == ()
    assert sorted(str(i) for i in done.deleted) == ["0/1/0", "0/2/0", "0/5/0"]
    assert [str(b.id) for b in store.list()] == ["0/3/0", "0/4/0"]


def test_an_empty_policy_deletes_nothing(store: s3keep.BackupStore) -> None:
    store.save("0/1/0", {"files": {"f": b"x"}})
    store.save("0/2/0", {"files": {"f": b"x"}})
    plan = store.prune(RetentionPolicy(), dry_run=False)
    assert plan.deleted == () and {e.reason for e in plan} == {"empty-policy"}
    assert len(store.list()) == 2


def test_cleanup_uploads_aborts_orphaned_multipart_uploads(store: s3keep.BackupStore, s3: Any, bucket_name: str) -> None:
    store.save("0/1/0", {"files": {"f": b"x"}})
    orphan = s3.create_multipart_upload(Bucket=bucket_name, Key="backups/0/2/0/files/big")
    outside = s3.create_multipart_upload(Bucket=bucket_name, Key="elsewhere/big")
    assert store.cleanup_uploads(dt.timedelta(hours=1)).aborted == ()  # too young
    report = store.cleanup_uploads(older_than=0)
    assert [(u.key, u.upload_id) for u in report] == [("backups/0/2/0/files/big", orphan["UploadId"])]
    initiated = report.aborted[0].initiated_at
    assert initiated is not None and initiated.tzinfo is UTC and initiated <= report.cutoff_at
    left = [u["UploadId"] for u in multipart_uploads(s3, bucket_name)]
    assert left == [outside["UploadId"]]  # only the store's prefix is touched


def test_check_probes_endpoint_credentials_bucket_and_objects(store: s3keep.BackupStore, make_store: Callable[..., s3keep.BackupStore]) -> None:
    store.save("0/1/0", {"files": {"f": b"x"}})  # creates the bucket
    report = store.check()
    assert report.ok and report.bucket == store.bucket and report.prefix == "backups/"
    results = report.checks
    names = [r.name for r in results]
    assert names[:3] == ["endpoint", "credentials", "bucket"]
    assert {"put", "get", "list", "delete", "clock"} <= set(names)
    assert all(r.state in ("ok", "warning") for r in results), results

    bad = make_store(secret_access_key="wrong-secret").check()
    assert not bad.ok
    states = {r.name: r.state for r in bad}
    assert states["endpoint"] == "ok" and states["credentials"] == "failed"
    failed = next(r for r in bad if r.name == "credentials")
    assert failed.hint and failed.code == "SignatureDoesNotMatch"


def test_from_url_and_from_env_reach_the_same_store(minio: Any, bucket_name: str, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"s3://{bucket_name}/via-url?endpoint={minio.endpoint}&region={minio.region}"
    by_url = s3keep.BackupStore.from_url(url, access_key_id=minio.access_key,
                                         secret_access_key=minio.secret_key, create_bucket=True)
    assert (by_url.bucket, by_url.prefix, by_url.endpoint, by_url.region) == (bucket_name, "via-url/", minio.endpoint, minio.region)
    by_url.save("0/1/0", {"files": tree})

    for key in list(os.environ):
        if key.startswith(("AWS_", "S3KEEP_")) and not key.startswith("S3KEEP_TEST"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("S3KEEP_URL", f"s3://{bucket_name}/via-url")
    monkeypatch.setenv("AWS_ENDPOINT_URL", minio.endpoint)
    monkeypatch.setenv("AWS_REGION", minio.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", minio.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", minio.secret_key)
    by_env = s3keep.BackupStore.from_env()
    assert (by_env.bucket, by_env.prefix, by_env.endpoint) == (bucket_name, "via-url/", minio.endpoint)
    assert by_env.status("0/1/0").status == "COMPLETED"

    # The plain constructor reads the same AWS variables for what it is not given.
    assert s3keep.BackupStore(bucket_name, prefix="via-url").status("0/1/0").status == "COMPLETED"

    monkeypatch.delenv("S3KEEP_URL")
    with pytest.raises(s3keep.InvalidInput):
        s3keep.BackupStore.from_env()
    monkeypatch.setenv("S3KEEP_BUCKET", bucket_name)
    monkeypatch.setenv("S3KEEP_PREFIX", "via-url")
    assert s3keep.BackupStore.from_env().status("0/1/0").status == "COMPLETED"


def test_repr_shows_where_but_never_secrets(minio: Any) -> None:
    store = s3keep.BackupStore("my-bucket", prefix="/a/b", endpoint=minio.endpoint,
                               access_key_id="AKIDEXAMPLE", secret_access_key="wJalrXUtnFEMI-SECRET",
                               session_token="SESSION-TOKEN-123")
    text = repr(store)
    assert "my-bucket" in text and "a/b/" in text and minio.endpoint in text and "AKIDEXAMPLE" in text
    assert "wJalrXUtnFEMI" not in text and "SESSION-TOKEN" not in text
    assert "SECRET" not in str(store)


def test_python_values_become_the_core_option_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("AWS_", "S3KEEP_")) and not key.startswith("S3KEEP_TEST"):
            monkeypatch.delenv(key)
    store = s3keep.BackupStore("my-bucket", part_size=5 * MiB, multipart_threshold="100MB", request_timeout=1.5,
                               connect_timeout=3, stale_after=dt.timedelta(hours=2, milliseconds=7),
                               create_bucket=True, concurrency=2, signed_payload="true", max_elapsed="1h30m")
    config = store.config()
    assert (config["partSize"], config["multipartThreshold"]) == ("5MiB", "100MB")
    assert (config["requestTimeout"], config["connectTimeout"], config["staleAfter"]) == ("1s500ms", "3s", "2h7ms")
    assert (config["createBucket"], config["concurrency"], config["signedPayload"], config["maxElapsed"]) == (True, 2, True, "1h30m")
    assert config["sources"]["partSize"] == "option" and "region" not in config["sources"]
    monkeypatch.setenv("S3KEEP_STALE_AFTER", "3d")
    assert s3keep.BackupStore("my-bucket").config()["staleAfter"] == "3d"
    with pytest.raises(TypeError, match="part_size must be an int"):
        s3keep.BackupStore("my-bucket", part_size=1.5)  # type: ignore[arg-type]
    with pytest.raises(s3keep.InvalidInput, match=r'^request_timeout: "-2000ms" has a sign'):
        s3keep.BackupStore("my-bucket", request_timeout=-2.0)
    with pytest.raises(s3keep.InvalidInput, match=r'^stale_after: "16" has no unit'):
        s3keep.BackupStore("my-bucket", stale_after="16")


def test_unknown_or_inconsistent_options_are_refused() -> None:
    with pytest.raises(TypeError, match="prefx"):
        s3keep.BackupStore("my-bucket", prefx="x")  # type: ignore[call-arg]
    with pytest.raises(s3keep.InvalidInput):
        s3keep.BackupStore("my-bucket", access_key_id="only-the-id")
    with pytest.raises(s3keep.InvalidInput):
        s3keep.BackupStore("my-bucket", part_size=1024)  # below S3's 5 MiB
    with pytest.raises(s3keep.InvalidInput):
        s3keep.BackupStore("my-bucket", addressing="sideways")  # type: ignore[arg-type]
    with pytest.raises(s3keep.InvalidInput):
        s3keep.BackupStore("Not_A_Bucket!")
    with pytest.raises(s3keep.InvalidInput):
        s3keep.BackupStore.from_url("http://not-s3/")


def test_results_are_immutable_hashable_and_readable(store: s3keep.BackupStore) -> None:
    info = store.save("0/1/0", {"files": {"f": b"xyz"}}, metadata={"a": "b"})
    with pytest.raises(AttributeError):
        info.status = "FAILED"  # type: ignore[misc]
    info.user_metadata["a"] = "changed"
    assert info.user_metadata == {"a": "b"}
    assert repr(info).startswith("BackupInfo(id='0/1/0', status='COMPLETED', created_at='20")
    assert "file_count=1, total_size=3" in repr(info)

    id = BackupId(3, 1700000000000, 1)
    assert repr(id) == "BackupId(partition=3, checkpoint=1700000000000, node=1)"
    assert str(id) == "3/1700000000000/1" and BackupId.parse(str(id)) == id
    assert {id: 1}[BackupId(3, 1700000000000, 1)] == 1
    assert sorted([BackupId(1, 2, 0), BackupId(0, 9, 9), BackupId(1, 1, 5)]) == [BackupId(0, 9, 9), BackupId(1, 1, 5), BackupId(1, 2, 0)]
    with pytest.raises(AttributeError):
        id.node = 2  # type: ignore[misc]
    assert BackupId.now().checkpoint > 1_700_000_000_000

    policy = RetentionPolicy(keep_daily=7, keep_within=dt.timedelta(days=2))
    assert repr(policy) == "RetentionPolicy(keep_daily=7, keep_within=datetime.timedelta(days=2))"
    assert policy.keep_within == dt.timedelta(days=2) and policy.stale_after is None
    assert RetentionPolicy().is_empty and not policy.is_empty
    assert policy == RetentionPolicy(keep_daily=7, keep_within=172800)
