"""Uses the whole public API with precise types; test_typing.py runs `mypy --strict` on it so
the stubs (s3keep/_s3keep.pyi) cannot drift from what the code accepts and returns.
It is type-checked only, never run (it needs no server)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, Optional

import s3keep
from s3keep import (
    AbortedUpload,
    BackupId,
    BackupInfo,
    BackupStore,
    CheckReport,
    CheckResult,
    CleanupReport,
    PlanEntry,
    PruneReport,
    RestoreReport,
    RetentionPolicy,
    VerifyProblem,
    VerifyReport,
)
from s3keep._s3keep import cli_main


def stores() -> list[BackupStore]:
    return [
        BackupStore(
            "bucket",
            prefix="p/",
            endpoint="http://127.0.0.1:9000",
            region="us-east-1",
            access_key_id="id",
            secret_access_key="secret",
            session_token=None,
            create_bucket=True,
            concurrency=8,
            part_size=16 * 1024 * 1024,
            multipart_threshold=16 * 1024 * 1024,
            max_attempts=5,
            connect_timeout=dt.timedelta(seconds=10),
            request_timeout=300.0,
            addressing="path",
            checksum="crc32c",
            signed_payload=False,
            stale_after=dt.timedelta(hours=24),
            single_writer=False,
        ),
        BackupStore.from_url("s3://bucket/prefix?endpoint=http://127.0.0.1:9000", create_bucket=True),
        BackupStore.from_url("s3://bucket/prefix", bucket="other", part_size="32MiB", stale_after="2d"),
        BackupStore.from_env(),
        BackupStore.from_env("bucket", prefix="x", max_elapsed="90s", profile="prod", request_timeout=None),
    ]


def effective(store: BackupStore) -> str:
    report = store.config()
    sources: dict[str, str] = report["sources"]
    return f"{report['partSize']} {report['concurrency'] + 1} {report['endpoint']} {sources}"


def ids() -> list[BackupId]:
    a = BackupId(1, 1700000000000, 0)
    b = BackupId.parse("1/1700000000001/0")
    c = BackupId.now(partition=2)
    parts: tuple[int, int, int] = (a.partition, a.checkpoint, a.node)
    assert parts and a < b and {a: str(a)}[a] == "1/1700000000000/0"
    return sorted([c, b, a])


def show(info: BackupInfo) -> str:
    created: Optional[dt.datetime] = info.created_at
    updated: Optional[dt.datetime] = info.updated_at
    size: Optional[int] = info.total_size
    count: Optional[int] = info.file_count
    meta: dict[str, str] = info.user_metadata
    reason: Optional[str] = info.failure_reason
    writer: Optional[str] = info.writer
    status: str = info.status
    if info.status == "COMPLETED":
        pass
    doc: dict[str, Any] = info.to_dict()  # the JSON document `s3keep status --json` prints
    return f"{info.id} {status} {created} {updated} {size} {count} {meta} {reason} {writer} {doc}"


def progress(bytes_done: int, bytes_total: int, files_done: int, files_total: int) -> None:
    print(bytes_done, bytes_total, files_done, files_total)


def sync_api(store: BackupStore, tmp: Path) -> None:
    id = BackupId(0, 1, 0)
    saved: BackupInfo = store.save(
        id,
        {
            "files": tmp / "dir",
            "segments": [tmp / "1.log", str(tmp / "2.log")],
            "blob": b"bytes",
            "named": {"a/b.txt": b"x", "c.txt": tmp / "c.txt"},
            "single": "relative/path",
        },
        metadata={"k": "v"},
        descriptor={"checkpoint_position": 1234, "number_of_partitions": 3, "snapshot_id": "1-2-3-4"},
        progress=progress,
    )
    show(saved)
    show(store.status("0/1/0"))
    listed: list[BackupInfo] = store.list(partition=0, checkpoint=None, node=0)
    for info in listed:
        show(info)
    summary: RestoreReport = store.restore(id, tmp / "out", sets=["files"], root_set=None, progress=progress)
    counts: tuple[int, int, int] = (summary.files_restored, summary.files_skipped, summary.bytes_restored)
    restored: BackupId = summary.id
    failed: BackupInfo = store.mark_failed(id, "reason")
    deleted: int = store.delete(id, force=True)
    report: VerifyReport = store.verify(id, deep=True)
    problems: tuple[VerifyProblem, ...] = report.problems
    for problem in problems:
        expected: int | str | None = problem.expected
        print(problem.key, problem.kind, expected, problem.actual, report.ok, report.files_checked, report.bytes_checked)
    deep: bool = report.deep
    policy = RetentionPolicy(
        keep_last=3,
        keep_hourly=None,
        keep_daily=7,
        keep_weekly=4,
        keep_monthly=12,
        keep_yearly=1,
        keep_within=dt.timedelta(days=2),
        prune_failed=True,
        prune_stale=True,
        stale_after=dt.timedelta(hours=24),
    )
    within: Optional[dt.timedelta] = policy.keep_within
    plan: PruneReport = store.prune(policy, dry_run=True)
    entries: tuple[PlanEntry, ...] = plan.to_delete + plan.to_keep + plan.entries
    for entry in plan:
        when: dt.datetime = entry.created_at
        rules: tuple[str, ...] = entry.matched
        print(entry.id, entry.status, entry.action, entry.reason, when, rules)
    gone: tuple[BackupId, ...] = plan.deleted
    for bad_id, error in plan.failed:
        print(bad_id.checkpoint, error)
    cleaned: CleanupReport = store.cleanup_uploads(dt.timedelta(hours=1))
    uploads: tuple[AbortedUpload, ...] = cleaned.aborted
    for upload in cleaned:
        initiated: Optional[dt.datetime] = upload.initiated_at
        print(upload.key, upload.upload_id, initiated, cleaned.cutoff_at)
    doctor: CheckReport = store.check()
    checks: tuple[CheckResult, ...] = doctor.checks
    for check in doctor:
        print(check.name, check.state, check.message, check.hint, check.code)
    print(doctor.ok, doctor.endpoint, doctor.bucket, doctor.prefix, doctor.to_dict(), plan.to_dict(), uploads, checks)
    print(counts, restored, deep, failed, deleted, within, entries, gone, len(plan), plan.dry_run, store.bucket, store.prefix, store.endpoint, store.region)


async def async_api(store: BackupStore, tmp: Path) -> None:
    first, second = await asyncio.gather(
        store.save_async("0/1/0", {"files": tmp}, progress=progress),
        store.save_async(BackupId(0, 2, 0), {"files": [tmp / "f"]}, metadata={"a": "b"}),
    )
    show(first)
    show(second)
    show(await store.status_async("0/1/0"))
    listed: list[BackupInfo] = await store.list_async(partition=0)
    summary: RestoreReport = await store.restore_async("0/1/0", tmp / "out", sets=None, progress=progress)
    marked: BackupInfo = await store.mark_failed_async("0/2/0", "reason")
    deleted: int = await store.delete_async("0/2/0", force=False)
    report: VerifyReport = await store.verify_async("0/1/0", deep=False)
    plan: PruneReport = await store.prune_async(RetentionPolicy(keep_last=1), dry_run=False)
    uploads: CleanupReport = await store.cleanup_uploads_async(older_than=3600)
    checks: CheckReport = await store.check_async()
    print(listed, summary, marked, deleted, report, plan, uploads, checks)


def errors(store: BackupStore, tmp: Path) -> None:
    try:
        store.restore("0/1/0", tmp)
    except s3keep.NotFound as e:
        code: Optional[str] = e.code
        status: Optional[int] = e.status
        request_id: Optional[str] = e.request_id
        key: Optional[str] = e.key
        print(code, status, request_id, key, e.hint, e.endpoint)
    except (s3keep.BackupNotCompleted, s3keep.NoSuchBucket, s3keep.InvalidCredentials, s3keep.AccessDenied) as e:
        print(e.code)
    except (s3keep.BackupAlreadyExists, s3keep.ClockSkew, s3keep.Throttled, s3keep.Network, s3keep.Timeout) as e:
        print(e.status)
    except (s3keep.InvalidInput, s3keep.Integrity, s3keep.Conflict, s3keep.Io, s3keep.Cancelled) as e:
        print(e.key)
    except (s3keep.Redirect, s3keep.S3Error) as e:
        print(e.key)
    except s3keep.S3KeepError as e:
        print(e.request_id)
    except LookupError:
        pass


def cli() -> int:
    version: str = s3keep.__version__
    return cli_main(["s3keep", "--version", version])
