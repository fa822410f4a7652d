"""Traffic faults: a fault proxy spliced into one colour's route.

For each fault one proxy process listens once per targeted replica and
forwards to it; the route then sends each replica's traffic to its proxy
port instead (a detour). Undoing sends the traffic straight to the
replicas again, then stops the proxy. The ledger holds, before the route
changes, everything undoing needs::

    {"marker": "bgctl-fault-7-3f2a9c1e", "pid": 4242,
     "detours": [{"replica": ["10.0.0.5", 8080], "detour": ["127.0.0.1", 40001]}]}

so a controller restarted after a crash undoes it from the record alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos.errors import FaultFailed
from chaos.fault_spec import (
    BandwidthFault,
    BlackholeFault,
    ErrorFault,
    Fault,
    LatencyFault,
    ResetFault,
)
from chaos.faultproxy import FaultKind, FaultParams, ProxyConfig, Upstream
from chaos.faultproxy.launch import is_ours, start_proxy, stop_proxy
from chaos.ledger import FaultRecord, Ledger
from chaos.ports import ReplicaRef, Routes, ServiceFacts
from proxy.routes import Address

log = logging.getLogger(__name__)


class TrafficFaults:
    """Applies latency, error, reset, black-hole and bandwidth faults.

    ``host`` is where proxies listen and where the route reaches them;
    ``advertise`` overrides the latter when the proxy's host is known to
    the route by another name. Proxies log to ``log_dir``, one file each.
    """

    def __init__(
        self,
        routes: Routes,
        *,
        host: str = "127.0.0.1",
        advertise: str | None = None,
        python: str = sys.executable,
        log_dir: Path | None = None,
        start_timeout: float = 10.0,
        stop_grace: float = 2.0,
    ) -> None:
        self.routes = routes
        self.host = host
        self.advertise = advertise or host
        self.python = python
        self.log_dir = log_dir
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self._children: dict[int, asyncio.subprocess.Process] = {}

    async def inject(
        self,
        record: FaultRecord,
        fault: Fault,
        targets: Sequence[ReplicaRef],
        facts: ServiceFacts,
        ledger: Ledger,
    ) -> None:
        """Start a proxy for ``targets`` and splice it into their route."""
        config = self._config(record, fault, replica_addresses(targets), facts)

        # 1. Write the marker down first: a proxy started from here is findable.
        _add_undo(ledger, record, marker=config.marker)

        # 2. Start the proxy; write its pid and detours before the route moves.
        proxy = await start_proxy(config, self.python, self.start_timeout)
        self._children[proxy.pid] = proxy.process
        detours = {
            Address(upstream.host, upstream.port): Address(self.advertise, port)
            for upstream, port in zip(config.upstreams, proxy.ports, strict=True)
        }
        _add_undo(ledger, record, pid=proxy.pid, detours=detours_to_json(detours))

        # 3. Send the replicas' traffic through it.
        try:
            await self.routes.splice(record.service, record.color, detours)
        except Exception as exc:
            raise FaultFailed(
                f"fault {record.id}: cannot detour {record.service} "
                f"{record.color} through the fault proxy: {exc}",
                fault_id=record.id,
            ) from exc
        log.info(
            "fault %s: %s on %s %s through pid %s",
            record.id,
            fault.kind,
            record.service,
            record.color,
            proxy.pid,
            extra={"service": record.service, "color": record.color},
        )

    def lost(self, record: FaultRecord) -> str | None:
        """The fault proxy has exited: the detour now leads nowhere."""
        marker, pid, _ = read_undo(record)
        if pid is None or marker is None or is_ours(pid, marker):
            return None
        return f"its fault proxy (pid {pid}) exited; the detour led nowhere"

    async def undo(self, record: FaultRecord) -> None:
        """Route the replicas straight again, then stop the proxy."""
        marker, pid, detours = read_undo(record)

        # 1. Send the replicas' traffic straight to them again.
        if detours:
            try:
                await self.routes.unsplice(record.service, record.color, detours)
            except Exception as exc:
                raise FaultFailed(
                    f"fault {record.id}: cannot take the detours of "
                    f"{record.service} {record.color} back: {exc}",
                    fault_id=record.id,
                ) from exc

        # 2. Stop the proxy, if it is still running as the one started.
        if marker is not None:
            await stop_proxy(pid, marker, self.stop_grace)
        await self._collect(pid)
        log.info(
            "fault %s undone on %s %s",
            record.id,
            record.service,
            record.color,
            extra={"service": record.service, "color": record.color},
        )

    async def _collect(self, pid: int | None) -> None:
        """Collect the exit of a stopped proxy started by this instance."""
        child = self._children.pop(pid, None) if pid is not None else None
        if child is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), self.stop_grace)

    def _config(
        self,
        record: FaultRecord,
        fault: Fault,
        replicas: list[Address],
        facts: ServiceFacts,
    ) -> ProxyConfig:
        marker = f"bgctl-fault-{record.id}-{secrets.token_hex(4)}"
        return ProxyConfig(
            marker=marker,
            listen=self.host,
            upstreams=[Upstream(host=a.host, port=a.port) for a in replicas],
            fault=fault_params(fault),
            exempt=[facts.health_path],
            log_file=self._log_file(marker),
        )

    def _log_file(self, marker: str) -> str | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return str((self.log_dir / f"{marker}.log").absolute())


def fault_params(fault: Fault) -> FaultParams:
    """What the proxy needs of a traffic fault; FaultFailed for any other."""
    if isinstance(fault, LatencyFault):
        return FaultParams(
            kind=FaultKind.LATENCY,
            probability=fault.probability,
            latency=fault.latency,
            jitter=fault.jitter,
        )
    if isinstance(fault, ErrorFault):
        return FaultParams(
            kind=FaultKind.ERROR,
            probability=fault.probability,
            status=fault.status,
            body=fault.body,
        )
    if isinstance(fault, ResetFault | BlackholeFault):
        return FaultParams(kind=FaultKind(fault.kind), probability=fault.probability)
    if isinstance(fault, BandwidthFault):
        return FaultParams(kind=FaultKind.BANDWIDTH, rate=fault.rate)
    raise FaultFailed(
        f"the traffic mechanism cannot apply a {fault.kind!r} fault; it applies "
        f"{', '.join(FaultKind)}",
        kind=fault.kind,
    )


def replica_addresses(targets: Sequence[ReplicaRef]) -> list[Address]:
    """The address of every target; FaultFailed names one without."""
    if not targets:
        raise FaultFailed("a traffic fault needs at least one replica, got none")
    for target in targets:
        if target.address is None:
            raise FaultFailed(
                f"replica {target.name} ({target.container_id[:12]}) has no "
                f"address to detour; it is {target.state}",
                container_id=target.container_id,
            )
    return [t.address for t in targets if t.address is not None]


def detours_to_json(detours: dict[Address, Address]) -> list[dict[str, list[Any]]]:
    """Detours as the ledger keeps them: lists of host and port."""
    return [
        {"replica": [r.host, r.port], "detour": [d.host, d.port]}
        for r, d in detours.items()
    ]


def read_undo(
    record: FaultRecord,
) -> tuple[str | None, int | None, dict[Address, Address]]:
    """The marker, pid and detours (replica to proxy address) a record holds."""
    undo = record.undo
    try:
        marker = undo.get("marker")
        pid = undo.get("pid")
        detours = {
            _address(d["replica"]): _address(d["detour"])
            for d in undo.get("detours", [])
        }
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise FaultFailed(
            f"fault {record.id}: cannot read its undo record, got {undo!r:.300}",
            fault_id=record.id,
        ) from exc
    if not isinstance(marker, str | None) or not isinstance(pid, int | None):
        raise FaultFailed(
            f"fault {record.id}: expected a marker and a pid, got {undo!r:.300}",
            fault_id=record.id,
        )
    return marker, pid, detours


def _address(pair: list[Any]) -> Address:
    host, port = pair
    return Address(str(host), int(port))


def _add_undo(ledger: Ledger, record: FaultRecord, **undo: Any) -> None:
    try:
        ledger.add_undo(record.id, **undo)
    except sqlite3.Error as exc:
        raise FaultFailed(
            f"fault {record.id}: cannot write its undo to the ledger: {exc}",
            fault_id=record.id,
        ) from exc
