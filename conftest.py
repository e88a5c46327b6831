"""pytest fixtures shared by every Python test suite (tests/python, bindings-python/tests).

`minio` is one MinIO per session: the server named by S3KEEP_TEST_* when the run was started
through `scripts/minio_harness.py run -- pytest ...`, else one started here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))
import minio_harness  # type: ignore[import-not-found]  # noqa: E402


@dataclass(frozen=True)
class Minio:
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    mc_config_dir: str
    mc_alias: str

    def mc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs `mc ARGS` against this server (use the alias `self.mc_alias`)."""
        env = dict(os.environ, MC_CONFIG_DIR=self.mc_config_dir)
        return subprocess.run([str(minio_harness.tool_path("mc")), "--no-color", *args],
                              env=env, check=check, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def minio() -> Iterator[Minio]:
    e = os.environ
    if e.get("S3KEEP_TEST_ENDPOINT"):
        yield Minio(e["S3KEEP_TEST_ENDPOINT"], e["S3KEEP_TEST_ACCESS_KEY"],
                    e["S3KEEP_TEST_SECRET_KEY"], e.get("S3KEEP_TEST_REGION", "us-east-1"),
                    e.get("S3KEEP_TEST_MC_CONFIG_DIR", ""), e.get("S3KEEP_TEST_MC_ALIAS", "s3keep"))
        return
    with minio_harness.MinioServer() as m:
        yield Minio(m.endpoint, m.access_key, m.secret_key, m.region, m.mc_config_dir, m.mc_alias)


@pytest.fixture
def bucket_name() -> str:
    """A fresh random bucket name (not yet created) for one test."""
    return minio_harness.fresh_bucket_name()
