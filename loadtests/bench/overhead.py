"""Proxy overhead: the same load straight to a replica and through live.

For each stack, one replica's own port on 127.0.0.1 (``direct``) and the
live frontend (``proxied``) get the same Locust load, one after the other:
at a fixed rate over 1 and over many keep-alive connections for latency,
and as fast as Locust can over many connections for throughput.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.bench.figures import load_figures, throughput
from loadtests.bench.load import Load, LoadRun
from loadtests.bench.stack import Stack, StackError


@dataclass(frozen=True)
class Probe:
    """One way of loading both targets."""

    mode: str  # latency or throughput
    connections: int
    rate: float  # per connection; 0 for as fast as it can


def probes(connections: int, rate: float) -> list[Probe]:
    """One connection, many at a fixed rate, and many flat out."""
    return [
        Probe("latency", 1, rate),
        Probe("latency", connections, rate),
        Probe("throughput", connections, 0.0),
    ]


def targets(stack: Stack) -> dict[str, str]:
    """The live frontend and one live replica's own address."""
    status = stack.status()
    live = next(c for c in status["colors"] if c["color"] == status["live_color"])
    address = next((r["address"] for r in live["replicas"] if r["address"]), None)
    if address is None:
        raise StackError(f"{stack.driver}: no live replica has an address")
    return {"direct": f"http://{address}", "proxied": status["endpoints"]["live"]}


def measure(
    stacks: Mapping[str, Stack], plan: list[Probe], seconds: float, out_dir: Path
) -> list[dict[str, Any]]:
    """Every probe on every stack: one row each, direct beside proxied."""
    rows = []
    for name, stack in stacks.items():
        urls = targets(stack)
        for probe in plan:
            row: dict[str, Any] = {
                "proxy": name,
                "mode": probe.mode,
                "connections": probe.connections,
            }
            for target, url in urls.items():
                load = Load({target: url}, probe.connections, probe.rate, seconds)
                run_name = f"overhead-{name}-{probe.mode}-{probe.connections}-{target}"
                samples = LoadRun(load, out_dir, run_name).start().wait()
                row[target] = load_figures(samples, target).as_dict()
                row[f"{target}_rps"] = throughput(samples, target)
            rows.append(row)
    return rows
