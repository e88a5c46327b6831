"""The `s3keep` command installed by pip runs the Rust CLI (the same code as the binary)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import s3keep
from s3keep_test_helpers import read_tree


def s3keep_command() -> str:
    """The console script next to this interpreter (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "s3keep"
    if beside.exists():
        return str(beside)
    found = shutil.which("s3keep")
    if found is None:
        pytest.fail("the s3keep command is not installed (pip install . at the repository root)")
    return found


def run(minio: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3KEEP_"))}
    env.update(
        AWS_ACCESS_KEY_ID=minio.access_key,
        AWS_SECRET_ACCESS_KEY=minio.secret_key,
        AWS_REGION=minio.region,
    )
    return subprocess.run([s3keep_command(), *args], env=env, capture_output=True, text=True, timeout=120)


def test_pip_installed_cli_saves_and_restores(minio: Any, bucket_name: str, tree: Path, tmp_path: Path) -> None:
    url = f"s3://{bucket_name}/cli?endpoint={minio.endpoint}"
    saved = run(minio, "--url", url, "--create-bucket", "--json", "save", "0/42/0", str(tree), "--meta", "by=cli")
    assert saved.returncode == 0, saved.stderr
    doc = json.loads(saved.stdout)
    assert (doc["partition"], doc["checkpoint"], doc["node"], doc["status"]) == (0, "42", 0, "COMPLETED")

    restored = run(minio, "restore", "0/42/0", str(tmp_path / "out"), "--url", url, "--quiet")
    assert restored.returncode == 0, restored.stderr
    assert read_tree(tmp_path / "out") == read_tree(tree)

    # The same backup, seen from Python.
    store = s3keep.BackupStore.from_url(url, access_key_id=minio.access_key, secret_access_key=minio.secret_key)
    info = store.status("0/42/0")
    assert info.status == "COMPLETED" and info.user_metadata == {"by": "cli"}
    # One schema (docs/SCHEMA.md): the CLI's --json and Python's to_dict() are one document.
    status = run(minio, "--url", url, "--json", "status", "0/42/0")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == info.to_dict()


def test_pip_installed_cli_exit_codes(minio: Any, bucket_name: str, tree: Path) -> None:
    url = f"s3://{bucket_name}?endpoint={minio.endpoint}"
    assert run(minio, "--url", url, "--create-bucket", "save", "0/1/0", str(tree), "-q").returncode == 0
    assert run(minio, "--url", url, "status", "0/9/0").returncode in (0, 3)
    assert run(minio, "--url", url, "restore", "0/9/0", str(tree.parent / "x")).returncode == 3
    assert run(minio, "--url", url, "save", "0/1/0", str(tree), "-q").returncode == 4
    assert run(minio, "--url", url, "no-such-command").returncode == 2
    version = run(minio, "--version")
    assert version.returncode == 0 and s3keep.__version__ in version.stdout


def test_cli_main_is_callable_in_process(capfd: pytest.CaptureFixture[str]) -> None:
    from s3keep._s3keep import cli_main

    assert cli_main(["s3keep", "--version"]) == 0
    assert s3keep.__version__ in capfd.readouterr().out
    assert cli_main(["s3keep", "frobnicate"]) == 2
