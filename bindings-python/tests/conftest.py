"""Fixtures of the Python binding's tests: a store on a fresh bucket of the harness MinIO
(`minio` and `bucket_name` come from the repository's root conftest.py), a boto3 client to
look behind s3keep's back, and small directory trees to save."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

import s3keep

from s3keep_test_helpers import write_tree


@pytest.fixture
def s3(minio: Any) -> Any:
    """A boto3 S3 client on the harness MinIO."""
    return boto3.client(
        "s3",
        endpoint_url=minio.endpoint,
        aws_access_key_id=minio.access_key,
        aws_secret_access_key=minio.secret_key,
        region_name=minio.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture
def make_store(minio: Any, bucket_name: str) -> Callable[..., s3keep.BackupStore]:
    """Builds stores on this test's fresh bucket (created on first use)."""

    def make(**overrides: Any) -> s3keep.BackupStore:
        kwargs: dict[str, Any] = dict(
            endpoint=minio.endpoint,
            region=minio.region,
            access_key_id=minio.access_key,
            secret_access_key=minio.secret_key,
            create_bucket=True,
        )
        bucket = overrides.pop("bucket", bucket_name)
        kwargs.update(overrides)
        return s3keep.BackupStore(bucket, **kwargs)

    return make


@pytest.fixture
def store(make_store: Callable[..., s3keep.BackupStore]) -> s3keep.BackupStore:
    """A store on this test's fresh bucket, prefix `backups/`."""
    return make_store(prefix="backups/")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small directory tree with nested directories and an empty file."""
    return write_tree(
        tmp_path / "src",
        {
            "top.txt": b"top level\n",
            "a/b/c.bin": os.urandom(3000),
            "a/empty": b"",
            "d/e.txt": "ünïcode name content".encode(),
        },
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After a run of the conformance cases: the report of conformance/README.md, one line per
    case and `N passed, N failed, N skipped`, as every runner of the suite prints it."""
    module = sys.modules.get("test_conformance")
    report = getattr(module, "REPORT", None)
    if not report:
        return
    terminalreporter.section("conformance (conformance/README.md)")
    for _verdict, line in report:
        terminalreporter.write_line(line)
    counts = {v: sum(1 for verdict, _ in report if verdict == v) for v in ("passed", "failed", "skipped")}
    terminalreporter.write_line(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """A conformance run in which no case passed (a filter that matches nothing but skipped
    cases, a runner that skips everything) proves nothing: it fails."""
    module = sys.modules.get("test_conformance")
    report = getattr(module, "REPORT", None)
    if report and not any(verdict == "passed" for verdict, _ in report) and exitstatus == 0:
        session.exitstatus = 1
