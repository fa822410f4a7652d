"""One conversation with an HAProxy command socket, in interactive mode.

After ``prompt`` HAProxy ends every answer with a prompt line (``> `` on a
worker's socket, ``master> `` or ``master[ReloadFailed]> `` on the
master's), so one connection carries many commands and each answer can be
told apart and checked. HAProxy 2.6's master CLI does not always close a
non-interactive connection after answering, one more reason to ask for the
prompt every time. Socket errors become ``ProxyUnavailable``.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path
from types import TracebackType

from proxy.errors import ProxyUnavailable
from proxy.policies import reconnecting

log = logging.getLogger(__name__)

PROMPT = re.compile(rb"(?:\A|\n)(master(?:\[[^\]\n]*\])?)?> \Z")
"""The prompt line that ends every answer in interactive mode."""


class CliSession:
    """An open interactive connection to one HAProxy command socket."""

    def __init__(
        self, path: Path, *, timeout: float = 5.0, patience: float = 2.0
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.patience = patience
        self._sock: socket.socket | None = None

    def __enter__(self) -> CliSession:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect, waiting out a socket being rebound, and ask for prompts."""
        try:
            self._sock = reconnecting(self.patience)(self._connect)
        except OSError as exc:
            raise ProxyUnavailable(
                f"cannot reach HAProxy at {self.path}: {exc}"
            ) from exc
        try:
            self._send("prompt")
            self._read_answer()
        except ProxyUnavailable:
            self.close()
            raise

    def ask(self, command: str) -> str:
        """Send one command and return its answer without the prompt."""
        log.debug("haproxy %s <- %s", self.path.name, command)
        self._send(command)
        answer = self._read_answer()
        log.debug("haproxy %s -> %r", self.path.name, answer)
        return answer

    def tell(self, command: str) -> None:
        """Send a command after which HAProxy may hang up, as ``reload`` does."""
        log.debug("haproxy %s <- %s", self.path.name, command)
        self._send(command)
        self._read_until_prompt(allow_close=True)

    def close(self) -> None:
        """Hang up; safe to call twice."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        return sock

    def _send(self, command: str) -> None:
        try:
            self._live_socket().sendall(command.encode() + b"\n")
        except OSError as exc:
            raise self._unavailable(f"sending {command!r} failed", exc) from exc

    def _read_answer(self) -> str:
        raw = self._read_until_prompt(allow_close=False)
        match = PROMPT.search(raw)
        body = raw[: match.start()] if match else raw
        return body.decode(errors="replace").strip("\n")

    def _read_until_prompt(self, allow_close: bool) -> bytes:
        raw = b""
        while not PROMPT.search(raw):
            chunk = self._receive()
            if not chunk:
                if allow_close:
                    return raw
                raise self._unavailable("HAProxy hung up before answering")
            raw += chunk
        return raw

    def _receive(self) -> bytes:
        try:
            return self._live_socket().recv(65536)
        except OSError as exc:
            raise self._unavailable("reading an answer failed", exc) from exc

    def _live_socket(self) -> socket.socket:
        if self._sock is None:
            raise self._unavailable("the session is closed")
        return self._sock

    def _unavailable(self, what: str, exc: OSError | None = None) -> ProxyUnavailable:
        detail = f": {exc}" if exc is not None else ""
        return ProxyUnavailable(f"HAProxy socket {self.path}: {what}{detail}")
