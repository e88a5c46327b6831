"""What every group of bench/peers.py shares: running a client as a measured child,
server CPU, the admin client (mc) for buckets and sizes, the data, the machine.

Standard library only: the orchestrator runs on the system Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

MiB = 1 << 20
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- measuring

@dataclass
class Measured:
    """One run of one client process: wall time, CPU (user+sys) and peak RSS (ru_maxrss) of the
    process and of every descendant it waited for."""

    wall: float
    cpu: float
    maxrss_kib: int
    rc: int
    out: str
    err: str
    server_cpu: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def error_line(self) -> str:
        lines = [ln for ln in (self.err or self.out).strip().splitlines() if ln.strip()]
        return (lines[-1] if lines else f"exit {self.rc}")[:300]


def run_measured(argv: list[str], env: dict[str, str], server_pid: Optional[int] = None,
                 cwd: Optional[str] = None, timeout: float = 3600) -> Measured:
    """Runs `argv` under bench/rusage.c ($S3KEEP_BENCH_RUSAGE), which forks it, waits with
    wait4(2) and reports its wall time, CPU and ru_maxrss: this child's and its reaped
    descendants', whatever the runtime (Go, Node, Python, Rust). The kernel's high-water mark
    is exact, no polling; the ~1 MiB wrapper keeps our own RSS out of it (see rusage.c)."""
    out_path, err_path, usage_path = _scratch("out"), _scratch("err"), _scratch("rusage")
    usage_path.unlink(missing_ok=True)
    wrapper = os.environ["S3KEEP_BENCH_RUSAGE"]
    with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
        server0 = proc_cpu(server_pid)
        proc = subprocess.Popen([wrapper, str(usage_path), *argv], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()  # the child dies with it (PR_SET_PDEATHSIG)
            rc = proc.wait()
        server = proc_cpu(server_pid) - server0
        out.seek(0)
        err.seek(0)
        text_out = out.read().decode(errors="replace")
        text_err = err.read().decode(errors="replace")
    try:
        u = json.loads(usage_path.read_text())
    except (OSError, ValueError):
        u = {"wall": float("nan"), "user": float("nan"), "sys": float("nan"), "maxrss_kib": 0}
        rc = rc or 1
    return Measured(u["wall"], u["user"] + u["sys"], u["maxrss_kib"], rc, text_out[-20000:], text_err[-4000:],
                    server)


_SCRATCH: list[Path] = []


def _scratch(name: str) -> Path:
    if not _SCRATCH:
        _SCRATCH.append(Path(os.environ.get("TMPDIR", "/tmp")) / f"s3keep-bench-{os.getpid()}")
        _SCRATCH[0].mkdir(exist_ok=True)
    return _SCRATCH[0] / name


def proc_cpu(pid: Optional[int]) -> float:
    """User+system CPU seconds of a process (all threads), from /proc."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def find_listener_pid(endpoint: str, name: bytes) -> Optional[int]:
    """The pid of the process named `name` whose command line holds the endpoint's port."""
    needle = f"127.0.0.1:{urlparse(endpoint).port}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(name) and needle in argv:
            return int(entry)
    return None


# ---------------------------------------------------------------------------- the server

@dataclass
class Target:
    """An S3 endpoint the clients talk to: the harness's MinIO, or bench/sink.py."""

    name: str  # "minio" or "sink"
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    mc: str  # the mc binary, used as the admin client (untimed)
    pid: Optional[int]
    serves_data: bool  # False for the sink: GETs of file data fail
    admin_endpoint: Optional[str] = None  # for untimed admin work, when `endpoint` is a throttling proxy

    def mc_env(self, admin: bool = False) -> dict[str, str]:
        u = urlparse(self.admin_endpoint or self.endpoint if admin else self.endpoint)
        return dict(os.environ, MC_HOST_bench=f"{u.scheme}://{self.access_key}:{self.secret_key}@{u.netloc}")

    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`mc ARGS` against this target (alias `bench`), untimed."""
        p = subprocess.run([self.mc, "--no-color", "--quiet", *args], env=self.mc_env(admin=True), capture_output=True,
                           text=True, timeout=1800)
        if check and p.returncode != 0:
            raise RuntimeError(f"mc {' '.join(args)}: {(p.stderr or p.stdout).strip()[-500:]}")
        return p

    def make_bucket(self, bucket: str) -> None:
        self.admin("mb", "--ignore-existing", f"bench/{bucket}")

    def remove_bucket(self, bucket: str) -> None:
        self.admin("rb", "--force", f"bench/{bucket}", check=False)

    def remove_prefix(self, bucket: str, prefix: str) -> None:
        if self.serves_data:
            self.admin("rm", "--recursive", "--force", f"bench/{bucket}/{prefix}", check=False)

    def stored(self, bucket: str, prefix: str = "") -> tuple[int, int]:
        """(bytes, objects) stored under the prefix."""
        p = self.admin("ls", "--recursive", "--json", f"bench/{bucket}/{prefix}", check=False)
        size = count = 0
        for line in p.stdout.splitlines():
            doc = json.loads(line)
            if doc.get("type") == "file":
                size += int(doc.get("size", 0))
                count += 1
        return size, count


# ---------------------------------------------------------------------------- data

def stdlib_dir() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["stdlib"])


def copy_tree(src: Path, dst: Path, limit: Optional[int]) -> tuple[int, int]:
    """Copies the regular files below `src` (the first `limit` in sorted order, or all) with
    their mtimes; returns (files, bytes)."""
    files = sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink())
    if limit is not None:
        files = files[:limit]
    total = 0
    for p in files:
        target = dst / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
        total += target.stat().st_size
    return len(files), total


def random_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(16 * MiB, left)
            f.write(os.urandom(n))
            left -= n


def small_files(root: Path, count: int, size: int) -> None:
    root.mkdir(parents=True)
    for i in range(count):
        (root / f"f{i:05d}.bin").write_bytes(os.urandom(size))


def tree_stats(root: Path) -> tuple[int, int]:
    """(files, bytes) of the regular files below `root`."""
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            files += 1
            total += st.st_size
    return files, total


class Touch:
    """Changes every 100th file of a tree (16 bytes appended: size and mtime change, as an
    edit would), and puts them back as they were (content and mtime)."""

    SUFFIX = b"\n# s3keep bench\n"

    def __init__(self, root: Path):
        names = sorted(p for p in root.rglob("*") if p.is_file())
        self.files = names[::100] or names[:1]
        self.saved: list[tuple[Path, bytes, int, int]] = []

    def apply(self) -> int:
        for p in self.files:
            st = p.stat()
            self.saved.append((p, p.read_bytes(), st.st_atime_ns, st.st_mtime_ns))
            with open(p, "ab") as f:
                f.write(self.SUFFIX)
        return len(self.files) * len(self.SUFFIX)

    def revert(self) -> None:
        for p, data, atime, mtime in self.saved:
            p.write_bytes(data)
            os.utime(p, ns=(atime, mtime))
        self.saved.clear()


# ---------------------------------------------------------------------------- the machine

def machine() -> dict[str, Any]:
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal:")), "0")
    return {"nproc": os.cpu_count(), "mem_gib": round(int(mem) / (1 << 20), 1),
            "cpu": next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                         if ln.startswith("model name")), "?")}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def version_of(argv: list[str], env: Optional[dict[str, str]] = None) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    except OSError as e:
        return f"unavailable ({e.strerror})"
    text = (p.stdout or p.stderr).strip().splitlines()
    if p.returncode != 0:
        return f"unavailable ({text[-1].strip() if text else f'exit {p.returncode}'})"
    return text[0].strip() if text else "?"
