#!/usr/bin/env python3
"""Throw-away MinIO server for s3keep's test suites (standard library only).

Every runner (cargo test, pytest, node/deno/bun) talks to a MinIO started here:
127.0.0.1, a free port, a fresh temporary data directory and random test
credentials. MinIO is killed and the directory removed on every exit path.

As a module:   with MinioServer() as m: m.endpoint, m.access_key, m.secret_key, m.mc(...)
As a command:  minio_harness.py run -- CMD ARGS...   (exports S3KEEP_TEST_* for CMD)
               minio_harness.py serve --watch-pid PID (one JSON line on stdout, stops when PID exits)

Binaries come from $S3KEEP_MINIO_BIN / $S3KEEP_MC_BIN, else from the cache that
scripts/setup.sh fills (${S3KEEP_CACHE:-~/.cache/s3keep}/bin/<tool>-<pin>/<tool>).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ACCESS_KEY = "s3keep-test"
REGION = "us-east-1"
MC_ALIAS = "s3keep"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (SCRIPTS / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


def _cache_dir() -> Path:
    return Path(os.environ.get("S3KEEP_CACHE") or Path.home() / ".cache" / "s3keep")


def tool_path(tool: str) -> Path:
    """Path of the pinned `minio` or `mc` binary built by setup.sh."""
    override = os.environ.get(f"S3KEEP_{tool.upper()}_BIN")
    if override:
        return Path(override)
    pin = _pins()[f"{tool.upper()}_VERSION"]
    return _cache_dir() / "bin" / f"{tool}-{pin}" / tool


def fresh_bucket_name(prefix: str = "t") -> str:
    """A random, valid, lowercase bucket name so tests never share state."""
    return f"{prefix}-{secrets.token_hex(8)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the MinIO child before exec: the kernel sends it SIGKILL if the
    # harness dies without cleaning up (even by SIGKILL), so MinIO never leaks.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class MinioServer:
    """Starts MinIO on enter (or start()), stops it and deletes its data on exit (or stop())."""

    def __init__(self, ready_timeout: float = 60.0):
        self.ready_timeout = ready_timeout
        self.access_key = ACCESS_KEY
        self.secret_key = secrets.token_hex(20)
        self.region = REGION
        self.mc_alias = MC_ALIAS
        self.tmp: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mc_config_dir(self) -> str:
        assert self.tmp is not None
        return str(self.tmp / "mc")

    def env(self) -> dict[str, str]:
        """What a test process needs to find this server (see `run`)."""
        return {
            "S3KEEP_TEST_ENDPOINT": self.endpoint,
            "S3KEEP_TEST_ACCESS_KEY": self.access_key,
            "S3KEEP_TEST_SECRET_KEY": self.secret_key,
            "S3KEEP_TEST_REGION": self.region,
            "S3KEEP_TEST_MC_CONFIG_DIR": self.mc_config_dir,
            # So a plain `mc` in the test process finds the alias (and never touches ~/.mc).
            "MC_CONFIG_DIR": self.mc_config_dir,
            "S3KEEP_TEST_MC_ALIAS": self.mc_alias,
            "S3KEEP_MC_BIN": str(tool_path("mc")),
        }

    def start(self) -> "MinioServer":
        binary = tool_path("minio")
        if not binary.exists():
            raise RuntimeError(f"MinIO not found at {binary}; run scripts/setup.sh first")
        self.tmp = Path(tempfile.mkdtemp(prefix="s3keep-minio-"))
        try:
            self._spawn(binary)
            self._wait_ready()
            self._mc_alias()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, binary: Path) -> None:
        assert self.tmp is not None
        # A port can be taken between probing and MinIO binding it; retry a few times.
        for attempt in range(5):
            self.port = _free_port()
            log = open(self.tmp / "minio.log", "ab")
            env = dict(
                os.environ,
                MINIO_ROOT_USER=self.access_key,
                MINIO_ROOT_PASSWORD=self.secret_key,
                MINIO_REGION=self.region,
                MINIO_BROWSER="off",  # no web console, so no second port
                MINIO_UPDATE="off",
                HOME=str(self.tmp),  # keeps ~/.minio out of the real home
            )
            self.proc = subprocess.Popen(
                [str(binary), "server", "--quiet", "--address", f"127.0.0.1:{self.port}",
                 "--certs-dir", str(self.tmp / "certs"), str(self.tmp / "data")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # a Ctrl-C meant for the tests must not hit MinIO first
                preexec_fn=_die_with_parent,
            )
            log.close()
            time.sleep(0.2)
            if self.proc.poll() is None:
                return
        raise RuntimeError(f"MinIO exited at start:\n{self._log_tail()}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        url = f"{self.endpoint}/minio/health/ready"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"MinIO exited before it was ready:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"MinIO not ready after {self.ready_timeout}s:\n{self._log_tail()}")

    def _mc_alias(self) -> None:
        # Optional: mc is only needed for admin tasks (least-privilege users etc.).
        if tool_path("mc").exists():
            self.mc("alias", "set", self.mc_alias, self.endpoint, self.access_key, self.secret_key)

    def mc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs `mc ARGS` against this server's config; the alias is `self.mc_alias`."""
        env = dict(os.environ, MC_CONFIG_DIR=self.mc_config_dir)
        return subprocess.run([str(tool_path("mc")), "--no-color", *args], env=env,
                              check=check, capture_output=True, text=True, timeout=60)

    def _log_tail(self) -> str:
        try:
            return (self.tmp / "minio.log").read_text(errors="replace")[-4000:]  # type: ignore[operator]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        tmp, self.tmp = self.tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self) -> "MinioServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, _frame: object) -> None:
    raise _Terminated(signum)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited but unreaped process is gone for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _on_signals() -> None:
    # Also when started with SIGINT ignored (a background job of a script): clean up anyway.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_terminated)


def cmd_run(argv: list[str]) -> int:
    _on_signals()
    child = None
    server = MinioServer()
    try:
        server.start()
        child = subprocess.Popen(argv, env=dict(os.environ, **server.env()))
        return child.wait()
    except (_Terminated, KeyboardInterrupt) as e:
        sig = e.args[0] if isinstance(e, _Terminated) else signal.SIGINT
        if child is not None and child.poll() is None:
            child.send_signal(sig)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return 128 + int(sig)
    except FileNotFoundError as e:
        print(f"minio_harness: {e}", file=sys.stderr)
        return 127
    finally:
        server.stop()


def cmd_serve(watch_pid: int) -> int:
    _on_signals()
    try:
        with MinioServer() as server:
            print(json.dumps({"endpoint": server.endpoint, "access_key": server.access_key,
                              "secret_key": server.secret_key, "region": server.region,
                              "mc_config_dir": server.mc_config_dir, "mc_alias": server.mc_alias,
                              "mc_bin": str(tool_path("mc"))}), flush=True)
            # Let go of the caller's pipes so it sees EOF and never waits on us.
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            while _pid_alive(watch_pid) and server.proc is not None and server.proc.poll() is None:
                time.sleep(0.2)
    except (_Terminated, KeyboardInterrupt):
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start MinIO, run CMD with S3KEEP_TEST_* set, stop MinIO")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    serve = sub.add_parser("serve", help="print connection JSON, serve until --watch-pid exits")
    serve.add_argument("--watch-pid", type=int, required=True)
    args = parser.parse_args()
    if args.cmd == "run":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            parser.error("run needs a command after --")
        return cmd_run(argv)
    return cmd_serve(args.watch_pid)


if __name__ == "__main__":
    sys.exit(main())
