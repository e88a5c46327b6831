"""The CLI group: s3keep against mc, rclone, restic and aws-cli on a tree and a large file.

Every tool runs as a child process measured by benchlib.run_measured (wall, CPU and peak
RSS of the process tree). Per round, each tool in turn (the order rotating) goes through:
tree first save, second save unchanged, save after 1% of the files changed, restore; then
the large file: save, restore. Each tool writes into a bucket of its own, removed after.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from benchlib import Measured, Target, Touch, run_measured, tree_stats

OPS_TREE = ("tree: first save", "tree: second save, unchanged", "tree: save, 1% changed", "tree: restore")
OPS_BIG = ("file: save", "file: restore")


@dataclass
class Dest:
    bucket: str
    prefix: str  # "tree/" or "big/"
    private: Path  # the tool's own scratch (config, cache)


class Tool:
    key = ""
    label = ""
    lib = ""  # "s3keep" for the reference variants
    fmt: Optional[int] = None
    # Ops the sink can serve for this tool (it discards data, so no restore).
    sink_ops: tuple[str, ...] = (OPS_TREE[0], OPS_TREE[1], OPS_TREE[2], OPS_BIG[0])

    def env(self, t: Target, d: Dest) -> dict[str, str]:
        return dict(os.environ, AWS_ACCESS_KEY_ID=t.access_key, AWS_SECRET_ACCESS_KEY=t.secret_key,
                    AWS_REGION=t.region, AWS_DEFAULT_REGION=t.region)

    def init(self, t: Target, d: Dest) -> Optional[list[str]]:
        return None

    def save(self, t: Target, d: Dest, src: Path, n: int) -> list[str]:
        raise NotImplementedError

    def restore(self, t: Target, d: Dest, n: int, out: Path) -> list[str]:
        raise NotImplementedError


class S3keep(Tool):
    lib = "s3keep"

    def __init__(self, binary: str, fmt: Optional[int], flag_where: Optional[str]):
        self.binary, self.fmt, self.flag_where = binary, fmt, flag_where
        self.key = f"s3keep-f{fmt or 1}"
        self.label = f"s3keep, format {fmt or 1}"

    def base(self, t: Target, d: Dest) -> list[str]:
        url = f"s3://{d.bucket}/{d.prefix}?endpoint={t.endpoint}&addressing=path&region={t.region}"
        argv = [self.binary, "--url", url, "--quiet"]
        if self.fmt is not None and self.flag_where == "global":
            argv += ["--format", str(self.fmt)]
        return argv

    def save(self, t: Target, d: Dest, src: Path, n: int) -> list[str]:
        extra = ["--format", str(self.fmt)] if self.fmt is not None and self.flag_where == "save" else []
        return self.base(t, d) + ["save", f"0/{n}/0", str(src)] + extra

    def restore(self, t: Target, d: Dest, n: int, out: Path) -> list[str]:
        return self.base(t, d) + ["restore", f"0/{n}/0", str(out)]


class Mc(Tool):
    key, lib, label = "mc", "mc", "mc (mirror --overwrite; cp --recursive)"

    def __init__(self, binary: str):
        self.binary = binary

    def env(self, t: Target, d: Dest) -> dict[str, str]:
        return dict(t.mc_env(), MC_CONFIG_DIR=str(d.private / "mc"))

    def save(self, t: Target, d: Dest, src: Path, n: int) -> list[str]:
        return [self.binary, "--quiet", "--no-color", "mirror", "--overwrite", f"{src}/", f"bench/{d.bucket}/{d.prefix}"]

    def restore(self, t: Target, d: Dest, n: int, out: Path) -> list[str]:
        return [self.binary, "--quiet", "--no-color", "cp", "--recursive", f"bench/{d.bucket}/{d.prefix}", f"{out}/"]


class Rclone(Tool):
    key, lib, label = "rclone", "rclone", "rclone (copy)"

    def __init__(self, binary: str):
        self.binary = binary

    def env(self, t: Target, d: Dest) -> dict[str, str]:
        conf = d.private / "rclone.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.touch()
        return dict(os.environ, RCLONE_CONFIG=str(conf), RCLONE_CONFIG_BENCH_TYPE="s3",
                    RCLONE_CONFIG_BENCH_PROVIDER="Minio", RCLONE_CONFIG_BENCH_ENDPOINT=t.endpoint,
                    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=t.access_key,
                    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=t.secret_key, RCLONE_CONFIG_BENCH_REGION=t.region)

    def save(self, t: Target, d: Dest, src: Path, n: int) -> list[str]:
        return [self.binary, "copy", str(src), f"bench:{d.bucket}/{d.prefix}"]

    def restore(self, t: Target, d: Dest, n: int, out: Path) -> list[str]:
        return [self.binary, "copy", f"bench:{d.bucket}/{d.prefix}", str(out)]


class Restic(Tool):
    lib = "restic"
    # A second save reads the parent snapshot's tree blobs back from data/ packs.
    sink_ops = (OPS_TREE[0], OPS_BIG[0])

    def __init__(self, binary: str, cache: bool):
        self.binary, self.cache = binary, cache
        self.key = "restic-cache" if cache else "restic"
        self.label = "restic" + (", with its cache" if cache else " --no-cache")

    def env(self, t: Target, d: Dest) -> dict[str, str]:
        return dict(super().env(t, d), RESTIC_REPOSITORY=f"s3:{t.endpoint}/{d.bucket}/{d.prefix.rstrip('/')}",
                    RESTIC_PASSWORD="s3keep-bench", RESTIC_CACHE_DIR=str(d.private / "restic-cache"))

    def flags(self) -> list[str]:
        return [] if self.cache else ["--no-cache"]

    def init(self, t: Target, d: Dest) -> Optional[list[str]]:
        return [self.binary, "init", "-q", *self.flags()]

    def save(self, t: Target, d: Dest, src: Path, n: int) -> list[str]:
        return [self.binary, "backup", "-q", "--host", "bench", *self.flags(), str(src)]

    def restore(self, t: Target, d: Dest, n: int, out: Path) -> list[str]:
        return [self.binary, "restore", "latest", "-q", "--host", "bench", "--target", str(out), *self.flags()]


class AwsCli(Tool):
    key, lib, label = "aws", "aws-cli", "aws-cli (s3 sync; s3 cp --recursive)"

    def __init__(self, venv: str):
        self.binary = str(Path(venv) / "bin" / "aws")

    def env(self, t: Target, d: Dest) -> dict[str, str]:
        conf = d.private / "aws-config"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("[default]\ns3 =\n    addressing_style = path\n")
        return dict(super().env(t, d), AWS_CONFIG_FILE=str(conf), AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    def save(self, t: Target, d: Dest, src: Path, n: int) -> list[str]:
        return [self.binary, "s3", "sync", str(src), f"s3://{d.bucket}/{d.prefix}", "--only-show-errors",
                "--endpoint-url", t.endpoint]

    def restore(self, t: Target, d: Dest, n: int, out: Path) -> list[str]:
        return [self.binary, "s3", "cp", "--recursive", f"s3://{d.bucket}/{d.prefix}", str(out),
                "--only-show-errors", "--endpoint-url", t.endpoint]


def s3keep_format_flag(binary: str) -> Optional[str]:
    """Where the CLI takes `--format` ("global" or "save"), or None while it has none."""
    for where, argv in (("global", [binary, "--help"]), ("save", [binary, "save", "--help"])):
        text = subprocess.run(argv, capture_output=True, text=True).stdout
        if re.search(r"^\s+--format\b", text, re.M):
            return where
    return None


def tools(env: dict[str, str], formats: list[Optional[int]], flag_where: Optional[str]) -> list[Tool]:
    out: list[Tool] = [S3keep(env["S3KEEP_BENCH_CLI"], f, flag_where) for f in formats]
    out += [Mc(env["S3KEEP_BENCH_MC"]), Rclone(env["S3KEEP_BENCH_RCLONE"]),
            Restic(env["S3KEEP_BENCH_RESTIC"], cache=False), Restic(env["S3KEEP_BENCH_RESTIC"], cache=True),
            AwsCli(env["S3KEEP_BENCH_VENV"])]
    return out


Record = Callable[..., None]


@dataclass
class CliData:
    tree: Path
    tree_files: int
    tree_bytes: int
    big_dir: Path
    big_bytes: int
    work: Path


def run_group(target: Target, tool_list: list[Tool], data: CliData, runs: int, record: Record,
              stored: dict[str, dict[str, list[int]]]) -> None:
    touch = Touch(data.tree)
    for scenario in ("tree", "big"):
        for r in range(runs):
            k = r % len(tool_list)
            for tool in tool_list[k:] + tool_list[:k]:
                _scenario(target, tool, scenario, data, r, touch, record, stored)


def _scenario(target: Target, tool: Tool, scenario: str, data: CliData, r: int, touch: Touch,
              record: Record, stored: dict[str, dict[str, list[int]]]) -> None:
    bucket = f"{target.name}-{tool.key}-{scenario}-{r}".replace("_", "-")
    private = data.work / "private" / bucket
    dest = Dest(bucket, f"{scenario}/", private)
    out = data.work / "restored" / bucket
    env = tool.env(target, dest)
    ops = OPS_TREE if scenario == "tree" else OPS_BIG
    src = data.tree if scenario == "tree" else data.big_dir

    def here(op: str) -> bool:
        return target.serves_data or op in tool.sink_ops

    def step(op: str, argv: list[str], check: Optional[Callable[[Measured], None]] = None) -> Optional[Measured]:
        m = run_measured(argv, env, target.pid)
        if m.ok and check is not None:
            check(m)
        record(op=op, variant=tool, round=r, m=m)
        return m if m.ok else None

    def check_restore(m: Measured) -> None:
        want = (data.tree_files, data.tree_bytes + changed) if scenario == "tree" else (1, data.big_bytes)
        got = tree_stats(out)
        m.extra["restored"] = list(got)
        if got != want:
            m.extra["check"] = f"restored {got[0]} files / {got[1]} bytes, expected {want[0]} / {want[1]}"

    target.make_bucket(bucket)
    changed = 0
    try:
        init = tool.init(target, dest)
        if init is not None:
            m = run_measured(init, env, None)
            if not m.ok:
                record(op=ops[0], variant=tool, round=r, m=m)
                return
        if step(ops[0], tool.save(target, dest, src, 1)) is None:
            return
        if scenario == "tree":
            if target.serves_data:
                stored.setdefault(tool.key, {})["first"] = list(target.stored(bucket))
            if here(ops[1]) and step(ops[1], tool.save(target, dest, src, 2)) is None:
                return
            if here(ops[2]):
                changed = touch.apply()
                m = step(ops[2], tool.save(target, dest, src, 3))
                touch.revert()
                if m is None:
                    return
            if target.serves_data:
                stored[tool.key]["all"] = list(target.stored(bucket))
        if not here(ops[-1]):
            return
        n = 3 if scenario == "tree" else 1
        step(ops[-1], tool.restore(target, dest, n, out), check_restore)
    finally:
        touch.revert()
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
        target.remove_bucket(bucket)
