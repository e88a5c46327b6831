#!/usr/bin/env python3
"""s3keep against boto3, side by side, on one MinIO (see bench/README.md).

    python3 scripts/minio_harness.py run -- .venv/bin/python bench/vs_boto3.py [--runs N]

One process runs every timed variant, alternating them round by round (the order rotates
each round), after one untimed warm-up run per variant. Reported: median and best wall time
of N runs, the rate at the median, this process's CPU (user+sys, every thread) and MinIO's
CPU over each run. Then, unless --no-rss, each variant runs once more in a fresh
subprocess that imports only its library, to read its peak RSS (VmHWM) — the absolute
peak and the peak over the baseline taken after import and client setup.

Nothing here asserts a time: this script prints figures, people read them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlparse

MiB = 1 << 20
CTX_ENV = "S3KEEP_BENCH_CTX"
S3KEEP_PREFIX = "s3keep/"
# Fixture backups (saved once, untimed) that both libraries download.
FIXTURE_BIG = (1, 1, 0)
FIXTURE_SMALL = (1, 2, 0)

Handle = tuple[str, Any]
# The requests whose integrity headers the header spy reports.
SPIED = ("PutObject", "CreateMultipartUpload", "UploadPart", "GetObject")  # what a run leaves behind, for the untimed cleanup


# ---------------------------------------------------------------------------- context

class Ctx:
    """Settings and lazily built clients; a worker builds only what its variant uses."""

    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self.bucket: str = cfg["bucket"]
        self.concurrency: int = cfg["concurrency"]
        self.part_size: int = cfg["part_size"]
        self.small_dir = Path(cfg["small_dir"])
        self.big_file = Path(cfg["big_file"])
        self.out_dir = Path(cfg["out_dir"])
        self._s3: dict[bool, Any] = {}
        self._store: Any = None
        self._counter = 0

    def unique(self) -> int:
        # Unique across the main process and its workers: checkpoint ids, key prefixes.
        self._counter += 1
        return time.time_ns() // 1000 * 100 + self._counter % 100

    def s3(self, signed_payload: bool = True) -> Any:
        """A boto3 client. boto3 always SHA-256-signs payloads over http://; with
        `signed_payload=False` it sends UNSIGNED-PAYLOAD as it does over https."""
        if signed_payload not in self._s3:
            import boto3
            from botocore.config import Config

            s3_options: dict[str, Any] = {"addressing_style": "path"}
            if not signed_payload:
                s3_options["payload_signing_enabled"] = False
            self._s3[signed_payload] = boto3.client(
                "s3",
                endpoint_url=self.cfg["endpoint"],
                aws_access_key_id=self.cfg["access_key"],
                aws_secret_access_key=self.cfg["secret_key"],
                region_name=self.cfg["region"],
                config=Config(
                    s3=s3_options,
                    max_pool_connections=max(10, self.concurrency),
                    retries={"mode": "standard", "max_attempts": 5},
                ),
            )
        return self._s3[signed_payload]

    def transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=self.concurrency,
        )

    def store(self) -> Any:
        if self._store is None:
            import s3keep

            self._store = s3keep.BackupStore(
                self.bucket,
                prefix=S3KEEP_PREFIX,
                endpoint=self.cfg["endpoint"],
                region=self.cfg["region"],
                access_key_id=self.cfg["access_key"],
                secret_access_key=self.cfg["secret_key"],
                concurrency=self.concurrency,
                part_size=self.part_size,
                multipart_threshold=self.part_size,
            )
        return self._store

    def backup_id(self, triple: tuple[int, int, int]) -> Any:
        import s3keep

        return s3keep.BackupId(*triple)

    def fixture_key(self, fixture: tuple[int, int, int], name: str) -> str:
        p, c, n = fixture
        return f"{S3KEEP_PREFIX}{p}/{c}/{n}/files/{name}"

    def cleanup(self, handle: Handle) -> None:
        kind, value = handle
        if kind == "prefix":
            s3 = self.s3()
            batch: list[dict[str, str]] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=value):
                batch.extend({"Key": o["Key"]} for o in page.get("Contents", []))
            for i in range(0, len(batch), 1000):
                s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch[i:i + 1000], "Quiet": True})
        elif kind == "backup":
            self.store().delete(self.backup_id(value), force=True)
        elif kind == "path":
            path = Path(value)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def small_files(root: Path) -> list[tuple[str, Path]]:
    """(relative name, path) of every file below `root`, sorted, as s3keep names them."""
    out = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            out.append((path.relative_to(root).as_posix(), path))
    out.sort()
    return out


# ---------------------------------------------------------------------------- variants
# Each `run` is the timed part and returns what to clean up afterwards (untimed).

def boto3_small_loop(ctx: Ctx) -> Handle:
    s3, prefix = ctx.s3(), f"boto3/{ctx.unique()}/"
    for name, path in small_files(ctx.small_dir):
        with open(path, "rb") as f:
            s3.put_object(Bucket=ctx.bucket, Key=prefix + name, Body=f)
    return ("prefix", prefix)


def boto3_small_pool(ctx: Ctx) -> Handle:
    s3, prefix = ctx.s3(), f"boto3/{ctx.unique()}/"

    def put(item: tuple[str, Path]) -> None:
        with open(item[1], "rb") as f:
            s3.put_object(Bucket=ctx.bucket, Key=prefix + item[0], Body=f)

    with ThreadPoolExecutor(ctx.concurrency) as pool:
        list(pool.map(put, small_files(ctx.small_dir)))
    return ("prefix", prefix)


def s3keep_small_save(ctx: Ctx) -> Handle:
    triple = (0, ctx.unique(), 0)
    ctx.store().save(ctx.backup_id(triple), {"files": str(ctx.small_dir)})
    return ("backup", triple)


def boto3_big_put(signed: bool) -> Callable[[Ctx], Handle]:
    def run(ctx: Ctx) -> Handle:
        prefix = f"boto3/{ctx.unique()}/"
        ctx.s3(signed).upload_file(str(ctx.big_file), ctx.bucket, prefix + ctx.big_file.name,
                                   Config=ctx.transfer_config())
        return ("prefix", prefix)

    return run


def s3keep_big_save(ctx: Ctx) -> Handle:
    triple = (0, ctx.unique(), 0)
    ctx.store().save(ctx.backup_id(triple), {"files": str(ctx.big_file)})
    return ("backup", triple)


def boto3_big_get(ctx: Ctx) -> Handle:
    target = ctx.out_dir / f"boto3-{ctx.unique()}.bin"
    ctx.s3().download_file(ctx.bucket, ctx.fixture_key(FIXTURE_BIG, ctx.big_file.name), str(target),
                           Config=ctx.transfer_config())
    return ("path", target)


def s3keep_big_restore(ctx: Ctx) -> Handle:
    target = ctx.out_dir / f"s3keep-{ctx.unique()}"
    ctx.store().restore(ctx.backup_id(FIXTURE_BIG), str(target))
    return ("path", target)


def boto3_small_get_pool(ctx: Ctx) -> Handle:
    s3, target = ctx.s3(), ctx.out_dir / f"boto3-{ctx.unique()}"
    target.mkdir()

    def get(name: str) -> None:
        body = s3.get_object(Bucket=ctx.bucket, Key=ctx.fixture_key(FIXTURE_SMALL, name))["Body"]
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(body.read())

    with ThreadPoolExecutor(ctx.concurrency) as pool:
        list(pool.map(get, [name for name, _ in small_files(ctx.small_dir)]))
    return ("path", target)


def s3keep_small_restore(ctx: Ctx) -> Handle:
    target = ctx.out_dir / f"s3keep-{ctx.unique()}"
    ctx.store().restore(ctx.backup_id(FIXTURE_SMALL), str(target))
    return ("path", target)


@dataclass
class Variant:
    key: str
    op: str  # the operation group; variants of one group alternate
    lib: str  # "boto3" or "s3keep"
    label: str
    run: Callable[[Ctx], Handle]
    prepare: Callable[[Ctx], Any]  # builds the client (outside any measurement)


def _variants(c: int) -> list[Variant]:
    return [
        Variant("small-put-boto3-loop", "small PUT", "boto3", "boto3 put_object, a loop",
                boto3_small_loop, lambda ctx: ctx.s3()),
        Variant("small-put-boto3-pool", "small PUT", "boto3", f"boto3 put_object, {c} threads",
                boto3_small_pool, lambda ctx: ctx.s3()),
        Variant("small-put-s3keep", "small PUT", "s3keep", "s3keep save (+3 PUTs: status, metadata, status)",
                s3keep_small_save, lambda ctx: ctx.store()),
        Variant("big-put-boto3", "1 file PUT", "boto3", "boto3 upload_file (http: payload SHA-256 signed)",
                boto3_big_put(True), lambda ctx: ctx.s3(True)),
        Variant("big-put-boto3-unsigned", "1 file PUT", "boto3", "boto3 upload_file (UNSIGNED-PAYLOAD, as on https)",
                boto3_big_put(False), lambda ctx: ctx.s3(False)),
        Variant("big-put-s3keep", "1 file PUT", "s3keep", "s3keep save (UNSIGNED-PAYLOAD, +3 PUTs)",
                s3keep_big_save, lambda ctx: ctx.store()),
        Variant("big-get-boto3", "1 file GET", "boto3", f"boto3 download_file ({c} ranged GETs)",
                boto3_big_get, lambda ctx: ctx.s3()),
        Variant("big-get-s3keep", "1 file GET", "s3keep", "s3keep restore (+CRC32C, +2 GETs)",
                s3keep_big_restore, lambda ctx: ctx.store()),
        Variant("small-get-boto3-pool", "small GET", "boto3", f"boto3 get_object, {c} threads",
                boto3_small_get_pool, lambda ctx: ctx.s3()),
        Variant("small-get-s3keep", "small GET", "s3keep", "s3keep restore (+CRC32C, +2 GETs)",
                s3keep_small_restore, lambda ctx: ctx.store()),
    ]


# ---------------------------------------------------------------------------- measuring

CLK_TCK = os.sysconf("SC_CLK_TCK")


def find_minio_pid(endpoint: str) -> Optional[int]:
    needle = f"127.0.0.1:{urlparse(endpoint).port}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"minio") and needle in argv:
            return int(entry)
    return None


def proc_cpu(pid: Optional[int]) -> float:
    """User+system CPU seconds of a process (all threads), from /proc."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(ctx: Ctx, variant: Variant, minio_pid: Optional[int]) -> dict[str, float]:
    gc.collect()
    cpu0, minio0, t0 = self_cpu(), proc_cpu(minio_pid), time.perf_counter()
    handle = variant.run(ctx)
    wall = time.perf_counter() - t0
    cpu, minio = self_cpu() - cpu0, proc_cpu(minio_pid) - minio0
    ctx.cleanup(handle)
    return {"wall": wall, "cpu": cpu, "minio_cpu": minio}


def worker(key: str) -> None:
    """One run of one variant in a fresh process: peak RSS, wall and CPU as JSON."""
    ctx = Ctx(json.loads(os.environ[CTX_ENV]))
    variant = next(v for v in _variants(ctx.concurrency) if v.key == key)
    variant.prepare(ctx)
    gc.collect()
    baseline = status_kib("VmRSS")
    try:  # resets VmHWM to the current RSS (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    cpu0, t0 = self_cpu(), time.perf_counter()
    handle = variant.run(ctx)
    wall, cpu = time.perf_counter() - t0, self_cpu() - cpu0
    peak = status_kib("VmHWM")
    ctx.cleanup(handle)
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "reset": reset, "wall": wall, "cpu": cpu}))


# ---------------------------------------------------------------------------- setup

def make_data(work: Path, files: int, file_size: int, big_bytes: int) -> tuple[Path, Path]:
    small = work / "small"
    small.mkdir(parents=True)
    for i in range(files):
        (small / f"f{i:05d}.bin").write_bytes(os.urandom(file_size))
    big_dir = work / "big"
    big_dir.mkdir()
    big = big_dir / "big.bin"
    block = 16 * MiB
    with open(big, "wb") as f:
        left = big_bytes
        while left > 0:
            f.write(os.urandom(min(block, left)))
            left -= block
    return small, big


def file_crc32(path: Path) -> tuple[int, int]:
    crc, size = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    return crc, size


def spy_boto3_headers(s3: Any) -> tuple[dict[str, str], Callable[[], None]]:
    """Records, per S3 operation, the integrity headers boto3 sends (first request only)."""
    seen: dict[str, str] = {}

    def hook(request: Any, event_name: str = "", **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        if op in seen or op not in SPIED:
            return
        h = {k.lower(): v for k, v in request.headers.items()}
        parts = [k for k in sorted(h) if k.startswith("x-amz-checksum-") or k in ("content-md5", "x-amz-sdk-checksum-algorithm", "x-amz-trailer")]
        sha = h.get("x-amz-content-sha256", "-")
        if isinstance(sha, bytes):
            sha = sha.decode()
        parts.append("x-amz-content-sha256=" + (sha if sha.isupper() or sha == "-" else "<SHA-256 of the body>"))
        if "content-encoding" in h:
            parts.append(f"content-encoding={h['content-encoding']}")
        seen[op] = ", ".join(parts)

    s3.meta.events.register("before-send.s3", hook)
    return seen, lambda: s3.meta.events.unregister("before-send.s3", hook)


# ---------------------------------------------------------------------------- report

def fmt_size(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def report(args: argparse.Namespace, variants: list[Variant], results: dict[str, list[dict[str, float]]],
           rss: dict[str, dict[str, Any]], sizes: dict[str, int]) -> str:
    lines = []
    head = ("| operation | variant | median s | best s | rate at median | client CPU s | MinIO CPU s "
            "| client CPU per unit | s3keep speed ÷ this |")
    lines += [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    by_op: dict[str, list[Variant]] = {}
    for v in variants:
        by_op.setdefault(v.op, []).append(v)
    for op, group in by_op.items():
        med = {v.key: statistics.median(r["wall"] for r in results[v.key]) for v in group}
        ours = next((v for v in group if v.lib == "s3keep"), None)
        for v in group:
            runs = results[v.key]
            wall = med[v.key]
            best = min(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            mcpu = statistics.median(r["minio_cpu"] for r in runs)
            if op.startswith("small"):
                n = sizes["files"]
                rate = f"{n / wall:,.0f} files/s ({sizes['small_bytes'] / wall / 1e6:.1f} MB/s)"
                unit = f"{cpu / n * 1000:.2f} s/1k files"
            else:
                b = sizes["big_bytes"]
                rate = f"{b / wall / 1e6:,.0f} MB/s"
                unit = f"{cpu / (b / 1e9):.2f} s/GB"
            ratio = "—" if ours is None or v is ours else f"{wall / med[ours.key]:.2f}×"
            lines.append(f"| {op} | {v.label} | {wall:.2f} | {best:.2f} | {rate} | {cpu:.2f} | {mcpu:.2f} "
                         f"| {unit} | {ratio} |")
    if rss:
        lines += ["", "Peak RSS, one run per variant in a fresh process (importing only its library):", "",
                  "| variant | peak RSS | peak over post-setup baseline | baseline (after import + client) | wall s | CPU s |",
                  "|---|---:|---:|---:|---:|---:|"]
        for v in variants:
            r = rss.get(v.key)
            if r is None:
                continue
            if "error" in r:
                lines.append(f"| {v.label} | error: {r['error']} | | | | |")
                continue
            delta = fmt_size(r["peak_kib"] - r["baseline_kib"]) if r["reset"] else "n/a (no clear_refs)"
            lines.append(f"| {v.label} | {fmt_size(r['peak_kib'])} | {delta} | {fmt_size(r['baseline_kib'])} "
                         f"| {r['wall']:.2f} | {r['cpu']:.2f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant (after 1 warm-up)")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-size", type=int, default=8 * 1024, help="bytes per small file")
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the large file, MiB")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--part-mib", type=int, default=16)
    parser.add_argument("--only", default="", help="comma-separated substrings of variant keys to run")
    parser.add_argument("--no-rss", action="store_true", help="skip the per-subprocess peak RSS runs")
    parser.add_argument("--workdir", help="where to write the data (default: a temporary directory)")
    parser.add_argument("--per-connection-mbps", type=float,
                        help="send both libraries through bench/throttle_proxy.py, which limits every "
                             "connection to this many MB/s (as real networks do; loopback does not)")
    parser.add_argument("--json", help="also write raw results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0

    env = os.environ
    missing = [k for k in ("S3KEEP_TEST_ENDPOINT", "S3KEEP_TEST_ACCESS_KEY", "S3KEEP_TEST_SECRET_KEY") if k not in env]
    if missing:
        print(f"missing {missing}: run under `python3 scripts/minio_harness.py run -- ...`", file=sys.stderr)
        return 2

    import boto3
    import botocore
    import s3transfer
    import s3keep

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="s3keep-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    endpoint = env["S3KEEP_TEST_ENDPOINT"]
    proxy = None
    if args.per_connection_mbps:
        proxy = subprocess.Popen([sys.executable, str(Path(__file__).with_name("throttle_proxy.py")),
                                  urlparse(endpoint).netloc, str(args.per_connection_mbps)],
                                 stdout=subprocess.PIPE, text=True)
        assert proxy.stdout is not None
        endpoint = f"http://127.0.0.1:{proxy.stdout.readline().strip()}"
    try:
        t0 = time.perf_counter()
        small_dir, big_file = make_data(work / "data", args.files, args.file_size, args.big_mib * MiB)
        out_dir = work / "out"
        out_dir.mkdir()
        cfg = {
            "endpoint": endpoint,
            "access_key": env["S3KEEP_TEST_ACCESS_KEY"],
            "secret_key": env["S3KEEP_TEST_SECRET_KEY"],
            "region": env.get("S3KEEP_TEST_REGION", "us-east-1"),
            "bucket": f"bench-{os.getpid()}-{int(time.time())}",
            "concurrency": args.concurrency,
            "part_size": args.part_mib * MiB,
            "small_dir": str(small_dir),
            "big_file": str(big_file),
            "out_dir": str(out_dir),
        }
        ctx = Ctx(cfg)
        ctx.s3().create_bucket(Bucket=ctx.bucket)
        store = ctx.store()
        store.save(ctx.backup_id(FIXTURE_BIG), {"files": str(big_file)})
        store.save(ctx.backup_id(FIXTURE_SMALL), {"files": str(small_dir)})
        minio_pid = find_minio_pid(env["S3KEEP_TEST_ENDPOINT"])
        sizes = {"files": args.files, "small_bytes": args.files * args.file_size, "big_bytes": args.big_mib * MiB}

        variants = _variants(args.concurrency)
        if args.only:
            wanted = args.only.split(",")
            variants = [v for v in variants if any(w in v.key for w in wanted)]
        la = os.getloadavg()
        print(f"# s3keep {s3keep.__version__} vs boto3 {boto3.__version__} (botocore {botocore.__version__}, "
              f"s3transfer {s3transfer.__version__}); Python {platform.python_version()}")
        print(f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
              f"load {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}; MinIO pid {minio_pid} at {env['S3KEEP_TEST_ENDPOINT']}; "
              f"data in {work} (made in {time.perf_counter() - t0:.1f} s)")
        if proxy is not None:
            print(f"# through bench/throttle_proxy.py at {endpoint}: {args.per_connection_mbps:g} MB/s per connection "
                  "and direction")
        print(f"# {args.files} files x {args.file_size} B; one file of {args.big_mib} MiB; part size "
              f"{args.part_mib} MiB; concurrency {args.concurrency}; N = {args.runs} timed runs per variant "
              f"after 1 warm-up, alternating, order rotated each round", flush=True)

        # Warm-up (untimed): connections, lazy loading; records what boto3 sends; checks data.
        seen_signed, stop_signed = spy_boto3_headers(ctx.s3(True))
        seen_unsigned, stop_unsigned = spy_boto3_headers(ctx.s3(False))
        for v in variants:
            v.prepare(ctx)
            handle = v.run(ctx)
            if v.key == "big-get-s3keep":
                assert file_crc32(Path(handle[1]) / big_file.name) == file_crc32(big_file), "restore differs"
            if v.key == "big-get-boto3":
                assert file_crc32(Path(handle[1])) == file_crc32(big_file), "download differs"
            ctx.cleanup(handle)
        stop_signed()
        stop_unsigned()
        for op, headers in sorted(seen_signed.items()):
            print(f"# boto3 {op}: {headers}")
        for op, headers in sorted(seen_unsigned.items()):
            print(f"# boto3 (payload_signing_enabled=False) {op}: {headers}")
        print("# s3keep PutObject/UploadPart: x-amz-checksum-crc32c, x-amz-content-sha256=UNSIGNED-PAYLOAD", flush=True)

        results: dict[str, list[dict[str, float]]] = {v.key: [] for v in variants}
        ops: dict[str, list[Variant]] = {}
        for v in variants:
            ops.setdefault(v.op, []).append(v)
        for op, group in ops.items():
            for r in range(args.runs):
                k = r % len(group)
                for v in group[k:] + group[:k]:
                    m = measure(ctx, v, minio_pid)
                    results[v.key].append(m)
                    print(f"  {op:10} run {r + 1}/{args.runs} {v.key:24} {m['wall']:7.3f} s  cpu {m['cpu']:6.2f}  "
                          f"minio {m['minio_cpu']:6.2f}", flush=True)

        rss: dict[str, dict[str, Any]] = {}
        if not args.no_rss:
            child_env = dict(os.environ, **{CTX_ENV: json.dumps(cfg)})
            for v in variants:
                p = subprocess.run([sys.executable, __file__, "--worker", v.key], env=child_env,
                                   capture_output=True, text=True)
                if p.returncode == 0:
                    rss[v.key] = json.loads(p.stdout.strip().splitlines()[-1])
                else:
                    rss[v.key] = {"error": (p.stderr.strip().splitlines() or ["?"])[-1]}
                print(f"  rss {v.key:24} {rss[v.key]}", flush=True)

        la = os.getloadavg()
        print(f"\n# load at the end: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}\n")
        print(report(args, variants, results, rss, sizes))
        print("\n`s3keep speed ÷ this` = this variant's median time ÷ s3keep's: above 1, s3keep is faster.")
        if args.json:
            Path(args.json).write_text(json.dumps({"config": {k: v for k, v in cfg.items() if "key" not in k},
                                                   "results": results, "rss": rss}, indent=1))
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
