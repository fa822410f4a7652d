"""Moving bytes between the two sides of a connection, paced or not."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

CHUNK = 64 * 1024
PACED_STEPS_PER_SECOND = 20  # a paced stream moves in steps of about 50 ms
RESET_LINGER = struct.pack("ii", 1, 0)  # linger on, for 0 s: close sends RST


class Pacer:
    """Holds one direction of a connection to ``rate`` bytes a second.

    Time spent idle earns no burst: a stream that waited is not owed the
    bytes it did not send.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.chunk = max(1, min(CHUNK, rate // PACED_STEPS_PER_SECOND))
        self._due = 0.0

    async def wait(self, size: int) -> None:
        """Wait until ``size`` more bytes may go."""
        now = asyncio.get_running_loop().time()
        self._due = max(self._due, now) + size / self.rate
        await asyncio.sleep(self._due - now)


async def send(writer: asyncio.StreamWriter, data: bytes, pacer: Pacer | None) -> None:
    """Write ``data``, in paced chunks when there is a pacer."""
    if pacer is None:
        writer.write(data)
        await writer.drain()
        return
    for start in range(0, len(data), pacer.chunk):
        piece = data[start : start + pacer.chunk]
        await pacer.wait(len(piece))
        writer.write(piece)
        await writer.drain()


async def copy(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    pacer: Pacer | None,
) -> None:
    """Copy until ``reader`` ends, then pass the end on to ``writer``."""
    size = CHUNK if pacer is None else pacer.chunk
    while data := await reader.read(size):
        await send(writer, data, pacer)
    finish(writer)


def finish(writer: asyncio.StreamWriter) -> None:
    """Tell the peer nothing more comes; a peer already gone needs no telling."""
    if writer.can_write_eof() and not writer.is_closing():
        with contextlib.suppress(OSError):
            writer.write_eof()


async def upload(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    pacer: Pacer | None,
) -> None:
    """Copy a request's body upstream; a side that went away ends it quietly."""
    try:
        await copy(reader, writer, pacer)
    except OSError:
        return


async def discard(reader: asyncio.StreamReader, timeout: float | None) -> None:
    """Read and drop whatever comes until the peer closes or ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(CHUNK):
                pass
    except (TimeoutError, OSError):
        return


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP reset instead of an orderly end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_LINGER)
    writer.transport.abort()
