"""The Python and JavaScript groups: each run is one operation of one library in a fresh
worker process (bench/py_worker.py, bench/js_worker.mjs) that times the operation itself,
after import and client construction, and reports CPU and peak memory.

Per operation, N rounds; in each round every variant runs once, the order rotating.
GETs read fixtures written untimed before the first round: the peers' objects by mc, the
s3keep backups by the worker's `fixture` operation (one store per format).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from benchlib import Target, run_measured, tree_stats

BENCH = Path(__file__).resolve().parent
OPS = ("small-put", "small-get", "big-put", "big-get")
PUT_OPS = ("small-put", "big-put")
PEER_SMALL, PEER_BIG = "peers/small/", "peers/big.bin"


@dataclass
class Variant:
    key: str
    label: str
    lib: str  # "s3keep" for the reference variants
    family: str  # ratios compare with the s3keep variant of the same family (sync, asyncio, node, bun)
    fmt: Optional[int]
    argv: Callable[[str], list[str]]  # the worker command for one operation
    ops: tuple[str, ...] = OPS


@dataclass
class LibData:
    small_dir: Path
    small_files: int
    small_size: int
    big_file: Path
    big_bytes: int
    work: Path


def python_variants(env: dict[str, str], formats: list[Optional[int]]) -> list[Variant]:
    s3keep_py = env["S3KEEP_BENCH_S3KEEP_PYTHON"]
    peer_py = str(Path(env["S3KEEP_BENCH_VENV"]) / "bin" / "python")
    worker = str(BENCH / "py_worker.py")

    def argv(python: str, lib: str, mode: str) -> Callable[[str], list[str]]:
        return lambda op: [python, worker, op, lib, mode]

    out = []
    for mode in ("sync", "asyncio"):
        for f in formats:
            out.append(Variant(f"s3keep-f{f or 1}-{mode}", f"s3keep, format {f or 1}, {mode}", "s3keep",
                               mode, f, argv(s3keep_py, "s3keep", mode)))
    out.append(Variant("boto3", "boto3", "boto3",
                       "sync", None, argv(peer_py, "boto3", "sync")))
    out.append(Variant("boto3-unsigned", "boto3, unsigned payload", "boto3", "sync",
                       None, argv(peer_py, "boto3-unsigned", "sync"), PUT_OPS))
    for mode in ("sync", "asyncio"):
        out.append(Variant(f"obstore-{mode}", f"obstore, {mode}", "obstore", mode, None, argv(peer_py, "obstore", mode)))
    return out


def js_variants(env: dict[str, str], formats: list[Optional[int]]) -> list[Variant]:
    worker = str(BENCH / "js_worker.mjs")
    runtimes = {"node": env.get("S3KEEP_BENCH_NODE", "node"), "bun": env["S3KEEP_BENCH_BUN"]}
    out = []
    for rt, binary in runtimes.items():
        def argv(lib: str, binary: str = binary) -> Callable[[str], list[str]]:
            return lambda op: [binary, worker, op, lib]

        for f in formats:
            out.append(Variant(f"s3keep-f{f or 1}-{rt}", f"s3keep, format {f or 1}, {rt}", "s3keep", rt,
                               f, argv("s3keep")))
        out.append(Variant(f"lib-storage-{rt}", f"lib-storage + client-s3, {rt}", "lib-storage", rt,
                           None, argv("lib-storage")))
        out.append(Variant(f"aws4fetch-{rt}", f"aws4fetch, {rt}", "aws4fetch", rt, None, argv("aws4fetch")))
    return out


Record = Callable[..., None]


def run_group(group: str, target: Target, variants: list[Variant], data: LibData, base_cfg: dict[str, Any],
              runs: int, record: Record) -> None:
    bucket = f"{target.name}-{group}"
    target.make_bucket(bucket)
    cfg = dict(base_cfg, endpoint=target.endpoint, access_key=target.access_key, secret_key=target.secret_key,
               region=target.region, bucket=bucket, small_dir=str(data.small_dir), big_file=str(data.big_file),
               peer_small_prefix=PEER_SMALL, peer_big_key=PEER_BIG)
    env = dict(os.environ)
    counter = [0]
    try:
        ops = OPS if target.serves_data else PUT_OPS
        if target.serves_data:
            _fixtures(group, target, variants, data, cfg, env, bucket)
        for op in ops:
            chosen = [v for v in variants if op in v.ops]
            for r in range(runs):
                k = r % len(chosen)
                for v in chosen[k:] + chosen[:k]:
                    counter[0] += 1
                    _one(target, v, op, r, counter[0], data, cfg, env, bucket, record)
    finally:
        target.remove_bucket(bucket)


def _fixtures(group: str, target: Target, variants: list[Variant], data: LibData, cfg: dict[str, Any],
              env: dict[str, str], bucket: str) -> None:
    target.admin("cp", "--recursive", f"{data.small_dir}/", f"bench/{bucket}/{PEER_SMALL}")
    target.admin("cp", str(data.big_file), f"bench/{bucket}/{PEER_BIG}")
    done: set[Optional[int]] = set()
    for v in variants:
        if v.lib != "s3keep" or v.fmt in done:
            continue
        done.add(v.fmt)
        c = dict(cfg, format=v.fmt, fixture_prefix=f"fixtures-f{v.fmt or 1}/", prefix="", out="")
        m = run_measured(v.argv("fixture"), dict(env, S3KEEP_BENCH_CFG=json.dumps(c)))
        if not m.ok:
            raise RuntimeError(f"{group}: saving the s3keep fixtures failed: {m.error_line()}")


def _one(target: Target, v: Variant, op: str, r: int, n: int, data: LibData, cfg: dict[str, Any],
         env: dict[str, str], bucket: str, record: Record) -> None:
    out = data.work / "out" / f"run-{n}"
    prefix = f"run-{n}/"
    c = dict(cfg, format=v.fmt, fixture_prefix=f"fixtures-f{v.fmt or 1}/", prefix=prefix, out=str(out))
    m = run_measured(v.argv(op), dict(env, S3KEEP_BENCH_CFG=json.dumps(c)), target.pid)
    try:
        if m.ok:
            inner = json.loads(m.out.strip().splitlines()[-1])
            m.extra.update(inner, process_wall=m.wall, process_cpu=m.cpu, process_maxrss_kib=m.maxrss_kib)
            m.wall, m.cpu, m.maxrss_kib = inner["wall"], inner["cpu"], inner["peak_kib"]
            if op.endswith("-get"):
                want = (data.small_files, data.small_files * data.small_size) if op == "small-get" \
                    else (1, data.big_bytes)
                got = tree_stats(out)
                if got != want:
                    m.extra["check"] = f"got {got[0]} files / {got[1]} bytes, expected {want[0]} / {want[1]}"
                    print(f"    !! {v.key}: {m.extra['check']}", flush=True)
    except (ValueError, KeyError, IndexError) as e:
        m.rc = m.rc or 1
        m.err = f"unreadable worker output ({e}): {m.out[-300:]}"
    record(op=op, variant=v, round=r, m=m)
    shutil.rmtree(out, ignore_errors=True)
    if op in PUT_OPS:
        target.remove_prefix(bucket, prefix)
