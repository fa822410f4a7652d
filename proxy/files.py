"""Files a proxy driver keeps in its directory: written whole, read leniently."""

from __future__ import annotations

import os
from pathlib import Path

MAX_SOCKET_PATH = 90
"""Unix socket paths stop at 107 bytes and HAProxy binds to ``<path>.<pid>.tmp``."""


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file."""
    temp = path.with_name(f"{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def read_text(path: Path) -> str | None:
    """A file's text, or None if it cannot be read."""
    try:
        return path.read_text()
    except OSError:
        return None


def check_socket_path(path: Path) -> None:
    """A socket path must fit the kernel's limit with HAProxy's suffix."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ValueError(
            f"state directory is too deep for a unix socket: {str(path)!r} is "
            f"longer than {MAX_SOCKET_PATH} bytes"
        )
