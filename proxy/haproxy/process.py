"""Supervises one master-worker HAProxy: check, start, adopt, reload, stop.

The master runs in the foreground of its own session (``haproxy -W -S``), so
it outlives a controller that dies and can be adopted by the next one
through its pidfile and master socket. Its output goes to a log file in the
state directory, which is also where a failed start or reload is explained.
Process liveness is read from ``/proc`` so that a zombie counts as dead.
"""

from __future__ import annotations

import logging
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import ConfigRejected, ProxyUnavailable
from proxy.haproxy.master import MasterCli, ProcessTable
from proxy.policies import wait_for
from proxy.supervision import MasterProcess, log_size, read_log, read_pid

log = logging.getLogger(__name__)


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


class HAProxyProcess(MasterProcess):
    """One master-worker HAProxy, started here or adopted from a pidfile."""

    name = "haproxy"
    quit_signal = signal.SIGUSR1  # soft stop: finish requests, then exit

    def __init__(self, binary: str, paths: ProcessPaths, *, timeout: float) -> None:
        super().__init__(binary, paths.pidfile, paths.log, timeout=timeout)
        self.paths = paths
        self.master = MasterCli(paths.master_socket)

    def is_ours(self, pid: int) -> bool:
        """Whether ``pid`` is a live HAProxy loading this configuration."""
        return is_haproxy(pid, self.paths.config)

    def start(self) -> ProcessTable:
        """Start HAProxy and wait until its first worker runs."""
        self.paths.pidfile.unlink(missing_ok=True)
        offset = log_size(self.paths.log)
        self.spawn(self._command())
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
        self.take_over(pid)
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

    def _command(self) -> list[str]:
        return [
            self.binary,
            "-W",
            "-S",
            f"{self.paths.master_socket},mode,600",
            "-f",
            str(self.paths.config),
            "-p",
            str(self.paths.pidfile),
        ]

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


def summary(output: str) -> str:
    """The first alert in HAProxy output, else its last non-empty line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    alerts = [line for line in lines if "[ALERT]" in line]
    if alerts:
        return alerts[0]
    return lines[-1] if lines else "no output"
