"""A small HTTP/1.1 keep-alive load generator, used when wrk is not installed.

    python bench/loadgen.py URL SECONDS CONNECTIONS

Prints the requests per second it completed. It runs in its own process so
the server's process is measured alone; it shares the CPUs with the server,
so wrk (Debian package `wrk`) gives the more faithful ceiling.
"""

import asyncio
import sys
import time
from urllib.parse import urlsplit


async def worker(host, port, target, deadline, counts):
    reader, writer = await asyncio.open_connection(host, port)
    request = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").encode()
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            else:
                # Without a length the server closes after the body.
                await reader.read()
                counts.append(1)
                return
            counts.append(1)
    finally:
        writer.close()


async def main(url, seconds, connections):
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    counts = []
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(
            worker(parts.hostname, parts.port or 80, target, deadline, counts)
            for _ in range(connections)
        )
    )
    print(len(counts) / (time.monotonic() - started))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
