"""The HAProxy proxy driver: route tables in, a serving HAProxy out.

Everything lives in ``<state_dir>/haproxy/``: the configuration, the admin
and master sockets, the pidfile, the server-state file, the log, and the
digest of the configuration skeleton last loaded.

A table whose skeleton (services, ports, slots, health paths) matches the
loaded one is applied through the runtime API alone. Any other table is
rendered, checked with ``haproxy -c`` and reloaded; before the reload the
running servers are brought to the new table and their state is saved, so
the new worker starts from the same addresses and states and nothing the
runtime API set is lost.

A controller that restarts finds the HAProxy it left running through the
pidfile and adopts it: traffic keeps flowing and the new table is applied
as usual. A master that no longer answers is killed and replaced.

With ``attached`` the master is started outside the controller (in its own
container, on a volume holding this directory) and is only ever reloaded
here; see ``proxy.haproxy.attached``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from proxy.errors import CommandFailed, ConfigRejected, ProxyError, ProxyUnavailable
from proxy.files import read_text, write_atomically
from proxy.haproxy.attached import AttachedHAProxy
from proxy.haproxy.config import ConfigPaths, render_config, skeleton_digest
from proxy.haproxy.files import DriverFiles
from proxy.haproxy.layout import color_of, proxy_name, table_plan
from proxy.haproxy.process import HAProxyProcess, ProcessPaths, check_config
from proxy.haproxy.runtime import RuntimeApi, ServerStatus, parse_stat
from proxy.haproxy.sync import mismatches, sync_commands
from proxy.normalize import normalize_table
from proxy.policies import wait_for
from proxy.routes import Color, Endpoint, RouteTable

log = logging.getLogger(__name__)


class HAProxyDriver:
    """Serves route tables through one supervised master-worker HAProxy."""

    def __init__(
        self,
        state_dir: Path,
        haproxy_bin: str = "haproxy",
        *,
        timeout: float = 10.0,
        stop_grace: float = 10.0,
        attached: bool = False,
    ) -> None:
        self.home = Path(state_dir).resolve() / "haproxy"
        self.files = DriverFiles.under(self.home)
        self.paths = ConfigPaths(self.files.admin_socket, self.files.state_file)
        self.haproxy_bin = haproxy_bin
        self.timeout = timeout
        self.stop_grace = stop_grace
        self.runtime = RuntimeApi(self.files.admin_socket)
        kind = AttachedHAProxy if attached else HAProxyProcess
        self.process = kind(haproxy_bin, self._process_paths(), timeout=timeout)
        self._shape: str | None = None
        self._table: RouteTable | None = None
        self._lock = threading.RLock()

    def start(self, table: RouteTable) -> None:
        """Start HAProxy serving ``table``, or adopt the one left running."""
        with self._lock:
            table = normalize_table(table)
            self.home.mkdir(parents=True, exist_ok=True)

            # 1. Forget a master started here that has died since.
            if self.process.pid is not None and not self.process.is_alive():
                log.warning("haproxy master %s died; starting anew", self.process.pid)
                self.process.kill()

            # 2. Adopt one a previous controller left, with the shape it loaded.
            if self.process.pid is None and self.process.adopt() is not None:
                self._shape = self._read_shape()

            # 3. Bring the running one to the table, or start a new one.
            if self.process.pid is None:
                self._start_fresh(table)
            else:
                self._apply(table)

    def stop(self) -> None:
        """Stop HAProxy gracefully, also one a previous controller left."""
        with self._lock:
            if self.process.pid is None:
                self.process.adopt()
            self.process.stop(self.stop_grace)
            self._shape = self._table = None

    def is_running(self) -> bool:
        """Whether a worker answers on the admin socket."""
        try:
            self.runtime.worker_pid(patience=0)
        except ProxyUnavailable:
            return False
        return True

    def apply(self, table: RouteTable) -> None:
        """Make the running HAProxy serve ``table``; see the module docstring."""
        with self._lock:
            table = normalize_table(table)
            self._require_running()
            self._apply(table)

    def served_colors(self, service: str) -> dict[Endpoint, Color | None]:
        """The colour whose servers take new requests at live and preview.

        None when no colour does (or both do, in the middle of a flip); a
        server counts when it is ready and its health checks pass.
        """
        servers = self.runtime.servers()
        return {
            endpoint: single_color(servers.values(), proxy_name(service, endpoint))
            for endpoint in (Endpoint.LIVE, Endpoint.PREVIEW)
        }

    def sessions(self, service: str, color: Color) -> int:
        """Requests in flight to ``color`` in every worker, old ones included."""
        backends = {proxy_name(service, endpoint) for endpoint in Endpoint}
        answers = self.process.master.ask_every_worker("show stat")
        return sum(
            int(row.get("scur") or 0)
            for answer in answers.values()
            for row in parse_stat(answer)
            if row.get("pxname") in backends
            and color_of(row.get("svname", "")) is color
        )

    def worker_pid(self) -> int:
        """The process id of the worker serving now; a reload changes it."""
        return self.runtime.worker_pid()

    def _start_fresh(self, table: RouteTable) -> None:
        log.info("starting haproxy in %s", self.home)

        # 1. Render and check the configuration; nothing starts if it fails.
        self._write_candidate(table)

        # 2. Forget server states of an earlier run: they hold old addresses.
        self.files.state_file.unlink(missing_ok=True)

        # 3. Put the configuration in place, start, wait for the worker.
        os.replace(self.files.candidate, self.files.config)
        processes = self.process.start()
        try:
            self._wait_for_worker(processes.workers[0])

            # 4. Drain what a configuration cannot drain, and check the result.
            self._sync(table)
        except ProxyError:
            log.error("haproxy started but did not take its routes; stopping it")
            self.process.kill()
            raise
        self._remember(table)
        log.info("haproxy serving, worker %s", processes.workers[0])

    def _apply(self, table: RouteTable) -> None:
        if self._shape == skeleton_digest(table, self.paths):
            self._sync(table)
            self._log_flips(table)
            self._remember(table)
        else:
            self._reload(table)

    def _reload(self, table: RouteTable) -> None:
        log.info("reloading haproxy for a new configuration shape")

        # 1. Render and check the new configuration; a refused one changes nothing.
        self._write_candidate(table)

        # 2. Bring the servers both configurations share to the new table,
        #    then save their state for the new worker to start from.
        self._sync(table, shared_only=True)
        write_atomically(self.files.state_file, self.runtime.servers_state())

        # 3. Swap the configuration in and reload, undoing the swap on failure.
        previous = read_text(self.files.config)
        os.replace(self.files.candidate, self.files.config)
        try:
            processes = self.process.reload()
        except ProxyError as exc:
            log.error("haproxy reload failed, the old worker serves on: %s", exc)
            self._restore(previous)
            raise

        # 4. Wait for the new worker, set what the file cannot say, check.
        self._wait_for_worker(processes.workers[0])
        self._sync(table)
        self._log_flips(table)
        self._remember(table)
        log.info("haproxy reloaded, worker %s", processes.workers[0])

    def _restore(self, previous: str | None) -> None:
        """Put the last loaded configuration back after a failed reload."""
        if previous is not None:
            write_atomically(self.files.config, previous)
        if self._table is None:
            return
        try:
            self._sync(self._table, shared_only=True)
        except ProxyError as exc:
            log.error("could not return the servers to the last table: %s", exc)

    def _sync(self, table: RouteTable, *, shared_only: bool = False) -> None:
        """Bring the running servers to ``table`` through the runtime API."""
        current = self.runtime.servers()
        plans = table_plan(table)
        if shared_only:
            plans = [p for p in plans if (p.backend, p.server) in current]
        commands = sync_commands(plans, current)
        self.runtime.run(commands)
        log.debug("sent %s runtime commands", len(commands))
        if commands and not shared_only:
            wrong = mismatches(plans, self.runtime.servers())
            if wrong:
                raise CommandFailed("set server", "; ".join(wrong))

    def _write_candidate(self, table: RouteTable) -> None:
        write_atomically(self.files.candidate, render_config(table, self.paths))
        try:
            check_config(self.haproxy_bin, self.files.candidate)
        except ConfigRejected as exc:
            log.error("haproxy refused the rendered configuration: %s", exc)
            self.files.candidate.unlink(missing_ok=True)
            raise

    def _wait_for_worker(self, pid: int) -> None:
        """Wait until the admin socket is answered by worker ``pid``."""

        def answered() -> bool | None:
            try:
                return True if self.runtime.worker_pid(patience=0) == pid else None
            except ProxyUnavailable:
                return None

        if wait_for(answered, self.timeout) is None:
            raise ProxyUnavailable(
                f"haproxy worker {pid} did not answer within {self.timeout}s"
            )

    def _require_running(self) -> None:
        if self.process.pid is None:
            raise ProxyUnavailable("haproxy is not running here; start it first")
        if not self.process.is_alive():
            raise ProxyUnavailable(f"haproxy master {self.process.pid} has died")

    def _remember(self, table: RouteTable) -> None:
        self._shape = skeleton_digest(table, self.paths)
        self._table = table
        write_atomically(self.files.shape, self._shape + "\n")

    def _read_shape(self) -> str | None:
        return (read_text(self.files.shape) or "").strip() or None

    def _log_flips(self, table: RouteTable) -> None:
        before = self._table.services if self._table else {}
        for name, routes in table.services.items():
            old = before.get(name)
            if old is None or (old.live, old.preview) != (routes.live, routes.preview):
                log.info(
                    "service %s: live %s, preview %s",
                    name,
                    routes.live,
                    routes.preview,
                    extra={"service": name, "color": routes.live},
                )

    def _process_paths(self) -> ProcessPaths:
        files = self.files
        return ProcessPaths(files.config, files.master_socket, files.pidfile, files.log)


def single_color(servers: Iterable[ServerStatus], backend: str) -> Color | None:
    """The one colour with servers taking new requests in ``backend``."""
    colors = {
        color_of(status.server)
        for status in servers
        if status.backend == backend and status.takes_new_requests
    }
    return colors.pop() if len(colors) == 1 else None
