"""The progress callback: values, throttling, errors raised by it, and tqdm."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

import s3keep
from s3keep_test_helpers import MiB, big_file, multipart_uploads

Report = tuple[int, int, int, int]


def record() -> tuple[list[Report], list[int], Callable[[int, int, int, int], None]]:
    calls: list[Report] = []
    threads: list[int] = []

    def progress(bytes_done: int, bytes_total: int, files_done: int, files_total: int) -> None:
        calls.append((bytes_done, bytes_total, files_done, files_total))
        threads.append(threading.get_ident())

    return calls, threads, progress


def assert_monotonic(calls: list[Report]) -> None:
    for before, after in zip(calls, calls[1:]):
        assert all(a >= b for a, b in zip(after, before)), (before, after)


def test_save_and_restore_report_bytes_and_files(make_store: Callable[..., s3keep.BackupStore], tmp_path: Path) -> None:
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=2)
    src = tmp_path / "src"
    big_file(src / "big.bin", 11 * MiB)
    (src / "small.txt").write_bytes(b"small")
    (src / "empty").write_bytes(b"")
    total = 11 * MiB + 5

    calls, threads, progress = record()
    store.save("0/1/0", {"files": src}, progress=progress)
    assert calls, "the callback was never called"
    assert calls[-1] == (total, total, 3, 3)
    assert all(c[1] == total and c[3] == 3 for c in calls)
    assert_monotonic(calls)
    assert len(calls) < 200  # throttled: not one call per chunk
    assert set(threads) == {threading.get_ident()}  # in the calling thread, with the GIL

    calls, threads, progress = record()
    store.restore("0/1/0", tmp_path / "out", progress=progress)
    assert calls[-1] == (total, total, 3, 3)
    assert_monotonic(calls)


def test_an_exception_in_the_callback_stops_the_save_cleanly(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tmp_path: Path) -> None:
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=1)
    src = big_file(tmp_path / "src" / "big.bin", 80 * MiB)

    class Stop(Exception):
        pass

    def progress(done: int, total: int, files_done: int, files_total: int) -> None:
        if done > 0:
            raise Stop(done)

    with pytest.raises(Stop):
        store.save("0/1/0", {"files": src.parent}, progress=progress)
    info = store.status("0/1/0")
    assert info.status == "FAILED" and "cancelled" in (info.failure_reason or "")
    assert multipart_uploads(s3, bucket_name) == []


def test_progress_drives_a_tqdm_bar(store: s3keep.BackupStore, tmp_path: Path) -> None:
    tqdm = pytest.importorskip("tqdm").tqdm
    src = tmp_path / "src"
    big_file(src / "a.bin", 3 * MiB)
    big_file(src / "b.bin", 2 * MiB)
    out = io.StringIO()
    with tqdm(unit="B", unit_scale=True, file=out, mininterval=0) as bar:

        def progress(done: int, total: int, files_done: int, files_total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix(files=f"{files_done}/{files_total}")

        store.save("0/1/0", {"files": src}, progress=progress)
        assert bar.n == bar.total == 5 * MiB
    assert "5.24M" in out.getvalue() and "files=2/2" in out.getvalue()


def test_a_non_callable_progress_is_a_type_error(store: s3keep.BackupStore) -> None:
    with pytest.raises(TypeError):
        store.save("0/1/0", {"files": {"f": b"x"}}, progress=42)  # type: ignore[arg-type]
