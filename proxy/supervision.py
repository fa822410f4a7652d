"""A proxy master process supervised by a driver, whatever the proxy.

Both drivers run their proxy's master in the foreground of a session of its
own, with its output appended to a log file: the driver sees the very
process it started die, and the master outlives a controller that dies.
This module holds what that takes for any proxy (spawning, liveness,
stopping with a quit signal and then by force, reading the pidfile and the
log); each driver adds how its proxy is recognised, started and reloaded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from pathlib import Path

from proxy.errors import ProxyUnavailable
from proxy.policies import wait_for

log = logging.getLogger(__name__)

LOG_TAIL_CHARS = 4000


class MasterProcess:
    """One proxy master, started here or adopted from its pidfile."""

    name = "proxy"  # for messages: "haproxy", "nginx"
    quit_signal = signal.SIGTERM  # the proxy's graceful stop

    def __init__(
        self, binary: str, pidfile: Path, log_path: Path, *, timeout: float
    ) -> None:
        self.binary = binary
        self.pidfile = pidfile
        self.log_path = log_path
        self.timeout = timeout
        self.pid: int | None = None
        self.pgid: int | None = None
        self._child: subprocess.Popen[bytes] | None = None

    def is_ours(self, pid: int) -> bool:
        """Whether ``pid`` is a live master of this driver's configuration."""
        raise NotImplementedError

    def every_process(self) -> list[int]:
        """The master and whatever must die with it when it has no group."""
        return [self.pid] if self.pid is not None else []

    def is_alive(self) -> bool:
        """Whether the master process exists and is not a zombie."""
        if self._child is not None:
            return self._child.poll() is None
        return self.pid is not None and self.is_ours(self.pid)

    def stop(self, grace: float) -> None:
        """Quit gracefully, then by force; leave no process of the group."""
        if self.pid is None:
            return
        pid = self.pid
        steps = (
            (self.quit_signal, grace),
            (signal.SIGTERM, 2.0),
            (signal.SIGKILL, 2.0),
        )
        for signum, patience in steps:
            if self._signal_and_wait(pid, signum, patience):
                break
            log.warning(
                "%s master %s still runs %ss after %s",
                self.name,
                pid,
                patience,
                signum.name,
            )
        self.kill()
        log.info("%s master %s stopped", self.name, pid, extra={"pid": pid})

    def kill(self) -> None:
        """Kill every process of the master's group and forget the master."""
        with contextlib.suppress(ProcessLookupError):
            if self.pgid is not None:
                os.killpg(self.pgid, signal.SIGKILL)
            else:
                for pid in reversed(self.every_process()):
                    os.kill(pid, signal.SIGKILL)
        if self._child is not None:
            self._child.wait(timeout=5)
        self.pidfile.unlink(missing_ok=True)
        self.pid = self.pgid = None
        self._child = None

    def spawn(self, command: list[str]) -> None:
        """Start the master in its own session, its output into the log."""
        with self.log_path.open("ab") as output:
            try:
                self._child = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProxyUnavailable(f"cannot run {self.binary!r}: {exc}") from exc
        self.pid = self.pgid = self._child.pid
        log.info("%s master %s started", self.name, self.pid, extra={"pid": self.pid})

    def take_over(self, pid: int) -> None:
        """Treat ``pid`` as the master from now on, as after a restart."""
        self.pid = pid
        self.pgid = pid if own_group(pid) else None

    def _signal_and_wait(
        self, pid: int, signum: signal.Signals, patience: float
    ) -> bool:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        gone = wait_for(lambda: True if not self.is_alive() else None, patience)
        return gone is not None


def read_pid(pidfile: Path) -> int | None:
    """The pid a pidfile holds, or None if it is missing or unreadable."""
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def own_group(pid: int) -> bool:
    """Whether ``pid`` leads its own process group, as started here."""
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def log_size(path: Path) -> int:
    """The current size of a log file, 0 if it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_log(path: Path, offset: int = 0) -> str:
    """A log file from ``offset``, at most its last few thousand characters."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(offset)
            text = log_file.read().decode(errors="replace")
    except OSError:
        return ""
    return text[-LOG_TAIL_CHARS:]
