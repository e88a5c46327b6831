"""The stubs cannot drift: `mypy --strict` type-checks an example that uses the whole API
(typing_example.py) against the installed package (its `_s3keep.pyi` and `py.typed`), and
stubtest compares the stubs with the compiled module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=HERE, capture_output=True,
                          text=True, timeout=600)


def test_mypy_strict_accepts_the_example_using_the_whole_api() -> None:
    result = mypy("--strict", "--no-incremental", "typing_example.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_accepts_the_package_itself() -> None:
    result = mypy("--strict", "--no-incremental", "-p", "s3keep")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_rejects_misuse_so_the_check_has_teeth(tmp_path: Path) -> None:
    bad = tmp_path / "bad_usage.py"
    bad.write_text(
        "import s3keep\n"
        "store = s3keep.BackupStore('b', prefix=1)\n"
        "info = store.status(s3keep.BackupId(0, 1, 0))\n"
        "size: str = info.total_size\n"
        "store.save('0/1/0', {'files': 42})\n"
    )
    result = mypy("--strict", "--no-incremental", str(bad))
    assert result.returncode == 1
    assert result.stdout.count("error:") == 3, result.stdout


def test_stubtest_finds_the_stubs_consistent_with_the_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "s3keep._s3keep"],
        cwd=HERE, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
