"""The files the HAProxy driver keeps in its directory, and how it writes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxy.files import check_socket_path


@dataclass(frozen=True)
class DriverFiles:
    """Every file the driver keeps in its directory."""

    config: Path
    candidate: Path
    admin_socket: Path
    master_socket: Path
    pidfile: Path
    state_file: Path
    shape: Path
    log: Path

    @classmethod
    def under(cls, home: Path) -> DriverFiles:
        """The files of a driver whose directory is ``home``; checks socket length."""
        check_socket_path(home / "master.sock")
        return cls(
            config=home / "haproxy.cfg",
            candidate=home / "haproxy.cfg.new",
            admin_socket=home / "admin.sock",
            master_socket=home / "master.sock",
            pidfile=home / "haproxy.pid",
            state_file=home / "server-state",
            shape=home / "shape.sha256",
            log=home / "haproxy.log",
        )
