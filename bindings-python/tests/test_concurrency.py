"""The GIL is released during I/O, every method has an asyncio form, and Ctrl-C (or asyncio
cancellation) stops a save or restore cleanly: FAILED, no multipart upload left behind."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import s3keep
from s3keep import BackupId, RetentionPolicy
from s3keep_test_helpers import MiB, big_file, multipart_uploads, read_tree


def test_another_thread_runs_while_a_save_is_in_progress(make_store: Callable[..., s3keep.BackupStore], tmp_path: Path) -> None:
    store = make_store(multipart_threshold=8 * MiB, part_size=8 * MiB)
    src = big_file(tmp_path / "src" / "big.bin", 50 * MiB)
    counter = 0
    running = True

    def count() -> None:
        nonlocal counter
        while running:
            counter += 1

    thread = threading.Thread(target=count)
    thread.start()
    try:
        started = time.perf_counter()
        before = counter
        store.save("0/1/0", {"files": src.parent})
        elapsed = time.perf_counter() - started
        during = counter - before
    finally:
        running = False
        thread.join()
    # A pure-Python loop counts millions per second when it has the GIL to itself; a save
    # that held the GIL would leave it a few switch intervals at most.
    assert during > 200_000 * max(elapsed, 0.1), (during, elapsed)


def test_two_saves_run_concurrently_with_asyncio(store: s3keep.BackupStore, tree: Path, tmp_path: Path) -> None:
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    async def main() -> tuple[s3keep.BackupInfo, s3keep.BackupInfo]:
        stop = asyncio.Event()
        tick_task = asyncio.create_task(ticker(stop))
        first, second = await asyncio.gather(
            store.save_async("0/1/0", {"files": tree}),
            store.save_async(BackupId(0, 2, 0), {"files": tree}, metadata={"n": "2"}),
        )
        stop.set()
        await tick_task
        return first, second

    first, second = asyncio.run(main())
    assert (first.status, second.status) == ("COMPLETED", "COMPLETED")
    assert second.user_metadata == {"n": "2"}
    assert ticks > 0  # the event loop was never blocked


def test_every_method_has_an_async_form(store: s3keep.BackupStore, tree: Path, tmp_path: Path, s3: Any, bucket_name: str) -> None:
    async def main() -> None:
        progress: list[tuple[int, int, int, int]] = []
        info = await store.save_async("0/1/0", {"files": tree}, progress=lambda *a: progress.append(a))
        assert info.status == "COMPLETED" and progress[-1][2:] == (4, 4)
        assert (await store.status_async("0/1/0")).file_count == 4
        assert [str(b.id) for b in await store.list_async(partition=0)] == ["0/1/0"]
        summary = await store.restore_async("0/1/0", tmp_path / "out")
        assert summary.files_restored == 4 and read_tree(tmp_path / "out") == read_tree(tree)
        assert (await store.verify_async("0/1/0", deep=True)).ok
        s3.put_object(Bucket=bucket_name, Key="backups/0/2/0/status.json", Body=b'{"statusCode":"IN_PROGRESS"}')
        assert (await store.mark_failed_async("0/2/0", "gone")).status == "FAILED"
        plan = await store.prune_async(RetentionPolicy(keep_last=1, prune_failed=True))
        assert [str(e.id) for e in plan.to_delete] == ["0/2/0"]
        assert await store.delete_async("0/2/0") >= 1
        assert (await store.cleanup_uploads_async(0)).aborted == ()
        assert {r.name for r in await store.check_async()} >= {"endpoint", "bucket"}
        with pytest.raises(s3keep.NotFound):
            await store.restore_async("0/9/0", tmp_path / "none")

    asyncio.run(main())


# The cancellation tests run in both formats: format 1 uploads each big file by multipart,
# format 2 uploads its packs by multipart while it fills them (random data: not deduplicated
# nor compressed away).
FORMATS = pytest.mark.parametrize("format", [1, 2], ids=["format1", "format2"])


@FORMATS
def test_ctrl_c_cancels_a_save_marks_it_failed_and_aborts_uploads(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tmp_path: Path, format: int) -> None:
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=2, format=format)
    src = tmp_path / "src"
    big_file(src / "big1.bin", 60 * MiB)
    big_file(src / "big2.bin", 60 * MiB)
    uploading = threading.Event()
    uploads_seen: list[int] = []

    def progress(done: int, total: int, files_done: int, files_total: int) -> None:
        if done > 0:
            uploading.set()

    def press_ctrl_c() -> None:
        if not uploading.wait(timeout=60):
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a multipart upload under way, then Ctrl-C
            uploads = multipart_uploads(s3, bucket_name)
            if uploads:
                uploads_seen.append(len(uploads))
                _thread.interrupt_main()  # what Ctrl-C does: SIGINT's handler in the main thread
                return
            time.sleep(0.01)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    started = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            store.save("0/1/0", {"files": src}, progress=progress)
    finally:
        presser.join()
    assert time.perf_counter() - started < 30
    assert uploads_seen and uploads_seen[0] > 0  # it was interrupted mid-upload
    info = store.status("0/1/0")
    assert info.status == "FAILED" and "cancelled" in (info.failure_reason or "")
    assert multipart_uploads(s3, bucket_name) == []


@FORMATS
def test_ctrl_c_cancels_a_restore_without_leaving_temporary_files(make_store: Callable[..., s3keep.BackupStore], tmp_path: Path, format: int) -> None:
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=1, format=format)
    src = tmp_path / "src"
    for i in range(8):
        big_file(src / f"f{i}.bin", 16 * MiB)
    store.save("0/1/0", {"files": src})

    def progress(done: int, total: int, files_done: int, files_total: int) -> None:
        if 0 < done < total:
            _thread.interrupt_main()  # Ctrl-C arrives while files are downloading

    with pytest.raises(KeyboardInterrupt):
        store.restore("0/1/0", tmp_path / "out", progress=progress)
    out = tmp_path / "out"
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert all(name.startswith("f") and name.endswith(".bin") for name in left), left  # no temp files
    assert len(left) < 8
    # Running it again finishes it.
    summary = store.restore("0/1/0", out)
    assert summary.files_skipped == len(left) and summary.files_restored == 8 - len(left)
    assert read_tree(out) == read_tree(src)


@FORMATS
def test_cancelling_an_async_save_marks_it_failed_and_aborts_uploads(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tmp_path: Path, format: int) -> None:
    store = make_store(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=2, format=format)
    src = big_file(tmp_path / "src" / "big.bin", 120 * MiB)

    async def main() -> None:
        task = asyncio.ensure_future(store.save_async("0/1/0", {"files": src.parent}))
        deadline = time.monotonic() + 60
        while not multipart_uploads(s3, bucket_name):
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    # The cleanup finishes in the background after the cancellation.
    deadline = time.monotonic() + 30
    while store.status("0/1/0").status != "FAILED":
        assert time.monotonic() < deadline, store.status("0/1/0")
        time.sleep(0.05)
    while multipart_uploads(s3, bucket_name):
        assert time.monotonic() < deadline
        time.sleep(0.05)
