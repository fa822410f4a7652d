"""``bgctl loadtest``: Locust against a service's frontends, from the CLI.

Exit codes: 0 the load ran (whatever it measured, unless a failure share is
set), 1 a target's failure share was above ``--max-failure-share``, 2 bad
input or the controller refused, 3 the controller or Locust could not be
reached or run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from controller.cli_common import (
    EXIT_FAILED,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    BearerToken,
    Url,
    call,
    client_for,
)
from controller.errors import InvalidInput
from controller.loadtest import TARGETS, LoadPlan, run_locust
from controller.loadtest_results import LoadTestError, TargetStats

RESULTS_ROOT = Path("loadtests") / "results"
# Shorthands a person may give --target beside the four frontends.
TARGET_CHOICES = {**{name: (name,) for name in TARGETS}, "both": ("blue", "green")}


def loadtest(
    service: str,
    target: Annotated[
        str, typer.Option(help="live, preview, blue, green, or both colours")
    ] = "live",
    users: Annotated[int, typer.Option(help="concurrent users per target")] = 2,
    rate: Annotated[float, typer.Option(help="requests per second per target")] = 5.0,
    duration: Annotated[str, typer.Option(help="how long, 1s to 1h")] = "10s",
    path: Annotated[str, typer.Option(help="path every request asks for")] = "/",
    out: Annotated[
        Path | None,
        typer.Option(
            help="a new folder for the results "
            "(default: loadtests/results/SERVICE-TARGET-TIME)",
            show_default=False,
        ),
    ] = None,
    max_failure_share: Annotated[
        float | None,
        typer.Option(help="exit 1 if a target fails more than this share, 0-1"),
    ] = None,
    url: Url = None,
    token: BearerToken = None,
) -> None:
    """Load a service's frontends with Locust and summarise each target."""
    plan = _plan(users, rate, duration, path)
    chosen = _targets(target)
    _check_share(max_failure_share)
    _check_out(out)
    client = client_for(url, token)
    status = call(lambda: client.get(f"/api/v1/services/{service}"))
    endpoints = {name: status["endpoints"][name] for name in chosen}
    _refuse_empty(status, chosen)
    folder = _made(out or _default_folder(status["name"], target))
    try:
        stats = run_locust(endpoints, plan, folder)
    except InvalidInput as exc:
        _refuse(str(exc))
    except LoadTestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from exc
    typer.echo(f"results in {folder}")
    typer.echo(summary(stats.values()))
    _judge(stats.values(), max_failure_share)


def summary(stats: Iterable[TargetStats]) -> str:
    """A table of requests, failures and percentiles, one line per target."""
    rows = [
        f"{'TARGET':<8} {'REQUESTS':>9} {'FAILURES':>9} {'FAILED':>7} "
        f"{'P50':>9} {'P95':>9} {'P99':>9}"
    ]
    for s in stats:
        rows.append(
            f"{s.target:<8} {s.requests:>9} {s.failures:>9} "
            f"{s.failure_share:>7.1%} {_millis(s.p50):>9} {_millis(s.p95):>9} "
            f"{_millis(s.p99):>9}"
        )
    return "\n".join(rows)


def _judge(stats: Iterable[TargetStats], max_share: float | None) -> None:
    """Exit 1 when a target failed too often or, with a limit, never answered."""
    failed = False
    for s in stats:
        if s.requests == 0:
            typer.echo(f"error: {s.target} answered no request at all", err=True)
            failed = failed or max_share is not None
        elif max_share is not None and s.failure_share > max_share:
            typer.echo(
                f"error: {s.target} failed {s.failure_share:.1%} of its requests, "
                f"more than --max-failure-share {max_share:g}",
                err=True,
            )
            failed = True
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _millis(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _plan(users: int, rate: float, duration: str, path: str) -> LoadPlan:
    try:
        return LoadPlan.parse(users, rate, duration, path)
    except InvalidInput as exc:
        _refuse(f"--{exc}")


def _targets(target: str) -> tuple[str, ...]:
    if target not in TARGET_CHOICES:
        _refuse(f"--target: must be one of {', '.join(TARGET_CHOICES)}, got {target!r}")
    return TARGET_CHOICES[target]


def _refuse_empty(status: dict[str, Any], frontends: Iterable[str]) -> None:
    """Refuse to load a frontend that has no replica behind it."""
    colors = {c["color"]: c for c in status["colors"]}
    aims = {
        "live": status.get("live_color"),
        "preview": status.get("preview_color"),
        "blue": "blue",
        "green": "green",
    }
    for frontend in frontends:
        color = aims[frontend]
        if color is None or not colors.get(color, {}).get("replicas"):
            behind = f"colour {color}, which has no replicas" if color else "no colour"
            _refuse(
                f"--target: {frontend} of {status['name']!r} leads to {behind}; "
                "nothing there to load"
            )


def _check_share(share: float | None) -> None:
    if share is not None and not 0 <= share <= 1:
        _refuse(f"--max-failure-share: must be 0 to 1, got {share!r}")


def _check_out(out: Path | None) -> None:
    # Old results in the folder would be read as this run's.
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        _refuse(f"--out: must be a new or empty folder, got {str(out)!r}")


def _default_folder(service: str, target: str) -> Path:
    # Runs started in the same second must not share (and mix) a folder.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return RESULTS_ROOT / f"{service}-{target}-{stamp}-{os.getpid()}"


def _made(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _refuse(f"--out: cannot make the folder {str(folder)!r}: {exc.strerror}")
    return folder


def _refuse(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_REFUSED)
