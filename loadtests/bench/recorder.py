"""Locust users for the benchmarks that write down every request they make.

Run by the benchmark suite, not by hand; it reads its plan from the
environment:

``BENCH_TARGETS``  JSON object, target name to base URL on this machine
``BENCH_USERS``    users (keep-alive connections) per target
``BENCH_RATE``     requests per second of each user; 0 for as fast as it can
``BENCH_PATH``     the path every request asks for (default ``/``)
``BENCH_SAMPLES``  the CSV file each request goes to (``loadtests.bench.samples``)

One user class per target, each with exactly ``BENCH_USERS`` users, so a
run loads every target at the same moment with the same pacing.
"""

from __future__ import annotations

import atexit
import json
import os
from typing import Any, TextIO
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, constant_throughput, events, task

from loadtests.bench.samples import HEADER

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TIMEOUT = 5.0  # seconds; a stuck request becomes a failure, not a hang


def _targets() -> dict[str, str]:
    raw = os.environ.get("BENCH_TARGETS", "{}")
    targets: dict[str, str] = json.loads(raw)
    for name, url in targets.items():
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            raise SystemExit(f"target {name}: {url!r} is not on this machine")
    return targets


class BenchUser(FastHttpUser):
    """One keep-alive connection to one target, paced to a fixed rate."""

    abstract = True
    target = ""
    path = os.environ.get("BENCH_PATH", "/")
    network_timeout = TIMEOUT
    connection_timeout = TIMEOUT

    @task
    def ask(self) -> None:
        # A redirect is an answer: following it could lead to another host.
        name = f"{self.target} {self.path}"
        self.client.get(self.path, name=name, allow_redirects=False)


def _user_class(name: str, url: str, users: int, rate: float) -> type[BenchUser]:
    wait = constant_throughput(rate) if rate > 0 else constant(0)
    attributes = {
        "target": name,
        "host": url.rstrip("/"),
        "fixed_count": users,
        "wait_time": wait,
        "__module__": __name__,
    }
    return type(f"{name.title()}User", (BenchUser,), attributes)


def _declare_users() -> None:
    # Locust finds user classes among the module's names: one name each.
    users = int(os.environ.get("BENCH_USERS", "1"))
    rate = float(os.environ.get("BENCH_RATE", "0"))
    for name, url in _targets().items():
        cls = _user_class(name, url, users, rate)
        globals()[cls.__name__] = cls


_declare_users()

_out: TextIO | None = None


@events.test_start.add_listener
def _open(**_: Any) -> None:
    global _out
    _out = open(os.environ["BENCH_SAMPLES"], "w")  # noqa: SIM115
    _out.write(HEADER + "\n")
    # Closed only when the process exits: requests still in flight when
    # Locust starts quitting end after its quitting event, and count too.
    atexit.register(_out.close)


@events.request.add_listener
def _record(
    name: str,
    response_time: float,
    exception: BaseException | None,
    start_time: float,
    **_: Any,
) -> None:
    if _out is None:
        return
    target = name.split(" ", 1)[0]
    ok = 0 if exception is not None else 1
    _out.write(f"{start_time:.6f},{target},{response_time:.3f},{ok}\n")


@events.quitting.add_listener
def _flush(**_: Any) -> None:
    if _out is not None:
        _out.flush()
