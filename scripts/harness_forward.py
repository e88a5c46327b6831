#!/usr/bin/env python3
"""A TCP forwarder from this machine's network namespace into another one (standard library).

The distributed MinIO of the test harness runs in network namespaces of its own (MinIO
refuses loopback endpoints for a cluster here). So that every test runner can reach it at
`http://127.0.0.1:PORT` without entering a namespace, the harness creates the listening
socket in the machine's namespace and starts this process with it: it enters the client
namespace with setns(2) — a socket keeps the namespace it was created in, so the listener
still accepts on the machine's loopback — and connects each accepted connection to one of
the nodes, round-robin, skipping nodes that refuse (a stopped node).

Bytes pass unchanged in both directions, so SigV4 signatures (which cover the `Host`
header the client sent) still validate.

    harness_forward.py --fd FD --netns NAME HOST:PORT [HOST:PORT...]
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
BUFFER = 256 * 1024


def enter_netns(name: str) -> None:
    """setns(2) into the network namespace `ip netns` calls NAME (Python 3.11 has no os.setns).

    Affects the calling thread and the threads it starts afterwards: call it first."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into network namespace {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copies src to dst until EOF (then half-closes dst) or an error (then closes both ways,
    which also ends the pump running the other direction)."""
    try:
        while True:
            data = src.recv(BUFFER)
            if not data:
                dst.shutdown(socket.SHUT_WR)
                return
            dst.sendall(data)
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _connect(targets: list[tuple[str, int]], first: int) -> socket.socket | None:
    for k in range(len(targets)):
        host, port = targets[(first + k) % len(targets)]
        try:
            upstream = socket.create_connection((host, port), timeout=2)
        except OSError:
            continue  # that node is down: the next one
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream
    return None


def _handle(client: socket.socket, targets: list[tuple[str, int]], first: int) -> None:
    with client:
        upstream = _connect(targets, first)
        if upstream is None:
            return  # every node refused: the client sees the connection closed
        with upstream:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()


def serve(listener: socket.socket, netns: str, targets: list[tuple[str, int]]) -> None:
    enter_netns(netns)
    turn = itertools.count()
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_handle, args=(client, targets, next(turn) % len(targets)), daemon=True).start()


def _target(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket, inherited")
    parser.add_argument("--netns", required=True, help="the namespace to connect from")
    parser.add_argument("targets", nargs="+", type=_target, help="HOST:PORT of each node")
    args = parser.parse_args()
    listener = socket.socket(fileno=args.fd)
    try:
        serve(listener, args.netns, args.targets)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
