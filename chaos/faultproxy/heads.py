"""The few parts of HTTP/1.x the fault proxy reads and writes.

The proxy never parses bodies. It reads a message head, learns the
request's method and path, and rewrites the head so that the connection
closes after one exchange: HAProxy reuses server connections, and a
connection that carries one request lets every request meet its own
draw of the fault.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus

HEAD_END = b"\r\n\r\n"
HEAD_LIMIT = 64 * 1024
HOP_HEADERS = frozenset({b"connection", b"keep-alive", b"proxy-connection"})
FAULT_HEADER = "X-Bgctl-Fault"


class HeadInvalid(ValueError):
    """A message head the proxy cannot read; the message quotes it."""


@dataclass(frozen=True)
class RequestHead:
    """A request's method, target and the raw head it came in."""

    method: str
    target: str
    raw: bytes

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.partition("?")[0]

    def is_exempt(self, exempt: frozenset[str]) -> bool:
        """Whether the request passes the fault untouched."""
        return self.target in exempt or self.path in exempt


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The next message head, or None if the peer closed before sending one.

    Raises HeadInvalid when the peer closes halfway or the head is too long.
    """
    try:
        return await reader.readuntil(HEAD_END)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise HeadInvalid(f"head cut short after {exc.partial[:80]!r}") from exc
    except asyncio.LimitOverrunError as exc:
        raise HeadInvalid(f"head longer than {HEAD_LIMIT} bytes") from exc


def parse_request(raw: bytes) -> RequestHead:
    """The method and target of a request head."""
    line = raw.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise HeadInvalid(
            f"expected a request line such as GET / HTTP/1.1, got {line[:80]!r}"
        )
    return RequestHead(parts[0].decode("latin-1"), parts[1].decode("latin-1"), raw)


def is_interim(raw: bytes) -> bool:
    """Whether a response head is a 1xx answer that another head follows.

    A 101 would switch protocols, which a connection rewritten to close
    never asks for, so it does not count.
    """
    status = raw.split(b" ", 2)[1:2]
    return bool(status) and status[0].startswith(b"1") and status[0] != b"101"


def closing(raw: bytes) -> bytes:
    """``raw`` with its hop-by-hop headers replaced by ``Connection: close``."""
    lines = raw[: -len(HEAD_END)].split(b"\r\n")
    kept = [lines[0]]
    kept.extend(
        line
        for line in lines[1:]
        if line.partition(b":")[0].strip().lower() not in HOP_HEADERS
    )
    kept.append(b"Connection: close")
    return b"\r\n".join(kept) + HEAD_END


def error_response(status: int, body: str, kind: str, with_body: bool) -> bytes:
    """A complete plain-text response that ends the connection."""
    data = body.encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Connection: close\r\n"
        f"{FAULT_HEADER}: {kind}\r\n\r\n"
    )
    return head.encode("latin-1") + (data if with_body else b"")
