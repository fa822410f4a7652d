"""Supervises one nginx master: check, start, adopt, reload, stop.

The master runs with ``daemon off`` in a session of its own, started here
with its output appended to the error log. Keeping it in the foreground
lets the driver watch the very process it started (and see it die), while
its own session lets it outlive a controller that dies; the next
controller adopts it through the pidfile, recognising it by the title
nginx gives it, which names the configuration file.

A reload is SIGHUP: the master reads the file again and, if it loads,
starts new workers and tells the old ones to finish their requests and
exit. If it does not load, the master logs an ``[emerg]`` line and the old
workers serve on; the driver learns which happened from the worker titles
and the log.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from pathlib import Path

from proxy.errors import ConfigRejected, ProxyUnavailable
from proxy.nginx import procfs
from proxy.nginx.files import NginxFiles
from proxy.policies import wait_for
from proxy.supervision import MasterProcess, log_size, read_log, read_pid

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 30.0
"""Seconds ``nginx -t`` may take before it counts as hung."""


class _Exited(Exception):
    """The master exited while it was being waited for."""


def check_config(binary: str, files: NginxFiles, path: Path) -> None:
    """Run ``nginx -t`` on the file ``path``; raise ConfigRejected if it fails."""
    command = [binary, "-t", "-q", "-p", f"{files.home}/", "-c", str(path)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProxyUnavailable(f"cannot run {binary!r} -t: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ConfigRejected(
            f"nginx -t refused {path.name} (exit {done.returncode}): {summary(output)}",
            output,
        )


class NginxProcess(MasterProcess):
    """One nginx master, started here or adopted from its pidfile."""

    name = "nginx"
    quit_signal = signal.SIGQUIT  # graceful: workers finish, then exit

    def __init__(self, binary: str, files: NginxFiles, *, timeout: float) -> None:
        super().__init__(binary, files.pidfile, files.error_log, timeout=timeout)
        self.files = files

    def is_ours(self, pid: int) -> bool:
        """Whether ``pid`` is a live nginx master of this configuration."""
        return procfs.is_master(pid, self.files.config)

    def start(self) -> tuple[int, ...]:
        """Start nginx and wait until its workers run; return their pids."""
        self.files.pidfile.unlink(missing_ok=True)
        offset = log_size(self.files.error_log)
        files = self.files
        self.spawn([self.binary, "-p", f"{files.home}/", "-c", str(files.config)])
        try:
            workers = wait_for(self._first_workers, self.timeout)
        except _Exited:
            workers = None
        if workers is None:
            output = read_log(self.files.error_log, offset)
            self.kill()
            raise ProxyUnavailable(
                f"nginx did not start a worker within {self.timeout}s: "
                f"{summary(output)}"
            )
        return workers

    def find_running(self) -> int | None:
        """The master the pidfile names, if it runs with our configuration."""
        pid = read_pid(self.files.pidfile)
        return pid if pid is not None and self.is_ours(pid) else None

    def adopt(self) -> bool:
        """Take over the master the pidfile names; whether there was one."""
        pid = self.find_running()
        if pid is None:
            return False
        self.take_over(pid)
        log.info("adopted nginx master %s", pid, extra={"pid": pid})
        return True

    def workers(self) -> tuple[int, ...]:
        """The workers taking new connections now."""
        return procfs.current_workers(self.pid) if self.pid is not None else ()

    def every_process(self) -> list[int]:
        """The master and all its workers, old ones still finishing included."""
        if self.pid is None:
            return []
        return [self.pid, *procfs.children(self.pid)]

    def reload(self) -> tuple[int, ...]:
        """Make the master load its file again; return the new workers.

        Raises ConfigRejected with nginx's log if the master could not load
        the file; the old workers then keep serving.
        """
        if self.pid is None:
            raise ProxyUnavailable("nginx is not running here; start it first")
        before = set(self.workers())
        offset = log_size(self.files.error_log)
        os.kill(self.pid, signal.SIGHUP)
        try:
            outcome = wait_for(lambda: self._reloaded(before, offset), self.timeout)
        except _Exited:
            raise ProxyUnavailable(f"nginx master {self.pid} died reloading") from None
        if outcome is None:
            raise ProxyUnavailable(f"nginx did not reload within {self.timeout}s")
        workers, failure = outcome
        if failure:
            raise ConfigRejected(
                f"nginx could not load the new configuration: {summary(failure)}",
                failure,
            )
        return workers

    def _first_workers(self) -> tuple[int, ...] | None:
        if not self.is_alive():
            raise _Exited
        if read_pid(self.files.pidfile) != self.pid:
            return None
        return self.workers() or None

    def _reloaded(
        self, before: set[int], offset: int
    ) -> tuple[tuple[int, ...], str] | None:
        """The new workers once they serve, or the log once loading failed."""
        if not self.is_alive():
            raise _Exited
        workers = self.workers()
        if workers and before.isdisjoint(workers):
            return workers, ""
        output = read_log(self.files.error_log, offset)
        return ((), output) if has_given_up(output) else None


def has_given_up(output: str) -> bool:
    """Whether nginx's log says a reload failed for good.

    A refused bind is retried a few times (``try again to bind()``) before
    nginx gives up with ``still could not bind()``; every other
    ``[emerg]`` is final.
    """
    return any(
        "[emerg]" in line and not (" bind() to " in line and "failed" in line)
        for line in output.splitlines()
    )


def summary(output: str) -> str:
    """The last ``[emerg]`` in nginx output, else its last non-empty line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    emergencies = [line for line in lines if "[emerg]" in line]
    if emergencies:
        return emergencies[-1]
    return lines[-1] if lines else "no output"
