#!/usr/bin/env python3
"""One timed operation of one Python client, in a fresh process (run by bench/peers.py).

    PYTHON bench/py_worker.py OP LIB MODE     # settings as JSON in $S3KEEP_BENCH_CFG

OP: small-put, small-get, big-put, big-get, or `fixture` (untimed: saves the s3keep backups
the GETs restore). LIB: s3keep, boto3, boto3-unsigned, obstore. MODE: sync or asyncio.
The interpreter is the one that has LIB (the repository's venv for s3keep, the bench venv
for the peers); this file imports nothing else outside the standard library.

Timed: the operation only, after import, client construction and one small untimed request
(connection, lazy loading). Printed as one JSON line:
wall seconds, CPU seconds of this process (user+sys, every thread), the RSS before the
operation and the peak RSS during it (VmHWM, reset to the current RSS through
/proc/self/clear_refs just before), bytes and files moved.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable

CFG = json.loads(os.environ.get("S3KEEP_BENCH_CFG", "{}"))
FIXTURE_SMALL = (1, 1, 0)
FIXTURE_BIG = (1, 2, 0)


def files_below(root: Path) -> list[tuple[str, Path]]:
    out = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            out.append((path.relative_to(root).as_posix(), path))
    return sorted(out)


# ---------------------------------------------------------------------------- clients

def s3keep_store(prefix: str) -> Any:
    import s3keep

    options: dict[str, Any] = {}
    if CFG.get("format") is not None:
        options["format"] = CFG["format"]
    return s3keep.BackupStore(
        CFG["bucket"], prefix=prefix, endpoint=CFG["endpoint"], region=CFG["region"],
        access_key_id=CFG["access_key"], secret_access_key=CFG["secret_key"],
        concurrency=CFG["concurrency"], part_size=CFG["part_size"], multipart_threshold=CFG["part_size"],
        **options)


def boto3_client(signed_payload: bool) -> Any:
    import boto3
    from botocore.config import Config

    s3_options: dict[str, Any] = {"addressing_style": "path"}
    if not signed_payload:
        s3_options["payload_signing_enabled"] = False
    return boto3.client(
        "s3", endpoint_url=CFG["endpoint"], region_name=CFG["region"],
        aws_access_key_id=CFG["access_key"], aws_secret_access_key=CFG["secret_key"],
        config=Config(s3=s3_options, max_pool_connections=max(10, CFG["concurrency"])))


def transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    p = CFG["part_size"]
    return TransferConfig(multipart_threshold=p, multipart_chunksize=p, max_concurrency=CFG["concurrency"])


def obstore_store() -> Any:
    from obstore.store import S3Store

    return S3Store(CFG["bucket"], endpoint=CFG["endpoint"], region=CFG["region"],
                   access_key_id=CFG["access_key"], secret_access_key=CFG["secret_key"],
                   virtual_hosted_style_request=False, client_options={"allow_http": True})


# ---------------------------------------------------------------------------- operations
# Each builder constructs the client (untimed) and returns the timed operation.

def s3keep_op(op: str, mode: str) -> Callable[[], Any]:
    import s3keep

    if op == "fixture":
        store = s3keep_store(CFG["fixture_prefix"])
        return lambda: (store.save(s3keep.BackupId(*FIXTURE_SMALL), {"files": CFG["small_dir"]}),
                        store.save(s3keep.BackupId(*FIXTURE_BIG), {"files": CFG["big_file"]}))
    put = op.endswith("-put")
    store = s3keep_store(CFG["prefix"] if put else CFG["fixture_prefix"])
    store.status(s3keep.BackupId(9, 9, 9))  # warm-up: a GET of a missing status.json
    source = CFG["small_dir"] if op.startswith("small") else CFG["big_file"]
    fixture = s3keep.BackupId(*(FIXTURE_SMALL if op.startswith("small") else FIXTURE_BIG))
    new_id = s3keep.BackupId(0, 1, 0)
    if mode == "asyncio":
        if put:
            return lambda: store.save_async(new_id, {"files": source})
        return lambda: store.restore_async(fixture, CFG["out"])
    if put:
        return lambda: store.save(new_id, {"files": source})
    return lambda: store.restore(fixture, CFG["out"])


def boto3_op(op: str, signed: bool) -> Callable[[], Any]:
    s3, bucket, prefix = boto3_client(signed), CFG["bucket"], CFG["prefix"]
    s3.head_bucket(Bucket=bucket)  # warm-up
    small = files_below(Path(CFG["small_dir"]))
    out = Path(CFG["out"])

    def small_put() -> None:
        def one(item: tuple[str, Path]) -> None:
            with open(item[1], "rb") as f:
                s3.put_object(Bucket=bucket, Key=prefix + item[0], Body=f)

        with ThreadPoolExecutor(CFG["concurrency"]) as pool:
            list(pool.map(one, small))

    def small_get() -> None:
        def one(name: str) -> None:
            body = s3.get_object(Bucket=bucket, Key=CFG["peer_small_prefix"] + name)["Body"]
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body.read())

        with ThreadPoolExecutor(CFG["concurrency"]) as pool:
            list(pool.map(one, [name for name, _ in small]))

    ops = {
        "small-put": small_put,
        "small-get": small_get,
        "big-put": lambda: s3.upload_file(CFG["big_file"], bucket, prefix + "big.bin", Config=transfer_config()),
        "big-get": lambda: (out.mkdir(parents=True, exist_ok=True),
                            s3.download_file(bucket, CFG["peer_big_key"], str(out / "big.bin"),
                                             Config=transfer_config())),
    }
    return ops[op]


def obstore_op(op: str, mode: str) -> Callable[[], Any]:
    import obstore as obs

    store, prefix, c, part = obstore_store(), CFG["prefix"], CFG["concurrency"], CFG["part_size"]
    obs.list_with_delimiter(store, "warm-up/")  # warm-up
    small = files_below(Path(CFG["small_dir"]))
    out = Path(CFG["out"])

    def write(name: str, data: Any) -> None:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    if mode == "sync":
        def small_put() -> None:
            with ThreadPoolExecutor(c) as pool:
                list(pool.map(lambda it: obs.put(store, prefix + it[0], it[1], chunk_size=part), small))

        def small_get() -> None:
            with ThreadPoolExecutor(c) as pool:
                list(pool.map(lambda n: write(n, obs.get(store, CFG["peer_small_prefix"] + n).bytes()),
                              [name for name, _ in small]))

        def big_get() -> None:
            out.mkdir(parents=True, exist_ok=True)
            with open(out / "big.bin", "wb") as f:
                for chunk in obs.get(store, CFG["peer_big_key"]).stream():
                    f.write(chunk)

        return {
            "small-put": small_put,
            "small-get": small_get,
            "big-put": lambda: obs.put(store, prefix + "big.bin", Path(CFG["big_file"]), chunk_size=part,
                                       max_concurrency=c),
            "big-get": big_get,
        }[op]

    async def bounded(jobs: list[Callable[[], Awaitable[Any]]]) -> None:
        gate = asyncio.Semaphore(c)

        async def one(job: Callable[[], Awaitable[Any]]) -> None:
            async with gate:
                await job()

        await asyncio.gather(*(one(j) for j in jobs))

    async def small_put_a() -> None:
        await bounded([lambda it=it: obs.put_async(store, prefix + it[0], it[1], chunk_size=part) for it in small])

    async def small_get_a() -> None:
        async def one(name: str) -> None:
            result = await obs.get_async(store, CFG["peer_small_prefix"] + name)
            write(name, await result.bytes_async())

        await bounded([lambda n=name: one(n) for name, _ in small])

    async def big_get_a() -> None:
        out.mkdir(parents=True, exist_ok=True)
        result = await obs.get_async(store, CFG["peer_big_key"])
        with open(out / "big.bin", "wb") as f:
            async for chunk in result.stream():
                f.write(chunk)

    return {
        "small-put": small_put_a,
        "small-get": small_get_a,
        "big-put": lambda: obs.put_async(store, prefix + "big.bin", Path(CFG["big_file"]), chunk_size=part,
                                         max_concurrency=c),
        "big-get": big_get_a,
    }[op]


# ---------------------------------------------------------------------------- measuring

def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def reset_peak() -> bool:
    try:  # resets VmHWM to the current RSS (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def measure_async(build: Callable[[], Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
    run = build()
    base, reset = status_kib("VmRSS"), reset_peak()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    await run()
    return {"wall": time.perf_counter() - t0, "cpu": cpu_seconds() - cpu0, "base_kib": base,
            "peak_kib": status_kib("VmHWM"), "peak_reset": reset}


def measure(build: Callable[[], Callable[[], Any]]) -> dict[str, Any]:
    run = build()
    base, reset = status_kib("VmRSS"), reset_peak()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    run()
    return {"wall": time.perf_counter() - t0, "cpu": cpu_seconds() - cpu0, "base_kib": base,
            "peak_kib": status_kib("VmHWM"), "peak_reset": reset}


def main(argv: list[str]) -> int:
    op, lib, mode = argv
    if lib == "s3keep":
        build: Callable[[], Any] = lambda: s3keep_op(op, mode)
    elif lib.startswith("boto3"):
        if mode != "sync":
            raise SystemExit("boto3 has no asyncio interface")
        build = lambda: boto3_op(op, signed=lib == "boto3")
    elif lib == "obstore":
        build = lambda: obstore_op(op, mode)
    else:
        raise SystemExit(f"unknown library {lib}")
    if mode == "asyncio":
        result = asyncio.run(measure_async(build))
    else:
        result = measure(build)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
