"""Bucket to store, side by side: s3keep saving an S3 prefix (format 1 and 2) against
`rclone copy` and `mc mirror` between the two buckets.

The tree (default: the Python standard library) is uploaded once as objects into a source
bucket (untimed, by rclone). Each round, every variant copies it into a fresh destination
bucket twice: the first copy, then a second one with nothing changed (an incremental save
for s3keep, a listing comparison for rclone and mc); the variants alternate. Prints each
run, then medians, client CPU (user + sys of the process tree, from wait4) and ratios.
Run inside scripts/minio_harness.py (it reads the S3KEEP_TEST_* variables):

    python3 scripts/minio_harness.py run -- python3 bench/bucket_to_store.py [--runs N]

All variants run on one MinIO, so rclone and mc may copy server-side (CopyObject) where
s3keep reads every object through the client (it chunks, compresses and packs them).
Variants: `s3keep-f1`, `s3keep-f2` (S3KEEP_BENCH_CLI, default target/release/s3keep),
`rclone` (RCLONE) and `mc` (MC), by default the pins bench/setup.sh installs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from restore_tree import REPO, measured

SOURCE = "b2s-source"


def pins() -> dict[str, str]:
    lines = (REPO / "bench/versions.env").read_text().splitlines() + (REPO / "scripts/versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tree", default=sysconfig.get_paths()["stdlib"])
    args = p.parse_args()
    endpoint = os.environ["S3KEEP_TEST_ENDPOINT"]
    key, secret = os.environ["S3KEEP_TEST_ACCESS_KEY"], os.environ["S3KEEP_TEST_SECRET_KEY"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
               AWS_REGION=os.environ["S3KEEP_TEST_REGION"])
    cache = Path(os.environ.get("S3KEEP_CACHE", Path.home() / ".cache/s3keep"))
    pin = pins()
    cli = os.environ.get("S3KEEP_BENCH_CLI", str(REPO / "target/release/s3keep"))
    rclone = os.environ.get("RCLONE", str(cache / f"bin/rclone-{pin['RCLONE_VERSION']}/rclone"))
    mc = os.environ.get("MC", str(cache / f"bin/mc-{pin['MC_VERSION']}/mc"))
    work = Path(tempfile.mkdtemp(prefix="s3keep-bucket-to-store-"))
    conf = work / "rclone.conf"
    conf.touch()
    env.update(RCLONE_CONFIG=str(conf), RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Minio",
               RCLONE_CONFIG_BENCH_ENDPOINT=endpoint, RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=key,
               RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=secret, RCLONE_CONFIG_BENCH_REGION=env["AWS_REGION"],
               MC_CONFIG_DIR=str(work / "mc"),
               MC_HOST_bench=endpoint.replace("://", f"://{key}:{secret}@", 1))

    subprocess.run([rclone, "mkdir", f"bench:{SOURCE}"], env=env, check=True)
    subprocess.run([rclone, "copy", args.tree, f"bench:{SOURCE}/t"], env=env, check=True)
    files = sum(len(names) for _, _, names in os.walk(args.tree))
    source_url = f"s3://{SOURCE}/t?endpoint={endpoint}"

    def store(variant: str, bucket: str) -> list[str]:
        """The s3keep command on the store of an s3keep variant (`s3keep-f1`, `s3keep-f2`)."""
        return [cli, "--url", f"s3://{bucket}/store?endpoint={endpoint}&format={variant[-1]}&create_bucket=true"]

    def commands(variant: str, bucket: str) -> list[list[str]]:
        """The first and the second copy of `variant` into `bucket` (created here)."""
        if variant.startswith("s3keep"):
            return [store(variant, bucket) + ["-q", "save", f"0/{n}/0", "--set", f"tree={source_url}"] for n in (1, 2)]
        subprocess.run([rclone, "mkdir", f"bench:{bucket}"], env=env, check=True)
        if variant == "rclone":
            return [[rclone, "copy", f"bench:{SOURCE}/t", f"bench:{bucket}/t"]] * 2
        return [[mc, "--quiet", "--no-color", "mirror", "--overwrite", f"bench/{SOURCE}/t", f"bench/{bucket}/t"]] * 2

    def count(variant: str, bucket: str) -> int:
        """Untimed check: the objects the copy holds (s3keep: the files of its first backup)."""
        if variant.startswith("s3keep"):
            argv = store(variant, bucket) + ["status", "0/1/0", "--json"]
            status = json.loads(subprocess.run(argv, env=env, check=True, capture_output=True).stdout)
            return int(status["fileCount"])
        size = subprocess.run([rclone, "size", "--json", f"bench:{bucket}/t"], env=env, check=True,
                              capture_output=True).stdout
        return int(json.loads(size)["count"])

    variants = ["s3keep-f2", "s3keep-f1", "rclone", "mc"]
    print(f"tree {args.tree}: {files} objects in s3://{SOURCE}/t; {args.runs} rounds; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(args.runs):
        order = variants[round_ % len(variants):] + variants[:round_ % len(variants)]
        for variant in order:
            bucket = f"b2s-{variant}-{round_}"
            for step, argv in zip(("first", "second"), commands(variant, bucket)):
                wall, cpu = measured(argv, env)
                results.setdefault((variant, step), []).append((wall, cpu))
                print(f"  round {round_ + 1} {variant:10} {step:6} {wall:7.2f} s wall, {cpu:6.2f} s CPU", flush=True)
            copied = count(variant, bucket)
            if copied != files:
                raise SystemExit(f"{variant} copied {copied} objects, expected {files}")
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")
    for step in ("first", "second"):
        print(f"\n{step} copy:\n| variant | median wall s | median client CPU s | wall ÷ s3keep-f2's |")
        print("| --- | ---: | ---: | ---: |")
        base = statistics.median(w for w, _ in results[("s3keep-f2", step)])
        for variant in variants:
            runs = results[(variant, step)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"| {variant} | {wall:.2f} | {cpu:.2f} | {wall / base:.2f}× |")


if __name__ == "__main__":
    main()
