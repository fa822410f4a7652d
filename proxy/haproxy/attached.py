"""An HAProxy master that runs elsewhere and is only reached through files.

In compose mode HAProxy runs in a container of its own, started as
``haproxy -W -S <master socket> -f <config>`` with its directory on a
volume the controller shares. The controller renders the configuration
into that directory, checks it, reloads through the master socket and
flips through the admin socket as usual; it never starts, signals or stops
the master, whose process ids belong to another container's namespace.
"""

from __future__ import annotations

import logging

from proxy.errors import ProxyUnavailable
from proxy.haproxy.master import ProcessTable
from proxy.haproxy.process import HAProxyProcess
from proxy.policies import wait_for

log = logging.getLogger(__name__)


class AttachedHAProxy(HAProxyProcess):
    """A master-worker HAProxy started by someone else, reloaded here."""

    def is_alive(self) -> bool:
        """Whether the master answers on its socket."""
        return self._answer(patience=0) is not None

    def adopt(self) -> ProcessTable | None:
        """Attach to the master if it answers with a worker; None if not yet."""
        table = self._answer(patience=1.0)
        if table is None:
            return None
        self.pid = table.master
        log.info("attached to haproxy master %s", self.pid, extra={"pid": self.pid})
        return table

    def start(self) -> ProcessTable:
        """Wait for the master to answer, then make it load the configuration."""
        table = wait_for(lambda: self._answer(patience=0), self.timeout)
        if table is None:
            raise ProxyUnavailable(
                f"no haproxy master answered on {self.paths.master_socket} "
                f"within {self.timeout}s; it is started outside the controller"
            )
        self.pid = table.master
        return self.reload()

    def stop(self, grace: float) -> None:
        """Leave the master running: whoever started it stops it."""
        if self.pid is not None:
            log.info("haproxy master %s is attached; left running", self.pid)
        self.kill()

    def kill(self) -> None:
        """Forget the master without signalling it."""
        self.pid = self.pgid = None

    def _answer(self, patience: float) -> ProcessTable | None:
        try:
            table = self.master.processes(patience=patience)
        except ProxyUnavailable:
            return None
        return table if table.workers else None
