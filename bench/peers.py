#!/usr/bin/env python3
"""s3keep against the tools people use instead, side by side on one server.

    bash bench/run.sh [--quick] [--only cli,python,js,sink] [--runs N]   # the one command

bench/run.sh installs the peers (bench/setup.sh), builds what the groups need, starts MinIO
(scripts/minio_harness.py) and runs this file, which needs the S3KEEP_TEST_* variables of
the harness and the S3KEEP_BENCH_* paths run.sh exports. Groups:

  cli     s3keep CLI vs mc, rclone, restic (with and without its cache), aws-cli: a tree
          (first save, second save unchanged, save after 1% changed, restore) and a file
          (save, restore); stored bytes per tool
  python  BackupStore (sync, asyncio) vs boto3 and obstore: small files and a file, PUT/GET
  js      the npm package vs @aws-sdk/lib-storage and aws4fetch, in Node and Bun
  sink    the cli and python saves against bench/sink.py, which discards bodies

Prints the runs as they go, then Markdown tables; writes raw JSON (and the Markdown beside
it). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import cli_group
import lib_groups
from benchlib import (MiB, Measured, Target, copy_tree, find_listener_pid, load, machine, random_file,
                      small_files, stdlib_dir, version_of)
from report import markdown

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
GROUPS = ("cli", "python", "js", "sink")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small inputs (300 files of the tree, 64 MiB file, 200 small files), N = 1: a smoke test")
    p.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups ({', '.join(GROUPS)})")
    p.add_argument("--variants", default="", help="comma-separated substrings of variant keys to keep")
    p.add_argument("--runs", type=int, help="rounds per operation (default 3, 1 with --quick)")
    p.add_argument("--tree", help="the tree to save (default: the Python standard library)")
    p.add_argument("--tree-files", type=int, help="only the first N files of the tree (sorted)")
    p.add_argument("--big-mib", type=int, help="size of the large file (default 1024, 64 with --quick)")
    p.add_argument("--small-files", type=int, help="small files of the Python/JS groups (default 2000)")
    p.add_argument("--small-size", type=int, default=8 * 1024, help="bytes per small file")
    p.add_argument("--concurrency", type=int, default=8, help="Python/JS clients (the CLIs keep their defaults)")
    p.add_argument("--part-mib", type=int, default=16, help="Python/JS part size and multipart threshold")
    p.add_argument("--formats", default="", help="s3keep formats to run, e.g. 1,2 (default: all the faces take)")
    p.add_argument("--per-connection-mbps", type=float,
                   help="put bench/throttle_proxy.py in front of MinIO, limiting every connection to R MB/s")
    p.add_argument("--workdir", help="where the data goes (default: a temporary directory, removed after)")
    p.add_argument("--json", help="raw results (default: bench/results/peers-DATE.json; Markdown beside it)")
    a = p.parse_args()
    a.groups = [g for g in a.only.split(",") if g]
    bad = set(a.groups) - set(GROUPS)
    if bad:
        p.error(f"unknown groups {sorted(bad)}")
    a.runs = a.runs or (1 if a.quick else 3)
    a.big_mib = a.big_mib or (64 if a.quick else 1024)
    a.small_files = a.small_files or (200 if a.quick else 2000)
    a.tree_files = a.tree_files or (300 if a.quick else None)
    return a


# ---------------------------------------------------------------------------- probes

def cli_formats(env: dict[str, str], wanted: list[int]) -> tuple[list[Optional[int]], Optional[str], list[str]]:
    where = cli_group.s3keep_format_flag(env["S3KEEP_BENCH_CLI"])
    if where is None:
        return [None], None, ["the s3keep CLI has no --format flag yet: format 1 only"]
    return list(wanted or [1, 2]), where, []


def python_formats(env: dict[str, str], wanted: list[int]) -> tuple[list[Optional[int]], list[str]]:
    probe = subprocess.run([env["S3KEEP_BENCH_S3KEEP_PYTHON"], "-c",
                            "import s3keep; s3keep.BackupStore('b', endpoint='http://127.0.0.1:1', format=1)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return [None], ["the Python BackupStore takes no format= yet: format 1 only"]
    return list(wanted or [1, 2]), []


def js_formats(env: dict[str, str], wanted: list[int]) -> tuple[list[Optional[int]], list[str]]:
    entry = (REPO / "bindings-wasm" / "js" / "index.js").as_uri()
    code = (f"const m = await import({json.dumps(entry)}); new m.BackupStore({{bucket: 'b', "
            "endpoint: 'http://127.0.0.1:1', env: false, format: 1}});")
    probe = subprocess.run([env.get("S3KEEP_BENCH_NODE", "node"), "--input-type=module", "-e", code],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return [None], ["the npm package's BackupStore takes no format option yet: format 1 only"]
    return list(wanted or [1, 2]), []


def versions(env: dict[str, str], groups: list[str]) -> dict[str, str]:
    v: dict[str, str] = {}
    peer_py = str(Path(env["S3KEEP_BENCH_VENV"]) / "bin" / "python")
    pins = dict(line.split("=", 1) for line in (REPO / "scripts" / "versions.env").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    v["MinIO"] = pins.get("MINIO_VERSION", "?")
    if "cli" in groups or "sink" in groups:
        v["s3keep CLI"] = version_of([env["S3KEEP_BENCH_CLI"], "--version"])
        v["mc"] = version_of([env["S3KEEP_BENCH_MC"], "--version"])
        v["rclone"] = version_of([env["S3KEEP_BENCH_RCLONE"], "version"])
        v["restic"] = version_of([env["S3KEEP_BENCH_RESTIC"], "version"])
        v["aws-cli"] = version_of([str(Path(env["S3KEEP_BENCH_VENV"]) / "bin" / "aws"), "--version"])
    if "python" in groups or "sink" in groups:
        v["Python s3keep"] = version_of([env["S3KEEP_BENCH_S3KEEP_PYTHON"], "-c",
                                         "import s3keep, sys; print(s3keep.__version__, sys.version.split()[0])"])
        v["boto3 / obstore"] = version_of([peer_py, "-c", "import boto3, obstore; print(boto3.__version__, "
                                           "obstore.__version__)"])
    if "js" in groups:
        v["node"] = version_of([env.get("S3KEEP_BENCH_NODE", "node"), "--version"])
        v["bun"] = version_of([env["S3KEEP_BENCH_BUN"], "--version"])
        deps = json.loads((BENCH / "package.json").read_text())["dependencies"]
        v["npm peers"] = ", ".join(f"{k} {x}" for k, x in deps.items())
    return v


# ---------------------------------------------------------------------------- main

def main() -> int:
    args = parse_args()
    env = dict(os.environ)
    missing = [k for k in ("S3KEEP_TEST_ENDPOINT", "S3KEEP_BENCH_VENV", "S3KEEP_BENCH_MC", "S3KEEP_BENCH_RUSAGE")
               if k not in env]
    if missing:
        print(f"missing {missing}: run `bash bench/run.sh`", file=sys.stderr)
        return 2
    env.setdefault("S3KEEP_BENCH_CLI", str(REPO / "target" / "release" / "s3keep"))
    env.setdefault("S3KEEP_BENCH_S3KEEP_PYTHON", str(REPO / ".venv" / "bin" / "python"))
    env.setdefault("S3KEEP_BENCH_BUN", str(REPO / "bindings-wasm" / "node_modules" / ".bin" / "bun"))
    os.environ.update(env)
    wanted = [int(f) for f in args.formats.split(",") if f]
    started = dt.datetime.now(dt.timezone.utc)
    meta: dict[str, Any] = {"started": f"{started:%Y-%m-%d %H:%M}", "mode": "quick" if args.quick else "full",
                            "machine": machine(), "load_start": load(), "runs": args.runs, "notes": [],
                            "versions": versions(env, args.groups)}
    fmt_cli: list[Optional[int]] = [None]
    fmt_py: list[Optional[int]] = [None]
    fmt_js: list[Optional[int]] = [None]
    where = None
    if {"cli", "sink"} & set(args.groups):
        fmt_cli, where, notes = cli_formats(env, wanted)
        meta["notes"] += notes
    if {"python", "sink"} & set(args.groups):
        fmt_py, notes = python_formats(env, wanted)
        meta["notes"] += notes
    if "js" in args.groups:
        fmt_js, notes = js_formats(env, wanted)
        meta["notes"] += notes

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="s3keep-peers-"))
    work.mkdir(parents=True, exist_ok=True)
    proxy = sink = None
    rows: list[dict[str, Any]] = []
    stored: dict[str, dict[str, list[int]]] = {}
    out_json = Path(args.json) if args.json else BENCH / "results" / f"peers-{started:%Y%m%d-%H%M%S}.json"
    try:
        t0 = time.perf_counter()
        tree_src = Path(args.tree) if args.tree else stdlib_dir()
        tree = work / "tree"
        tree_files = tree_bytes = 0
        if {"cli", "sink"} & set(args.groups):
            tree_files, tree_bytes = copy_tree(tree_src, tree, args.tree_files)
        big_dir = work / "big"
        random_file(big_dir / "big.bin", args.big_mib * MiB)
        small = work / "small"
        if {"python", "js", "sink"} & set(args.groups):
            small_files(small, args.small_files, args.small_size)
        cli_data = cli_group.CliData(tree, tree_files, tree_bytes, big_dir, args.big_mib * MiB, work)
        lib_data = lib_groups.LibData(small, args.small_files, args.small_size, big_dir / "big.bin",
                                      args.big_mib * MiB, work)
        base_cfg = {"concurrency": args.concurrency, "part_size": args.part_mib * MiB,
                    "package_dir": str(REPO / "bindings-wasm"), "node_modules": env.get("S3KEEP_BENCH_NODE_MODULES", "")}
        settings: dict[str, str] = {}
        if tree_files:
            settings["tree"] = (f"{tree_src}" + (f" (first {args.tree_files} files)" if args.tree_files else "")
                                + f": {tree_files:,} files, {tree_bytes / MiB:,.0f} MiB (copied to the work directory)")
        settings["file"] = f"{args.big_mib} MiB of random bytes"
        if {"python", "js", "sink"} & set(args.groups):
            settings["small files"] = f"{args.small_files:,} × {args.small_size:,} B"
            settings["Python/JS clients"] = (f"concurrency {args.concurrency}, part size and multipart threshold "
                                             f"{args.part_mib} MiB; the CLIs run with their own defaults")
        settings["data made in"] = f"{time.perf_counter() - t0:.0f} s"
        meta["settings"] = settings

        endpoint = env["S3KEEP_TEST_ENDPOINT"]
        minio_pid = find_listener_pid(endpoint, b"minio")
        if args.per_connection_mbps:
            proxy = subprocess.Popen([sys.executable, str(BENCH / "throttle_proxy.py"), endpoint.split("//", 1)[1],
                                      str(args.per_connection_mbps)], stdout=subprocess.PIPE, text=True)
            assert proxy.stdout is not None
            endpoint = f"http://127.0.0.1:{proxy.stdout.readline().strip()}"
            meta["notes"].append(f"through bench/throttle_proxy.py: {args.per_connection_mbps:g} MB/s per connection")
        minio = Target("minio", endpoint, env["S3KEEP_TEST_ACCESS_KEY"], env["S3KEEP_TEST_SECRET_KEY"],
                       env.get("S3KEEP_TEST_REGION", "us-east-1"), env["S3KEEP_BENCH_MC"], minio_pid, True,
                       env["S3KEEP_TEST_ENDPOINT"])
        print(f"# {meta['started']} UTC, load {meta['load_start']}, work in {work}", flush=True)
        for k, v in {**meta["settings"], **meta["versions"]}.items():
            print(f"# {k}: {v}", flush=True)
        for n in meta["notes"]:
            print(f"# note: {n}", flush=True)

        def recorder(group: str, target: Target, label_of_op: dict[str, str]) -> Any:
            def record(op: str, variant: Any, round: int, m: Measured) -> None:
                row = {"group": group, "target": target.name, "op": op, "op_label": label_of_op.get(op, op),
                       "variant": variant.key, "label": variant.label, "lib": variant.lib,
                       "family": getattr(variant, "family", ""), "fmt": variant.fmt, "round": round, "ok": m.ok,
                       "wall": m.wall, "cpu": m.cpu, "peak_kib": m.maxrss_kib, "server_cpu": m.server_cpu,
                       **{k: v for k, v in m.extra.items() if k not in ("wall", "cpu", "peak_kib")}}
                if not m.ok:
                    row["error"] = m.error_line()
                if row.get("check"):
                    row["ok"] = False
                rows.append(row)
                status = "ok" if row["ok"] else f"FAILED: {row.get('error') or row['check']}"
                print(f"  {group:6} {target.name:5} {op:28} r{round + 1} {variant.key:22} {m.wall:8.2f} s  "
                      f"cpu {m.cpu:7.2f}  peak {m.maxrss_kib / 1024:7.0f} MiB  server {m.server_cpu:6.2f}  {status}",
                      flush=True)
            return record

        file_label = f"{args.big_mib} MiB file"
        cli_labels = {o: o.replace("file:", f"{file_label}:") for o in cli_group.OPS_BIG}
        lib_labels = {"small-put": f"{args.small_files:,} × {args.small_size // 1024} KiB PUT",
                      "small-get": f"{args.small_files:,} × {args.small_size // 1024} KiB GET",
                      "big-put": f"{file_label} PUT", "big-get": f"{file_label} GET"}

        def keep(variants: list[Any]) -> list[Any]:
            subs = [s for s in args.variants.split(",") if s]
            return [v for v in variants if not subs or any(s in v.key for s in subs)]

        def run_targets(targets: list[Target]) -> None:
            for target in targets:
                for group in ("cli", "python", "js"):
                    if target.name == "minio" and group not in args.groups:
                        continue
                    if target.name == "sink" and group == "js":
                        continue
                    if group == "cli":
                        tools = keep(cli_group.tools(env, fmt_cli, where))
                        cli_group.run_group(target, tools, cli_data, args.runs,
                                            recorder("cli", target, cli_labels), stored if target.name == "minio" else {})
                    else:
                        variants = keep(lib_groups.python_variants(env, fmt_py) if group == "python"
                                        else lib_groups.js_variants(env, fmt_js))
                        lib_groups.run_group(group, target, variants, lib_data, base_cfg, args.runs,
                                             recorder(group, target, lib_labels))

        targets = [minio] if set(args.groups) - {"sink"} else []
        run_targets(targets)
        if "sink" in args.groups:
            sink = subprocess.Popen([sys.executable, str(BENCH / "sink.py")], stdout=subprocess.PIPE, text=True)
            assert sink.stdout is not None
            sink_endpoint = json.loads(sink.stdout.readline())["endpoint"]
            target = Target("sink", sink_endpoint, "sink", "sink-secret", "us-east-1", env["S3KEEP_BENCH_MC"],
                            sink.pid, False)
            meta["notes"].append("the sink cannot serve restores or GETs (it discards bodies), nor restic's second "
                                 "saves (restic reads its tree blobs back from data/ packs)")
            run_targets([target])
    finally:
        for p in (proxy, sink):
            if p is not None:
                p.terminate()
                p.wait()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    meta["load_end"] = load()
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps({"meta": meta, "rows": rows, "stored": stored}, indent=1))
    md = markdown(meta, rows, stored)
    out_json.with_suffix(".md").write_text(md + "\n")
    print("\n" + md)
    print(f"\n(raw results: {out_json}; Markdown: {out_json.with_suffix('.md')})")
    return 0 if rows and all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
