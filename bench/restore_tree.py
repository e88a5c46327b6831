"""Restore of a tree of many small files, side by side: s3keep (format 1 and 2) and rclone.

A focused companion of the cli group of peers.py, for profiling work on small-file restore:
the tree is uploaded once per variant (untimed), then each variant restores it into a fresh
directory, the variants alternating, N rounds; prints medians, client CPU (user + sys of
the process tree, from wait4) and ratios. Run inside scripts/minio_harness.py (it reads the
S3KEEP_TEST_* variables); bench/README.md gives the command.

Variants: `s3keep-f1`, `s3keep-f2` (S3KEEP_BENCH_CLI, default target/release/s3keep),
`s3keep-old-f1` when S3KEEP_BENCH_CLI_OLD names an earlier build (format 1 only), `rclone`
(RCLONE, default the pin bench/setup.sh installs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and client CPU seconds (user + sys) of one child process."""
    start = time.monotonic()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed: {err.strip()}")
    return wall, usage.ru_utime + usage.ru_stime


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tree", default=sysconfig.get_paths()["stdlib"])
    args = p.parse_args()
    src = Path(args.tree)
    endpoint = os.environ["S3KEEP_TEST_ENDPOINT"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["S3KEEP_TEST_ACCESS_KEY"],
               AWS_SECRET_ACCESS_KEY=os.environ["S3KEEP_TEST_SECRET_KEY"],
               AWS_REGION=os.environ["S3KEEP_TEST_REGION"])
    cli = os.environ.get("S3KEEP_BENCH_CLI", str(REPO / "target/release/s3keep"))
    old = os.environ.get("S3KEEP_BENCH_CLI_OLD")
    cache = Path(os.environ.get("S3KEEP_CACHE", Path.home() / ".cache/s3keep"))
    pins = dict(line.split("=", 1) for line in (REPO / "bench/versions.env").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    rclone = os.environ.get("RCLONE", str(cache / f"bin/rclone-{pins['RCLONE_VERSION']}/rclone"))
    work = Path(tempfile.mkdtemp(prefix="s3keep-restore-tree-"))
    conf = work / "rclone.conf"
    conf.touch()
    renv = dict(env, RCLONE_CONFIG=str(conf), RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Minio",
                RCLONE_CONFIG_BENCH_ENDPOINT=endpoint, RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=env["AWS_ACCESS_KEY_ID"],
                RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=env["AWS_SECRET_ACCESS_KEY"],
                RCLONE_CONFIG_BENCH_REGION=env["AWS_REGION"])

    def url(fmt: int) -> str:
        return f"s3://restore-tree-f{fmt}/t?endpoint={endpoint}&format={fmt}"

    variants: dict[str, list[str]] = {}
    for fmt in (1, 2):
        subprocess.run([cli, "--url", url(fmt), "--create-bucket", "list"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([cli, "--url", url(fmt), "save", "0/1/0", str(src), "-q"], env=env, check=True)
        variants[f"s3keep-f{fmt}"] = [cli, "--url", url(fmt), "restore", "0/1/0"]
    if old:
        # An earlier build without `format` reads the format 1 store all the same.
        old_url = f"s3://restore-tree-f1/t?endpoint={endpoint}"
        variants["s3keep-old-f1"] = [old, "--url", old_url, "restore", "0/1/0"]
    subprocess.run([rclone, "mkdir", "bench:restore-tree-rclone"], env=renv, check=True)
    subprocess.run([rclone, "copy", str(src), "bench:restore-tree-rclone/t"], env=renv, check=True)
    variants["rclone"] = [rclone, "copy", "bench:restore-tree-rclone/t"]

    files = count_files(src)
    print(f"tree {src}: {files} files; {args.runs} rounds; load {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    keys = list(variants)
    for round_ in range(args.runs):
        order = keys[round_ % len(keys):] + keys[:round_ % len(keys)]
        for key in order:
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            wall, cpu = measured(variants[key] + [str(out)], renv if key == "rclone" else env)
            got = count_files(out)
            if got != files:
                sys.exit(f"{key} restored {got} files, expected {files}")
            results[key].append((wall, cpu))
            print(f"  round {round_ + 1} {key:14} {wall:6.2f} s wall, {cpu:6.2f} s CPU", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")
    print("| variant | median wall s | median client CPU s | rclone wall ÷ this |")
    print("| --- | ---: | ---: | ---: |")
    base = statistics.median(w for w, _ in results["rclone"])
    for key, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {key} | {wall:.2f} | {cpu:.2f} | {base / wall:.2f}× |")


if __name__ == "__main__":
    main()
