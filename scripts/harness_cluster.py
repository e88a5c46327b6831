"""Distributed MinIO for the test harness: the provider `minio-dist` (standard library only).

Four `minio server` processes form one erasure-coded cluster (one erasure set of four
drives). On these machines MinIO refuses loopback endpoints for a cluster ("resolves to
localhost in a containerized deployment", because of /.dockerenv) and several local IPs in
one namespace, so each node runs in a network namespace of its own, joined by veth pairs to
a bridge that lives in a namespace of its own too (never in the machine's namespace):

    <tag>-br  bridge br0                       (no address)
    <tag>-n0  p0 10.77.0.11 ── v0 ─┐
    ...                            ├─ br0
    <tag>-n3  p3 10.77.0.14 ── v3 ─┤
    <tag>-c   pc 10.77.0.2  ── vc ─┘           the client side of the forwarder

`<tag>` is `s3k-<harness pid>-<4 hex>`, unique per run, so two runs never collide; a run
whose harness died without cleaning up (SIGKILL) has its namespaces deleted by the next
start (its pid is gone). Drives live under a temporary directory on the root filesystem,
which distributed MinIO accepts only with MINIO_CI_CD=1.

Test processes reach the cluster at http://127.0.0.1:PORT through harness_forward.py (a
listening socket on the machine's loopback; connections leave from `<tag>-c` to the nodes,
round-robin, skipping a node that is down). `stop_node(i)` / `start_node(i)` take one node
down and bring it back (the cluster keeps serving with 3 of 4 drives).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import minio_harness as h

SUBNET = "10.77.0"
NODE_PORT = 9000
CLIENT_IP = f"{SUBNET}.2"
_TAG = re.compile(r"^s3k-(\d+)-[0-9a-f]{4}-")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def sweep_stale_namespaces() -> list[str]:
    """Deletes the namespaces of harness runs whose process is gone; returns their names."""
    gone = [ns for ns in _namespaces() if (m := _TAG.match(ns)) and not h._pid_alive(int(m[1]))]
    for ns in gone:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return gone


class MinioCluster(h.MinioClientMixin, h.Provider):
    """Four MinIO nodes in network namespaces, one erasure set, reached at `endpoint`."""

    name = "minio-dist"

    def __init__(self, nodes: int = 4, ready_timeout: float = 120.0):
        self.nodes = nodes
        self.ready_timeout = ready_timeout
        self.secret_key = secrets.token_hex(20)
        self.tag = f"s3k-{os.getpid()}-{secrets.token_hex(2)}"
        self.tmp: Path | None = None
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * nodes
        self.forwarder: subprocess.Popen[bytes] | None = None
        self.created: list[str] = []  # namespaces, in creation order

    # ---- names and addresses
    def node_ns(self, i: int) -> str:
        return f"{self.tag}-n{i}"

    @property
    def client_ns(self) -> str:
        return f"{self.tag}-c"

    @property
    def bridge_ns(self) -> str:
        return f"{self.tag}-br"

    def node_ip(self, i: int) -> str:
        return f"{SUBNET}.{11 + i}"

    def node_url(self, i: int) -> str:
        return f"http://{self.node_ip(i)}:{NODE_PORT}"

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.mc_env()}

    def connection(self) -> dict[str, object]:
        return {**super().connection(), "mc_config_dir": self.mc_config_dir, "mc_alias": self.mc_alias,
                "mc_bin": str(h.tool_path("mc"))}

    # ---- lifecycle
    def start(self) -> "MinioCluster":
        binary = h.tool_path("minio")
        if not binary.exists():
            raise RuntimeError(f"MinIO not found at {binary}; run scripts/setup.sh first")
        sweep_stale_namespaces()
        self.tmp = Path(tempfile.mkdtemp(prefix="s3keep-minio-dist-"))
        try:
            self._network()
            for i in range(self.nodes):
                self.start_node(i, wait=False)
            self._forward()
            h.wait_http_ok(f"{self.endpoint}/minio/health/cluster", self.ready_timeout, self.running,
                           "distributed MinIO", self._log_tails)
            self._wait_initialized()
            self._mc_alias()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_initialized(self) -> None:
        """Waits until every node judges signed requests: /minio/health/cluster answers 200
        before every node has loaded its IAM, and until then a node answers signed requests
        with 503 XMinioServerNotInitialized (seen in CI under load, on CreateBucket). The
        forwarder picks a node per connection, so each node is asked directly, a signed
        ListBuckets by `mc` from the client's namespace."""
        for i in range(self.nodes):
            self._wait_node_signed(i)

    def _wait_node_signed(self, i: int) -> None:
        mc = h.tool_path("mc")
        if not mc.exists():
            return  # without mc (an optional tool), /minio/health/cluster is all there is
        alias = f"node{i}"
        host = self.node_url(i).replace("://", f"://{self.access_key}:{self.secret_key}@", 1)
        env = dict(os.environ, **{f"MC_HOST_{alias}": host}, MC_CONFIG_DIR=str(self.tmp / f"mc-probe{i}"))
        deadline = time.monotonic() + self.ready_timeout
        while True:
            done = subprocess.run(["ip", "netns", "exec", self.client_ns, str(mc), "--no-color", "ls", alias],
                                  env=env, capture_output=True, text=True, timeout=60)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {i} does not answer signed requests after {self.ready_timeout}s: "
                                   f"{(done.stdout + done.stderr).strip()[-300:]}\n{self._log_tails()}")
            time.sleep(0.3)

    def _network(self) -> None:
        self._add_ns(self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        ends = [(self.node_ns(i), f"v{i}", f"p{i}", self.node_ip(i)) for i in range(self.nodes)]
        ends.append((self.client_ns, "vc", "pc", CLIENT_IP))
        for ns, bridge_end, ns_end, ip in ends:
            self._add_ns(ns)
            _ip("-n", self.bridge_ns, "link", "add", bridge_end, "type", "veth", "peer", "name", ns_end, "netns", ns)
            _ip("-n", self.bridge_ns, "link", "set", bridge_end, "master", "br0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{ip}/24", "dev", ns_end)
            _ip("-n", ns, "link", "set", ns_end, "up")

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self.created.append(name)

    def _drives(self) -> list[str]:
        assert self.tmp is not None
        return [f"{self.node_url(i)}{self.tmp}/d{i}" for i in range(self.nodes)]

    def start_node(self, i: int, wait: bool = True) -> None:
        """Starts node `i` (again); with `wait`, returns once it reports ready."""
        assert self.tmp is not None
        if self.node_running(i):
            return
        (self.tmp / f"d{i}").mkdir(exist_ok=True)
        env = dict(
            os.environ,
            MINIO_ROOT_USER=self.access_key,
            MINIO_ROOT_PASSWORD=self.secret_key,
            MINIO_REGION=self.region,
            MINIO_BROWSER="off",
            MINIO_UPDATE="off",
            MINIO_CI_CD="1",  # drives on the root filesystem are refused in distributed mode otherwise
            HOME=str(self.tmp / f"home{i}"),
        )
        self.procs[i] = h.spawn(
            ["ip", "netns", "exec", self.node_ns(i), str(h.tool_path("minio")), "server", "--quiet",
             "--address", f"{self.node_ip(i)}:{NODE_PORT}", "--certs-dir", str(self.tmp / f"certs{i}"),
             *self._drives()],
            self.tmp / f"node{i}.log", env)
        if wait:
            self._wait_node(i)
            self._wait_node_signed(i)

    def stop_node(self, i: int, kill: bool = False) -> None:
        """Stops node `i` (SIGTERM, or SIGKILL with `kill`); the others keep serving."""
        proc, self.procs[i] = self.procs[i], None
        if proc is not None and kill and proc.poll() is None:
            proc.kill()
            proc.wait()
        h.terminate(proc)

    def node_running(self, i: int) -> bool:
        proc = self.procs[i]
        return proc is not None and proc.poll() is None

    def _wait_node(self, i: int) -> None:
        # The node is reachable only from inside the cluster's network: ask from the client side.
        probe = ("import sys, urllib.request\n"
                 "try:\n"
                 "    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)\n"
                 "except Exception:\n"
                 "    sys.exit(1)\n")
        url = f"{self.node_url(i)}/minio/health/ready"
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not self.node_running(i):
                raise RuntimeError(f"node {i} exited:\n{h.log_tail(self.tmp / f'node{i}.log')}")  # type: ignore[operator]
            done = subprocess.run(["ip", "netns", "exec", self.client_ns, sys.executable, "-c", probe, url],
                                  capture_output=True)
            if done.returncode == 0:
                return
            time.sleep(0.3)
        raise RuntimeError(f"node {i} not ready after {self.ready_timeout}s")

    def _forward(self) -> None:
        assert self.tmp is not None
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(256)
        self.port = int(listener.getsockname()[1])
        try:
            with open(self.tmp / "forward.log", "ab") as log:
                self.forwarder = subprocess.Popen(
                    [sys.executable, str(h.SCRIPTS / "harness_forward.py"), "--fd", str(listener.fileno()),
                     "--netns", self.client_ns, *(f"{self.node_ip(i)}:{NODE_PORT}" for i in range(self.nodes))],
                    pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=h._die_with_parent)
        finally:
            listener.close()  # the forwarder holds its own copy

    def running(self) -> bool:
        """The forwarder runs and at least one node does (a node may be stopped on purpose)."""
        forwarding = self.forwarder is not None and self.forwarder.poll() is None
        return forwarding and any(self.node_running(i) for i in range(self.nodes))

    def _log_tails(self) -> str:
        if self.tmp is None:
            return "(no log)"
        return "\n".join(f"-- node {i}:\n{h.log_tail(self.tmp / f'node{i}.log')[-1000:]}" for i in range(self.nodes))

    def stop(self) -> None:
        h.terminate(self.forwarder, timeout=2)
        self.forwarder = None
        for i in range(self.nodes):
            self.stop_node(i)
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created = []
        tmp, self.tmp = self.tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
