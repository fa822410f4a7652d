"""The files the nginx driver keeps in its directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxy.files import check_socket_path

TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
"""Every temp path nginx may write; all are kept out of the system's paths."""


@dataclass(frozen=True)
class NginxFiles:
    """Every file and directory the driver keeps in its directory."""

    home: Path
    config: Path
    candidate: Path
    pidfile: Path
    error_log: Path
    status_socket: Path
    loaded: Path
    temp: Path

    @classmethod
    def under(cls, home: Path) -> NginxFiles:
        """The files of a driver whose directory is ``home``; checks socket length."""
        check_socket_path(home / "status.sock")
        return cls(
            home=home,
            config=home / "nginx.conf",
            candidate=home / "nginx.conf.new",
            pidfile=home / "nginx.pid",
            error_log=home / "error.log",
            status_socket=home / "status.sock",
            loaded=home / "loaded.sha256",
            temp=home / "temp",
        )

    def temp_path(self, kind: str) -> Path:
        """Where nginx buffers one kind of temporary file."""
        return self.temp / kind

    def make_directories(self) -> None:
        """Create the directory and the parent of the temp paths.

        nginx creates each temp path itself, but only its last component.
        """
        self.temp.mkdir(parents=True, exist_ok=True)
