"""A minimal WebSocket client (RFC 6455) for tests and the benchmark.

Enough to connect to daphne, read JSON text messages and answer pings,
with no dependency beyond asyncio.
"""

import asyncio
import base64
import contextlib
import json
import os
import struct


class WebSocketClient:
    """Just enough of RFC 6455 to read JSON text messages from daphne."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port, path="/ws/alerts", origin="http://localhost:5173"):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), 10
        )
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {origin}\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            writer.close()
            raise ConnectionRefusedError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def receive_json(self, timeout):
        """The next JSON message; TimeoutError if none comes in time."""
        return await asyncio.wait_for(self._next_text(), timeout)

    async def _next_text(self):
        parts = []
        while True:
            first, second = await self.reader.readexactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(length)
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                raise ConnectionError("the server closed the socket")
            elif opcode in (0x0, 0x1):
                parts.append(payload)
                if first & 0x80:
                    return json.loads(b"".join(parts))

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode, 0x80 | len(payload)])
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.writer.write(header + mask + masked)

    async def close(self):
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
