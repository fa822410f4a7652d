"""Flip under load: K flips per proxy driver while Locust loads every live port.

Both stacks are prepared first (v1 live, v2 staged), then one Locust run
loads their live frontends at a fixed rate while a thread per stack flips:
promote, roll back, stage v2 again, promote, ... with quiet gaps between,
so the second around one flip never holds another flip or a deploy. A
poller asks each controller for its status meanwhile and reads its memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtests.bench.load import Load, LoadRun
from loadtests.bench.samples import Sample
from loadtests.bench.stack import SERVICE, Stack, StackError

POLL_SECONDS = 0.2  # between two status requests to one controller
TAIL_SECONDS = 2.0  # of load after the last flip


@dataclass(frozen=True)
class Flip:
    """One flip as the API saw it."""

    action: str  # promote or rollback
    asked: float  # unix time the request was sent
    seconds: float  # until the answer came

    @property
    def moment(self) -> float:
        """The middle of the request, where the route changed."""
        return self.asked + self.seconds / 2


@dataclass
class Record:
    """What one stack's flips, deploys and API polls measured."""

    flips: list[Flip] = field(default_factory=list)
    deploys: list[float] = field(default_factory=list)  # seconds to staged
    status_ms: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    error: str | None = None


def prepare(stack: Stack, spec: dict[str, Any]) -> float:
    """Start the controller, put v1 live, stage v2; seconds v2 took to stage."""
    stack.start()
    stack.register(spec)
    stack.deploy("v1")
    _promote(stack)
    return deploy_seconds(_stage(stack))


def run_flips(
    stacks: Mapping[str, Stack],
    records: Mapping[str, Record],
    flips: int,
    gap: float,
    load: Load,
    out_dir: Path,
) -> list[Sample]:
    """Flip every stack ``flips`` times under ``load``, noting in ``records``."""
    run = LoadRun(load, out_dir, "flips").start()
    done = threading.Event()
    poller = threading.Thread(target=_poll, args=(stacks, records, done), daemon=True)
    poller.start()
    try:
        time.sleep(gap)  # the load settles before the first flip
        drivers = [
            threading.Thread(
                target=_drive, args=(stack, flips, gap, offset, rec), daemon=True
            )
            for offset, (stack, rec) in enumerate(
                (stacks[name], records[name]) for name in stacks
            )
        ]
        for thread in drivers:
            thread.start()
        for thread in drivers:
            thread.join()
        time.sleep(TAIL_SECONDS)
    finally:
        done.set()
        poller.join()
        samples = run.stop()
    return samples


def _drive(stack: Stack, flips: int, gap: float, offset: int, record: Record) -> None:
    # Stacks start half a gap apart, so their flips do not share a moment.
    time.sleep(offset * gap / 2)
    try:
        for number in range(flips):
            if number % 2 == 0:
                if number > 0:
                    record.deploys.append(deploy_seconds(_stage(stack)))
                time.sleep(gap)
                record.flips.append(_promote(stack))
            else:
                time.sleep(gap)
                record.flips.append(_flip(stack, "rollback"))
            time.sleep(gap)
    except Exception as exc:  # a refused step, or a controller that went away
        record.error = str(exc)


def _stage(stack: Stack) -> dict[str, Any]:
    release = stack.deploy("v2")
    if release["phase"] != "AwaitingPromotion":
        raise StackError(f"{stack.driver}: v2 ended {release['phase']}")
    return release


def _promote(stack: Stack) -> Flip:
    flip, release = _timed(stack, "promote")
    settled = stack.wait_settled(release["url"])
    if settled["phase"] != "Live":
        raise StackError(f"{stack.driver}: promotion ended {settled['phase']}")
    return flip


def _flip(stack: Stack, action: str) -> Flip:
    return _timed(stack, action)[0]


def _timed(stack: Stack, action: str) -> tuple[Flip, dict[str, Any]]:
    asked, seconds, release = stack.flip(action)
    return Flip(action, asked, seconds), release


def deploy_seconds(release: Mapping[str, Any]) -> float:
    """Seconds from a release's creation to its AwaitingPromotion event."""
    staged = next(
        e["at"] for e in release["timeline"] if e["phase"] == "AwaitingPromotion"
    )
    created = datetime.fromisoformat(release["created_at"])
    return (datetime.fromisoformat(staged) - created).total_seconds()


def _poll(
    stacks: Mapping[str, Stack], records: Mapping[str, Record], done: threading.Event
) -> None:
    while not done.wait(POLL_SECONDS):
        for name, stack in stacks.items():
            started = time.perf_counter()
            try:
                stack.call("GET", f"/api/v1/services/{SERVICE}")
            except Exception:
                continue
            records[name].status_ms.append((time.perf_counter() - started) * 1000)
            rss = stack.rss_mb()
            if rss is not None:
                records[name].rss_mb.append(rss)
