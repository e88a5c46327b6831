"""Helpers shared by the Python binding's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Writes `{relative path: content}` below `root`."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    """`{relative path: content}` of every file below `root`."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def big_file(path: Path, size: int) -> Path:
    """A file of `size` random bytes: no two parts or chunks equal, not compressible, so
    that format 2's deduplication and zstd shrink it no more than format 1 does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            block = os.urandom(min(MiB, size - written))
            f.write(block)
            written += len(block)
    return path


def store_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every object key under `prefix` in `bucket`, in ListObjectsV2 order (none while the
    bucket does not exist yet)."""
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
    except s3.exceptions.NoSuchBucket:
        return []
    return keys


def multipart_uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """Every multipart upload in progress in `bucket` (none while it does not exist yet)."""
    try:
        return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))
    except s3.exceptions.NoSuchBucket:
        return []
