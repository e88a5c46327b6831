"""Helpers shared by the Python binding's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import hashlib
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
    """A file of `size` pseudo-random bytes (not compressible, not all equal parts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(path.name.encode()).digest() * (MiB // 32)
    with open(path, "wb") as f:
        written = 0
        counter = 0
        while written < size:
            chunk = bytes([counter % 256]) + block[1:]
            chunk = chunk[: size - written]
            f.write(chunk)
            written += len(chunk)
            counter += 1
    return path


def multipart_uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """Every multipart upload in progress in `bucket` (none while it does not exist yet)."""
    try:
        return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))
    except s3.exceptions.NoSuchBucket:
        return []
