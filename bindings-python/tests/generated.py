"""Generated file contents (conformance/README.md, "File contents") and the interop fixture
built from them (README, "Interop"): the files every binding's writer saves, the Zeebe
fixture, the binding indexes and the two test age identities. Standard library only, so
that the CLI's interop runner (cli/tests/interop.py, which has no `s3keep` package) shares it
with the Python runners."""

from __future__ import annotations

from typing import Dict

Files = Dict[str, Dict[str, bytes]]
"""set name -> {relative file name -> bytes}, files in case order."""

# byte[i] = (i*31 + (i>>8)*7 + (i>>16)*13 + seed*101) mod 256: every 256-byte block k is the
# block j*31 mod 256 shifted by (k*7 + (k>>8)*13 + seed*101) mod 256, so the whole file is a
# join of 256 precomputed blocks (16 MiB in a few hundredths of a second).
_BASE = bytes(j * 31 % 256 for j in range(256))
_BLOCKS = [_BASE.translate(bytes((b + c) % 256 for b in range(256))) for c in range(256)]


def generate(size: int, seed: int = 0) -> bytes:
    """The generated content `(size, seed)`."""
    blocks = (size + 255) // 256
    shift = seed * 101
    data = b"".join([_BLOCKS[(k * 7 + (k >> 8) * 13 + shift) % 256] for k in range(blocks)])
    return data[:size]


BINDINGS = {"rust": 1, "python": 2, "node": 3, "deno": 4, "bun": 5, "workerd": 6, "cli": 7}
"""Each interop writer's binding index: the partition of the backup it writes."""
ZEEBE_PARTITION = 90
FIVE_MIB = 5 * 1024 * 1024
# The test age identities 1 (the encrypted store's) and 2 (a key that opens no key object).
IDENTITY = "AGE-SECRET-KEY-1ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGSUZRZYL"
OTHER_IDENTITY = "AGE-SECRET-KEY-1YG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3Q0KAHAN"


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


def encrypted_files(b: int) -> Files:
    """The files every writer saves encrypted; `b` is its binding index."""
    return {
        "files": {"small.bin": generate(1000, b + 40), "nested/dir/ünïcode name.txt": generate(100, b + 50)},
        "segments": {"00000001.log": generate(70000, b + 60)},
    }


def zeebe_files() -> Files:
    """The Zeebe-format fixture written by the Rust writer."""
    return {
        "snapshot": {"000012.sst": generate(3000, 91), "CURRENT": b"MANIFEST-000001\n"},
        "segments": {"raft-partition-1.log": generate(70000, 92)},
    }
