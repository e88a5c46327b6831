#!/usr/bin/env python3
"""Throw-away S3 servers for s3keep's test suites (standard library only).

Every runner (cargo test, pytest, node/deno/bun) talks to a server started here, always at
http://127.0.0.1:PORT (a free port), with a fresh temporary data directory and random test
credentials. The server is stopped and the directory removed on every exit path.

Providers (`--provider`, else $S3KEEP_TEST_PROVIDER, else `minio`):
  minio       one MinIO process (the default);
  minio-dist  four MinIO processes forming one erasure-coded cluster, each in a network
              namespace of its own, reached through a forwarder (harness_cluster.py);
  versitygw   versitygw's posix backend: an independent S3 implementation.
Each declares its capabilities (PROVIDER_CAPABILITIES); the runners skip the conformance
cases that require one the provider lacks, and say which.

As a module:   with MinioServer() as m: m.endpoint, m.access_key, m.secret_key, m.mc(...)
               with start_provider("versitygw") as s: ...
As a command:  minio_harness.py run [--provider P] -- CMD ARGS...   (exports S3KEEP_TEST_* for CMD)
               minio_harness.py serve [--provider P] --watch-pid PID
                   (one JSON line on stdout, stops when PID exits)

Binaries come from $S3KEEP_<TOOL>_BIN (MINIO, MC, VERSITYGW), else from the cache that
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
from typing import Callable

SCRIPTS = Path(__file__).resolve().parent
ACCESS_KEY = "s3keep-test"
REGION = "us-east-1"
MC_ALIAS = "s3keep"
# Run as a script, this module is __main__: harness_cluster.py imports it by name.
sys.modules.setdefault("minio_harness", sys.modules[__name__])

#: What each provider can do, as the conformance cases' `requires` names it: the one table is
#: conformance/providers.json (read by every runner too). Exported as S3KEEP_TEST_CAPABILITIES.
_PROVIDERS_DOC = json.loads((SCRIPTS.parent / "conformance" / "providers.json").read_text())
STORE_CAPABILITIES: dict[str, str] = _PROVIDERS_DOC["capabilities"]
PROVIDER_CAPABILITIES: dict[str, tuple[str, ...]] = {
    name: tuple(caps) for name, caps in _PROVIDERS_DOC["providers"].items()
}
PROVIDERS = tuple(PROVIDER_CAPABILITIES)


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
    """Path of the pinned `minio`, `mc` or `versitygw` binary built by setup.sh."""
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
    # Runs in the server child before exec: the kernel sends it SIGKILL if the
    # harness dies without cleaning up (even by SIGKILL), so no server leaks.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(argv: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts a server process: output to `log_path`, its own session (a Ctrl-C meant for the
    tests must not hit it first), killed by the kernel if the harness dies."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, preexec_fn=_die_with_parent)


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; reaps the process."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except OSError:
        return "(no log)"


def wait_http_ok(url: str, timeout: float, alive: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    """Polls `url` until it answers 200; fails when `alive()` turns false or after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited before it was ready:\n{log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout}s:\n{log()}")


class Provider:
    """What every provider offers: start/stop (also as a context manager), the connection,
    its capabilities, and the environment a test process needs (S3KEEP_TEST_*)."""

    name = ""
    port = 0
    access_key = ACCESS_KEY
    secret_key = ""
    region = REGION

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def capabilities(self) -> tuple[str, ...]:
        return PROVIDER_CAPABILITIES[self.name]

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def env(self) -> dict[str, str]:
        """What a test process needs to find this server (see `run`)."""
        return {
            "S3KEEP_TEST_PROVIDER": self.name,
            "S3KEEP_TEST_CAPABILITIES": ",".join(self.capabilities),
            "S3KEEP_TEST_ENDPOINT": self.endpoint,
            "S3KEEP_TEST_ACCESS_KEY": self.access_key,
            "S3KEEP_TEST_SECRET_KEY": self.secret_key,
            "S3KEEP_TEST_REGION": self.region,
        }

    def connection(self) -> dict[str, object]:
        """The JSON line of `serve` (snake_case keys, read by the Rust and JS test support)."""
        return {"provider": self.name, "capabilities": list(self.capabilities), "endpoint": self.endpoint,
                "access_key": self.access_key, "secret_key": self.secret_key, "region": self.region}

    def start(self) -> "Provider":
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def running(self) -> bool:
        """Whether the server (every process of it) is still up."""
        raise NotImplementedError

    def __enter__(self) -> "Provider":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MinioClientMixin:
    """`mc` for MinIO providers: an alias in a config directory of the server's own."""

    mc_alias = MC_ALIAS
    tmp: Path | None

    @property
    def mc_config_dir(self) -> str:
        assert self.tmp is not None
        return str(self.tmp / "mc")

    def mc_env(self) -> dict[str, str]:
        return {
            "S3KEEP_TEST_MC_CONFIG_DIR": self.mc_config_dir,
            # So a plain `mc` in the test process finds the alias (and never touches ~/.mc).
            "MC_CONFIG_DIR": self.mc_config_dir,
            "S3KEEP_TEST_MC_ALIAS": self.mc_alias,
            "S3KEEP_MC_BIN": str(tool_path("mc")),
        }

    def _mc_alias(self, timeout: float = 60.0) -> None:
        # Optional: mc is only needed for admin tasks (least-privilege users etc.). `alias set`
        # asks the server for its info, which a cluster may refuse for a while after it
        # reports healthy (its IAM is still loading): retry.
        if not tool_path("mc").exists():
            return
        deadline = time.monotonic() + timeout
        while True:
            done = self.mc("alias", "set", self.mc_alias, self.endpoint, self.access_key,  # type: ignore[attr-defined]
                           self.secret_key, check=False)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"mc alias set failed: {(done.stdout + done.stderr).strip()[-500:]}")
            time.sleep(0.5)

    def mc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs `mc ARGS` against this server's config; the alias is `self.mc_alias`."""
        env = dict(os.environ, MC_CONFIG_DIR=self.mc_config_dir)
        return subprocess.run([str(tool_path("mc")), "--no-color", *args], env=env,
                              check=check, capture_output=True, text=True, timeout=60)


class MinioServer(MinioClientMixin, Provider):
    """One MinIO process. Starts on enter (or start()), stops and deletes its data on exit (or stop())."""

    name = "minio"

    def __init__(self, ready_timeout: float = 60.0):
        self.ready_timeout = ready_timeout
        self.secret_key = secrets.token_hex(20)
        self.tmp: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.mc_env()}

    def connection(self) -> dict[str, object]:
        return {**super().connection(), "mc_config_dir": self.mc_config_dir, "mc_alias": self.mc_alias,
                "mc_bin": str(tool_path("mc"))}

    def start(self) -> "MinioServer":
        binary = tool_path("minio")
        if not binary.exists():
            raise RuntimeError(f"MinIO not found at {binary}; run scripts/setup.sh first")
        self.tmp = Path(tempfile.mkdtemp(prefix="s3keep-minio-"))
        try:
            self._spawn(binary)
            wait_http_ok(f"{self.endpoint}/minio/health/ready", self.ready_timeout, self.running, "MinIO",
                         self._log_tail)
            self._mc_alias()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, binary: Path) -> None:
        assert self.tmp is not None
        env = dict(
            os.environ,
            MINIO_ROOT_USER=self.access_key,
            MINIO_ROOT_PASSWORD=self.secret_key,
            MINIO_REGION=self.region,
            MINIO_BROWSER="off",  # no web console, so no second port
            MINIO_UPDATE="off",
            HOME=str(self.tmp),  # keeps ~/.minio out of the real home
        )
        # A port can be taken between probing and MinIO binding it; retry a few times.
        for _ in range(5):
            self.port = _free_port()
            self.proc = spawn([str(binary), "server", "--quiet", "--address", f"127.0.0.1:{self.port}",
                               "--certs-dir", str(self.tmp / "certs"), str(self.tmp / "data")],
                              self.tmp / "minio.log", env)
            time.sleep(0.2)
            if self.proc.poll() is None:
                return
        raise RuntimeError(f"MinIO exited at start:\n{self._log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _log_tail(self) -> str:
        return log_tail(self.tmp / "minio.log") if self.tmp else "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        terminate(proc)
        tmp, self.tmp = self.tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


class VersityServer(Provider):
    """versitygw (https://github.com/versity/versitygw) with its posix backend: an S3 server
    written independently of MinIO, on 127.0.0.1 with a fresh directory. No `mc`."""

    name = "versitygw"

    def __init__(self, ready_timeout: float = 60.0):
        self.ready_timeout = ready_timeout
        self.secret_key = secrets.token_hex(20)
        self.tmp: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "VersityServer":
        binary = tool_path("versitygw")
        if not binary.exists():
            raise RuntimeError(f"versitygw not found at {binary}; run scripts/setup.sh first")
        self.tmp = Path(tempfile.mkdtemp(prefix="s3keep-versitygw-"))
        try:
            (self.tmp / "data").mkdir()
            env = dict(os.environ, HOME=str(self.tmp))
            for _ in range(5):
                self.port = _free_port()
                self.proc = spawn([str(binary), "--access", self.access_key, "--secret", self.secret_key,
                                   "--region", self.region, "--port", f"127.0.0.1:{self.port}", "--quiet",
                                   "posix", str(self.tmp / "data")], self.tmp / "versitygw.log", env)
                time.sleep(0.2)
                if self.proc.poll() is None:
                    break
            # Any HTTP answer means it serves (an unsigned request gets 403 and an XML error).
            deadline = time.monotonic() + self.ready_timeout
            while not self._answers():
                if not self.running():
                    raise RuntimeError(f"versitygw exited at start:\n{self._log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"versitygw not ready after {self.ready_timeout}s:\n{self._log_tail()}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _log_tail(self) -> str:
        return log_tail(self.tmp / "versitygw.log") if self.tmp else "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        terminate(proc)
        tmp, self.tmp = self.tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def provider_name(explicit: str | None = None) -> str:
    """The provider asked for: `explicit`, else $S3KEEP_TEST_PROVIDER, else `minio`."""
    name = explicit or os.environ.get("S3KEEP_TEST_PROVIDER") or "minio"
    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; one of {', '.join(PROVIDERS)}")
    return name


def make_provider(name: str | None = None) -> Provider:
    """A provider, not started yet (see `provider_name` for the choice)."""
    name = provider_name(name)
    if name == "minio-dist":
        from harness_cluster import MinioCluster
        return MinioCluster()
    if name == "versitygw":
        return VersityServer()
    return MinioServer()


def start_provider(name: str | None = None) -> Provider:
    return make_provider(name).start()


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


def cmd_run(argv: list[str], provider: str | None) -> int:
    _on_signals()
    child = None
    server = make_provider(provider)
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
    except RuntimeError as e:
        print(f"minio_harness: {server.name}: {e}", file=sys.stderr)
        return 1
    finally:
        server.stop()


def cmd_serve(watch_pid: int, provider: str | None) -> int:
    _on_signals()
    try:
        with make_provider(provider) as server:
            print(json.dumps(server.connection()), flush=True)
            # Let go of the caller's pipes so it sees EOF and never waits on us.
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            while _pid_alive(watch_pid) and server.running():
                time.sleep(0.2)
    except (_Terminated, KeyboardInterrupt):
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start a server, run CMD with S3KEEP_TEST_* set, stop the server")
    serve = sub.add_parser("serve", help="print connection JSON, serve until --watch-pid exits")
    for p in (run, serve):
        p.add_argument("--provider", choices=PROVIDERS,
                       help="the S3 server (default: $S3KEEP_TEST_PROVIDER, else minio)")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    serve.add_argument("--watch-pid", type=int, required=True)
    args = parser.parse_args()
    try:
        provider_name(args.provider)
    except ValueError as e:
        parser.error(str(e))
    if args.cmd == "run":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            parser.error("run needs a command after --")
        return cmd_run(argv, args.provider)
    return cmd_serve(args.watch_pid, args.provider)


if __name__ == "__main__":
    sys.exit(main())
