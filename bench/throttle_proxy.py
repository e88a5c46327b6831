#!/usr/bin/env python3
"""A TCP proxy that limits every connection, in each direction, to RATE MB/s.

    throttle_proxy.py HOST:PORT RATE_MB_PER_S     (prints the port it listens on)

Loopback has no per-connection limit, real networks do (one TCP stream to AWS S3 carries
roughly 50-100 MB/s): bench/run.sh --per-connection-mbps puts this in front of MinIO
so that the number of connections a library opens shows in its figures. Standard library
only; it runs in its own process, so its CPU is charged to neither library.
"""

import asyncio
import sys
import time

CHUNK = 64 * 1024


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rate: float) -> None:
    allowance, last = 0.0, time.monotonic()
    try:
        while data := await reader.read(CHUNK):
            now = time.monotonic()
            # Token bucket with a 50 ms burst.
            allowance = min(allowance + (now - last) * rate, rate * 0.05) - len(data)
            last = now
            if allowance < 0:
                await asyncio.sleep(-allowance / rate)
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def serve(host: str, port: int, rate: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pump(client_r, server_w, rate), pump(server_r, client_w, rate))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    asyncio.run(serve(host, int(port), float(sys.argv[2]) * 1e6))


if __name__ == "__main__":
    main()
