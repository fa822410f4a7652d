"""What ``/proc`` says about an nginx master, its workers and their sockets.

nginx has no control socket, so its processes are read from ``/proc``: the
master's children, told apart by the title nginx gives them (a current
worker is ``nginx: worker process``; one replaced by a reload adds ``is
shutting down``), and the TCP connections those processes hold, matched to
their sockets by inode. A zombie counts as dead everywhere.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Collection, Iterable
from pathlib import Path

from proxy.routes import Address

PROC = Path("/proc")

MASTER_TITLE = "nginx: master process"
WORKER_TITLE = "nginx: worker process"

TCP_TABLES = ("tcp", "tcp6")
CONNECTED_STATES = {"01", "02"}
"""ESTABLISHED and SYN_SENT: a connection open or being opened."""


def title(pid: int) -> str | None:
    """The command line of a live process as one string, None if it is gone."""
    entry = PROC / str(pid)
    try:
        stat = (entry / "stat").read_text()
        raw = (entry / "cmdline").read_bytes()
    except OSError:
        return None
    if stat.rpartition(")")[2].split()[0] == "Z":
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def parent_of(pid: int) -> int | None:
    """The parent pid of a process, None if it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def is_master(pid: int, config: Path) -> bool:
    """Whether ``pid`` is a live nginx master started with ``config``."""
    found = title(pid)
    return (
        found is not None and found.startswith(MASTER_TITLE) and (str(config) in found)
    )


def children(pid: int) -> list[int]:
    """The live children of ``pid``, in pid order."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid:
            found.append(int(entry.name))
    return sorted(found)


def current_workers(master: int) -> tuple[int, ...]:
    """The master's workers that take new connections (not shutting down)."""
    return tuple(pid for pid in children(master) if title(pid) == WORKER_TITLE)


def socket_inodes(pids: Iterable[int]) -> set[int]:
    """The inodes of every socket the processes hold open."""
    inodes = set()
    for pid in pids:
        fd_dir = PROC / str(pid) / "fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(fd_dir / name)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def connections_to(inodes: Collection[int], peers: Collection[Address]) -> int:
    """How many of the sockets ``inodes`` are TCP connections to ``peers``."""
    count = 0
    for table in TCP_TABLES:
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] in CONNECTED_STATES and int(fields[9]) in inodes:
                count += decode_address(fields[2]) in peers
    return count


def decode_address(text: str) -> Address:
    """An address as ``/proc/net/tcp`` writes it: hex host, colon, hex port."""
    host_hex, _, port_hex = text.partition(":")
    raw = bytes.fromhex(host_hex)
    # The kernel prints each 32-bit word of the address in host byte order.
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    host = raw
    ip = ipaddress.ip_address(host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return Address(str(ip), int(port_hex, 16))
