"""The nginx proxy driver: route tables in, a serving nginx out.

Everything lives in ``<state_dir>/nginx/``: the configuration, the pidfile,
the error log (which also takes the master's output), the temp paths, the
unix socket of the status page, and the digest of the configuration last
loaded.

nginx has no runtime API, so every table that renders differently from
the loaded one, a flip included, is rendered, checked with ``nginx -t``,
swapped in and loaded by a graceful reload (SIGHUP). The old workers
finish what they hold while new ones take new connections; a reload may
still cost a client whose idle keep-alive connection an old worker closes
as it sends its next request. A refused file is never swapped in, and a
file the master fails to load is swapped back out, so nginx keeps serving
what it served.

A controller that restarts finds the nginx it left running through the
pidfile and adopts it; a table that renders to the loaded file is then
applied without a reload.

``sessions`` counts the TCP connections nginx holds to a colour's replicas,
read from ``/proc`` because ``stub_status`` only counts nginx as a whole.
Idle keep-alive connections count too, until they close (at most
``UPSTREAM_IDLE_TIMEOUT`` after their last request, or as soon as a reload
retires their worker), so the number is an upper bound on the requests in
flight, and 0 means none. Services that share a replica address share its
count.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import threading
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import ProxyError, ProxyUnavailable
from proxy.files import read_text, write_atomically
from proxy.nginx import procfs
from proxy.nginx.config import WorkerUser, config_digest, render_config, target_color
from proxy.nginx.files import NginxFiles
from proxy.nginx.process import NginxProcess, check_config
from proxy.nginx.status import StatusClient
from proxy.normalize import normalize_table
from proxy.policies import wait_for
from proxy.routes import Address, Color, Endpoint, RouteTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """A loaded table and the workers that serve it."""

    workers: frozenset[int]
    table: RouteTable


class NginxDriver:
    """Serves route tables through one supervised nginx master."""

    def __init__(
        self,
        state_dir: Path,
        nginx_bin: str = "nginx",
        *,
        timeout: float = 10.0,
        stop_grace: float = 10.0,
    ) -> None:
        self.home = Path(state_dir).resolve() / "nginx"
        self.files = NginxFiles.under(self.home)
        self.nginx_bin = nginx_bin
        self.timeout = timeout
        self.stop_grace = stop_grace
        self.process = NginxProcess(nginx_bin, self.files, timeout=timeout)
        self.status = StatusClient(self.files.status_socket)
        self._loaded: str | None = None
        self._generations: list[Generation] = []
        self._lock = threading.RLock()

    def start(self, table: RouteTable) -> None:
        """Start nginx serving ``table``, or adopt the one left running."""
        with self._lock:
            table = normalize_table(table)
            self.files.make_directories()

            # 1. Forget a master started here that has died since.
            if self.process.pid is not None and not self.process.is_alive():
                log.warning("nginx master %s died; starting anew", self.process.pid)
                self.process.kill()

            # 2. Adopt one a previous controller left, if it still answers.
            if self.process.pid is None and self.process.adopt():
                self._adopt_or_replace()

            # 3. Bring the running one to the table, or start a new one.
            if self.process.pid is None:
                self._start_fresh(table)
            else:
                self._apply(table)

    def stop(self) -> None:
        """Stop nginx gracefully, also one a previous controller left."""
        with self._lock:
            if self.process.pid is None:
                self.process.adopt()
            self.process.stop(self.stop_grace)
            self._loaded = None
            self._generations = []

    def is_running(self) -> bool:
        """Whether a master runs on this directory and serves its status page."""
        running = self.process.find_running() is not None
        return running and self.status.is_answering()

    def apply(self, table: RouteTable) -> None:
        """Make the running nginx serve ``table``; see the module docstring."""
        with self._lock:
            table = normalize_table(table)
            self._require_running()
            self._apply(table)

    def served_colors(self, service: str) -> dict[Endpoint, Color | None]:
        """The colour live and preview send new requests to, None for none.

        Read from the last table loaded here, after checking that nginx
        still runs the file that table rendered to.
        """
        with self._lock:
            routes = self._current_table().services.get(service)
            return {
                endpoint: target_color(routes, endpoint) if routes else None
                for endpoint in (Endpoint.LIVE, Endpoint.PREVIEW)
            }

    def sessions(self, service: str, color: Color) -> int:
        """Connections nginx holds to ``color``'s replicas; see the module doc."""
        with self._lock:
            self._require_running()
            processes = self.process.every_process()
            self._forget_retired(set(processes))
            peers = self._replicas(service, color)
            if not peers:
                return 0
            return procfs.connections_to(procfs.socket_inodes(processes), peers)

    def worker_pids(self) -> tuple[int, ...]:
        """The workers taking new connections now; a reload replaces them."""
        return self.process.workers()

    def _start_fresh(self, table: RouteTable) -> None:
        log.info("starting nginx in %s", self.home)

        # 1. Render and check the configuration; nothing starts if it fails.
        text = self._write_candidate(table)

        # 2. Clear what a killed nginx left, put the configuration in place.
        self.files.status_socket.unlink(missing_ok=True)
        os.replace(self.files.candidate, self.files.config)

        # 3. Start and wait until the new master answers.
        workers = self.process.start()
        try:
            self._wait_for_status()
        except ProxyError:
            log.error("nginx started but does not answer; stopping it")
            self.process.kill()
            raise
        self._generations = []
        self._remember(text, table, workers)
        log.info("nginx serving, workers %s", workers)

    def _apply(self, table: RouteTable) -> None:
        text = render_config(table, self.files, worker_user())
        if config_digest(text) == self._loaded:
            self._remember(text, table, self.process.workers())
        else:
            self._reload(table)

    def _reload(self, table: RouteTable) -> None:
        log.info("reloading nginx for a new table")

        # 1. Render and check the new configuration; a refused one changes nothing.
        text = self._write_candidate(table)

        # 2. Swap it in and reload, putting the old file back on failure.
        previous = read_text(self.files.config)
        os.replace(self.files.candidate, self.files.config)
        try:
            workers = self.process.reload()
        except ProxyError as exc:
            log.error("nginx reload failed, the old workers serve on: %s", exc)
            if previous is not None:
                write_atomically(self.files.config, previous)
            raise

        # 3. Wait until the new workers answer, then record what they serve.
        self._wait_for_status()
        self._log_flips(table)
        self._remember(text, table, workers)
        log.info("nginx reloaded, workers %s", workers)

    def _write_candidate(self, table: RouteTable) -> str:
        text = render_config(table, self.files, worker_user())
        write_atomically(self.files.candidate, text)
        try:
            check_config(self.nginx_bin, self.files, self.files.candidate)
        except ProxyError as exc:
            log.error("nginx refused the rendered configuration: %s", exc)
            self.files.candidate.unlink(missing_ok=True)
            raise
        return text

    def _adopt_or_replace(self) -> None:
        """Keep an adopted master that answers; kill one that does not."""
        if wait_for(lambda: self.status.is_answering() or None, 1.0):
            self._loaded = (read_text(self.files.loaded) or "").strip() or None
            return
        log.warning("nginx master %s does not answer; killing it", self.process.pid)
        self.process.kill()

    def _wait_for_status(self) -> None:
        if wait_for(lambda: self.status.is_answering() or None, self.timeout) is None:
            raise ProxyUnavailable(
                f"nginx status at {self.files.status_socket} did not answer "
                f"within {self.timeout}s"
            )

    def _require_running(self) -> None:
        if self.process.pid is None:
            raise ProxyUnavailable("nginx is not running here; start it first")
        if not self.process.is_alive():
            raise ProxyUnavailable(f"nginx master {self.process.pid} has died")

    def _current_table(self) -> RouteTable:
        """The last table loaded here, if nginx still runs its file."""
        self._require_running()
        on_disk = (read_text(self.files.loaded) or "").strip()
        if not self._generations or on_disk != self._loaded:
            raise ProxyUnavailable(
                f"nginx in {self.home} runs configuration {on_disk[:12]!r}, "
                f"not {str(self._loaded)[:12]!r} as loaded here"
            )
        return self._generations[-1].table

    def _remember(self, text: str, table: RouteTable, workers: tuple[int, ...]) -> None:
        self._loaded = config_digest(text)
        write_atomically(self.files.loaded, self._loaded + "\n")
        generation = Generation(frozenset(workers), table)
        if self._generations and self._generations[-1].workers == generation.workers:
            self._generations[-1] = generation
        else:
            self._generations.append(generation)
        self._forget_retired(set(self.process.every_process()))

    def _forget_retired(self, processes: set[int]) -> None:
        """Drop tables whose workers have all exited, keeping the current one."""
        current = self._generations[-1:]
        older = [g for g in self._generations[:-1] if g.workers & processes]
        self._generations = older + current

    def _replicas(self, service: str, color: Color) -> set[Address]:
        """Addresses of ``color`` in every table some worker still serves."""
        return {
            address
            for generation in self._generations
            if (routes := generation.table.services.get(service)) is not None
            for address in routes.addresses(color)
            if address is not None
        }

    def _log_flips(self, table: RouteTable) -> None:
        before = self._generations[-1].table.services if self._generations else {}
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


def worker_user() -> WorkerUser | None:
    """The user workers run as: ours, named only when nginx starts as root.

    A root master would otherwise hand its workers to ``nobody``, who may
    not reach the state directory.
    """
    if os.geteuid() != 0:
        return None
    user = pwd.getpwuid(os.geteuid()).pw_name
    return WorkerUser(user, grp.getgrgid(os.getegid()).gr_name)
