"""Supervises one master-worker HAProxy: check, start, adopt, reload, stop.

The master runs in the foreground of its own session (``haproxy -W -S``), so
it outlives a controller that dies and can be adopted by the next one
through its pidfile and master socket. Its output goes to a log file in the
state directory, which is also where a failed start or reload is explained.
Process liveness is read from ``/proc`` so that a zombie counts as dead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import ConfigRejected, ProxyUnavailable
from proxy.haproxy.master import MasterCli, ProcessTable
from proxy.haproxy.policies import wait_for

log = logging.getLogger(__name__)

LOG_TAIL_CHARS = 4000


class _Exited(Exception):
    """The master exited while it was being waited for."""


@dataclass(frozen=True)
class ProcessPaths:
    """The files one HAProxy process is started with."""

    config: Path
    master_socket: Path
    pidfile: Path
    log: Path


def check_config(binary: str, config: Path) -> None:
    """Run ``haproxy -c`` on ``config``; raise ConfigRejected if it fails."""
    try:
        done = subprocess.run(
            [binary, "-c", "-f", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProxyUnavailable(f"cannot run {binary!r} -c: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ConfigRejected(
            f"haproxy -c refused {config.name} (exit {done.returncode}): "
            f"{summary(output)}",
            output,
        )


class HAProxyProcess:
    """One master-worker HAProxy, started here or adopted from a pidfile."""

    def __init__(self, binary: str, paths: ProcessPaths, *, timeout: float) -> None:
        self.binary = binary
        self.paths = paths
        self.timeout = timeout
        self.master = MasterCli(paths.master_socket)
        self.pid: int | None = None
        self.pgid: int | None = None
        self._child: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessTable:
        """Start HAProxy and wait until its first worker runs."""
        self.paths.pidfile.unlink(missing_ok=True)
        offset = log_size(self.paths.log)
        self._child = self._spawn()
        self.pid = self.pgid = self._child.pid
        log.info("haproxy master %s started", self.pid, extra={"pid": self.pid})
        try:
            table = wait_for(self._first_worker, self.timeout)
        except _Exited:
            table = None
        if table is None:
            output = read_log(self.paths.log, offset)
            self.kill()
            raise ProxyUnavailable(
                f"haproxy did not start a worker within {self.timeout}s: "
                f"{summary(output)}"
            )
        return table

    def find_running(self) -> int | None:
        """The master the pidfile names, if it runs with our configuration."""
        pid = read_pid(self.paths.pidfile)
        return pid if pid is not None and is_haproxy(pid, self.paths.config) else None

    def adopt(self) -> ProcessTable | None:
        """Take over the HAProxy the pidfile names, or kill it if it is stuck.

        Returns the adopted process table, or None when there was nothing
        to adopt (or only a master that did not answer, now killed).
        """
        pid = self.find_running()
        if pid is None:
            return None
        self.pid = pid
        self.pgid = pid if own_group(pid) else None
        try:
            table: ProcessTable | None = self.master.processes(patience=1.0)
        except ProxyUnavailable:
            table = None
        if table is None or not table.workers or table.master != pid:
            log.warning("haproxy master %s does not answer; killing it", pid)
            self.kill()
            return None
        log.info("adopted haproxy master %s", pid, extra={"pid": pid})
        return table

    def reload(self) -> ProcessTable:
        """Reload the configuration file and wait for the new worker.

        Raises ConfigRejected with HAProxy's output if the new worker could
        not load it; the old worker then keeps serving.
        """
        before = self.master.processes()
        offset = log_size(self.paths.log)
        self.master.reload()
        after = wait_for(lambda: self._reloaded(before), self.timeout)
        if after is None:
            raise ProxyUnavailable(f"haproxy did not reload within {self.timeout}s")
        if after.failed_reloads or not set(after.workers) - set(before.workers):
            output = read_log(self.paths.log, offset)
            raise ConfigRejected(
                f"haproxy could not load the new configuration: {summary(output)}",
                output,
            )
        return after

    def is_alive(self) -> bool:
        """Whether the master process exists and is not a zombie."""
        if self._child is not None:
            return self._child.poll() is None
        return self.pid is not None and is_haproxy(self.pid, self.paths.config)

    def stop(self, grace: float) -> None:
        """Stop gracefully, then by force; leave no process of the group."""
        if self.pid is None:
            return
        pid = self.pid
        steps = ((signal.SIGUSR1, grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0))
        for signum, patience in steps:
            if self._signal_and_wait(pid, signum, patience):
                break
            log.warning(
                "haproxy master %s still runs %ss after %s", pid, patience, signum.name
            )
        self.kill()
        log.info("haproxy master %s stopped", pid, extra={"pid": pid})

    def kill(self) -> None:
        """Kill every process of the master's group and forget the master."""
        with contextlib.suppress(ProcessLookupError):
            if self.pgid is not None:
                os.killpg(self.pgid, signal.SIGKILL)
            elif self.pid is not None:
                os.kill(self.pid, signal.SIGKILL)
        if self._child is not None:
            self._child.wait(timeout=5)
        self.paths.pidfile.unlink(missing_ok=True)
        self.pid = self.pgid = None
        self._child = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            self.binary,
            "-W",
            "-S",
            f"{self.paths.master_socket},mode,600",
            "-f",
            str(self.paths.config),
            "-p",
            str(self.paths.pidfile),
        ]
        with self.paths.log.open("ab") as output:
            try:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProxyUnavailable(f"cannot run {self.binary!r}: {exc}") from exc

    def _first_worker(self) -> ProcessTable | None:
        if not self.is_alive():
            raise _Exited
        try:
            table = self.master.processes(patience=0)
        except ProxyUnavailable:
            return None
        return table if table.workers else None

    def _reloaded(self, before: ProcessTable) -> ProcessTable | None:
        try:
            table = self.master.processes(patience=0)
        except ProxyUnavailable:
            return None
        return table if table.reloads > before.reloads else None

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


def is_haproxy(pid: int, config: Path) -> bool:
    """Whether ``pid`` is a live (not zombie) HAProxy loading ``config``."""
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0]
    return state != "Z" and str(config).encode() in argv


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


def summary(output: str) -> str:
    """The first alert in HAProxy output, else its last non-empty line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    alerts = [line for line in lines if "[ALERT]" in line]
    if alerts:
        return alerts[0]
    return lines[-1] if lines else "no output"
