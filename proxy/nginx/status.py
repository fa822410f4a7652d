"""nginx's ``stub_status`` page, read over the driver's own unix socket.

The page counts connections for the whole nginx, not per upstream, so it
tells the driver that nginx answers and how busy it is, but not which
colour is busy; ``procfs.connections_to`` answers that.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import ProxyUnavailable

STATUS_PATH = "/status"

_ACTIVE = re.compile(r"Active connections:\s*(\d+)")
_COUNTS = re.compile(r"Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)")


@dataclass(frozen=True)
class StubStatus:
    """The connection counts ``stub_status`` reports for the whole nginx."""

    active: int
    reading: int
    writing: int
    waiting: int


def parse_stub_status(text: str) -> StubStatus:
    """Read the counts from a ``stub_status`` page."""
    active = _ACTIVE.search(text)
    counts = _COUNTS.search(text)
    if active is None or counts is None:
        raise ProxyUnavailable(f"nginx status page is not stub_status: {text!r}")
    reading, writing, waiting = (int(n) for n in counts.groups())
    return StubStatus(int(active.group(1)), reading, writing, waiting)


class StatusClient:
    """Asks nginx for its status page on a unix socket."""

    def __init__(self, path: Path, *, timeout: float = 2.0) -> None:
        self.path = path
        self.timeout = timeout

    def read(self) -> StubStatus:
        """The current counts; ProxyUnavailable if nginx does not answer."""
        answer = self._get()
        head, _, body = answer.partition("\r\n\r\n")
        if not head.startswith("HTTP/1.1 200"):
            raise ProxyUnavailable(
                f"nginx status at {self.path} answered {head.splitlines()[:1]!r}"
            )
        return parse_stub_status(body)

    def is_answering(self) -> bool:
        """Whether nginx serves its status page now."""
        try:
            self.read()
        except ProxyUnavailable:
            return False
        return True

    def _get(self) -> str:
        request = f"GET {STATUS_PATH} HTTP/1.0\r\nHost: status\r\n\r\n"
        chunks = []
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.path))
                sock.sendall(request.encode())
                while chunk := sock.recv(4096):
                    chunks.append(chunk)
        except OSError as exc:
            raise ProxyUnavailable(
                f"cannot read nginx status at {self.path}: {exc}"
            ) from exc
        return b"".join(chunks).decode(errors="replace")
