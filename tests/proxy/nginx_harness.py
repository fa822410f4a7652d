"""Finding the nginx binary and the nginx processes a test left behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SYSTEM_SBIN = os.pathsep.join(["/usr/local/sbin", "/usr/sbin", "/sbin"])


def find_binary(name: str) -> str | None:
    """A binary on PATH or in the system's sbin directories."""
    search = os.environ.get("PATH", "") + os.pathsep + SYSTEM_SBIN
    return shutil.which(name, path=search)


def nginx_masters(marker: Path) -> list[int]:
    """Pids of live nginx masters whose title names ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and b"nginx: master" in title and os.fsencode(marker) in title:
            found.append(int(entry.name))
    return found


def nginx_processes(marker: Path) -> list[int]:
    """Masters naming ``marker`` and every process of their groups."""
    groups = set()
    for pid in nginx_masters(marker):
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            continue
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) in groups:
                found.append(int(entry.name))
        except ProcessLookupError:
            continue
    return found
