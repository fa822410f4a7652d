"""The master CLI of a master-worker HAProxy: its processes and reloads.

``show proc`` lists the master (with its reload count and how many reloads
failed since the last good one), the current workers and the old workers
still finishing requests after a reload. ``@!<pid>`` sends a command to one
worker, old ones included. ``reload`` makes the master re-execute itself
and hangs up; whether it worked shows in the next ``show proc``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import ProxyUnavailable
from proxy.haproxy.cli import CliSession

log = logging.getLogger(__name__)

_MASTER_LINE = re.compile(r"^(\d+)\s+master\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?")
_WORKER_LINE = re.compile(r"^(\d+)\s+worker\b")


@dataclass(frozen=True)
class ProcessTable:
    """What ``show proc`` says about the master and its workers."""

    master: int
    reloads: int
    failed_reloads: int  # failed since the last successful reload
    workers: tuple[int, ...]
    old_workers: tuple[int, ...]

    @property
    def every_worker(self) -> tuple[int, ...]:
        """Current workers first, then old ones still draining."""
        return self.workers + self.old_workers


def parse_show_proc(text: str) -> ProcessTable:
    """Read the master, current workers and old workers from ``show proc``."""
    master = reloads = failed = 0
    workers: dict[str, list[int]] = {"workers": [], "old workers": []}
    part = ""
    for line in text.splitlines():
        if line.startswith("# "):
            part = line[2:].strip()
        elif found := _MASTER_LINE.match(line):
            master, reloads = int(found.group(1)), int(found.group(2))
            failed = int(found.group(3) or 0)
        elif (found := _WORKER_LINE.match(line)) and part in workers:
            workers[part].append(int(found.group(1)))
    if not master:
        raise ProxyUnavailable(f"show proc named no master: {text!r}")
    return ProcessTable(
        master,
        reloads,
        failed,
        tuple(workers["workers"]),
        tuple(workers["old workers"]),
    )


class MasterCli:
    """Commands for the master process on its own socket."""

    def __init__(self, socket_path: Path, *, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def session(self, patience: float = 2.0) -> CliSession:
        """A new interactive session with the master socket."""
        return CliSession(self.socket_path, timeout=self.timeout, patience=patience)

    def processes(self, patience: float = 2.0) -> ProcessTable:
        """The master's view of itself and its workers."""
        with self.session(patience) as cli:
            return parse_show_proc(cli.ask("show proc"))

    def reload(self) -> None:
        """Ask the master to reload its configuration; it hangs up."""
        with self.session() as cli:
            cli.tell("reload")

    def ask_worker(self, pid: int, command: str) -> str:
        """One worker's answer to ``command``."""
        with self.session() as cli:
            return cli.ask(f"@!{pid} {command}")

    def ask_every_worker(self, command: str) -> dict[int, str]:
        """Each worker's answer to ``command``, old workers included.

        An old worker may exit between ``show proc`` and the question, and
        the master then hangs up; such a worker simply has no answer.
        """
        table = self.processes()
        answers = {pid: self.ask_worker(pid, command) for pid in table.workers}
        for pid in table.old_workers:
            try:
                answers[pid] = self.ask_worker(pid, command)
            except ProxyUnavailable:
                log.debug("old haproxy worker %s left before answering", pid)
        return answers
