"""bgctl's release commands: ship a release, then promote, roll back or abort it.

``deploy`` and ``promote`` exit 1 when the release ends Failed, Aborted or
RolledBack, and 3 when ``--wait`` runs out of time before it settles.
Waiting follows the controller's event stream, opened before the request
so that no phase is missed, and polls the release instead when the stream
cannot be opened or breaks. The commands are registered on the app in
``controller.cli``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from controller.cli_common import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    AsJson,
    BearerToken,
    Url,
    call,
    client_for,
    show,
)
from controller.cli_events import (
    EventStream,
    Progress,
    StreamEnded,
    event_text,
    open_or_none,
)
from controller.client import Client

WAIT_UNTIL = {"AwaitingPromotion", "Live", "Failed", "Aborted", "RolledBack"}
FAILED_PHASES = {"Failed", "Aborted", "RolledBack"}
TICK = 0.25  # seconds between redraws of the progress line
POLL = 0.5  # seconds between looks at the release when polling


def deploy(
    service: str,
    image: str,
    wait: Annotated[bool, typer.Option(help="follow the release to its end")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 600.0,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Ship IMAGE (a tag or a full reference) to the idle colour of SERVICE."""
    client = client_for(url, token)
    stream = open_or_none(client, service) if wait else None
    try:
        release = call(
            lambda: client.post(
                f"/api/v1/services/{service}/releases", {"image": image}
            )
        )
        if not as_json:
            typer.echo(
                f"release {release['id']} of {release['image']} to "
                f"{release['color']}: {release['url']}"
            )
        if wait:
            release = _follow(client, release, timeout, as_json, stream)
    finally:
        if stream is not None:
            stream.close()
    show(release, as_json, _release_text)
    if release["phase"] in FAILED_PHASES:
        raise typer.Exit(EXIT_FAILED)


def promote(
    service: str,
    wait: Annotated[
        bool, typer.Option(help="follow the post-promotion watch to its end")
    ] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 600.0,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Flip live traffic to the release awaiting promotion.

    Exits 0 once the release is live (or, with --no-wait, watched), 1 when
    the flip failed or the watch after it flipped back.
    """
    client = client_for(url, token)
    release = call(lambda: client.post(f"/api/v1/services/{service}/promote"))
    if wait and release["phase"] == "PostVerifying":
        release = _follow(client, release, timeout, as_json)
    show(release, as_json, _release_text)
    if release["phase"] in FAILED_PHASES:
        raise typer.Exit(EXIT_FAILED)


def rollback(
    service: str,
    to: Annotated[str | None, typer.Option(help="the standby colour")] = None,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Flip live traffic back to the standby colour."""
    client = client_for(url, token)
    body = {"color": to} if to else None
    release = call(lambda: client.post(f"/api/v1/services/{service}/rollback", body))
    show(release, as_json, _release_text)


def abort(
    service: str, url: Url = None, token: BearerToken = None, as_json: AsJson = False
) -> None:
    """Stop the release in flight and remove its replicas."""
    client = client_for(url, token)
    release = call(lambda: client.post(f"/api/v1/services/{service}/abort"))
    show(release, as_json, _release_text)


def _follow(
    client: Client,
    release: dict[str, Any],
    timeout: float,
    quiet: bool,
    stream: EventStream | None = None,
) -> dict[str, Any]:
    """Follow a release until it settles, printing each new timeline line."""
    deadline = time.monotonic() + timeout
    shown = 0
    if stream is not None:
        try:
            shown = _watch(stream, release, deadline, timeout, quiet)
        except StreamEnded as exc:
            typer.echo(f"note: {exc}; polling the release instead", err=True)
    return _poll(client, release, deadline, timeout, quiet, shown)


def _watch(
    stream: EventStream,
    release: dict[str, Any],
    deadline: float,
    timeout: float,
    quiet: bool,
) -> int:
    """Print the release's events until it settles; how many lines it printed.

    StreamEnded when the stream ends first, after the lines it did print.
    """
    progress = Progress(enabled=False) if quiet else Progress()
    phase, shown = release["phase"], 0
    try:
        while phase not in WAIT_UNTIL:
            if time.monotonic() > deadline:
                _timed_out(release["id"], phase, timeout)
            progress.update(release["id"], phase)
            event = stream.next(min(TICK, deadline - time.monotonic()))
            if event is None or event.get("release") != release["id"]:
                continue
            if not quiet:
                progress.print(event_text(event))
            shown += 1
            phase = event.get("phase", phase)
    finally:
        progress.clear()
    return shown


def _poll(
    client: Client,
    release: dict[str, Any],
    deadline: float,
    timeout: float,
    quiet: bool,
    shown: int = 0,
) -> dict[str, Any]:
    """Poll a release until it settles, printing timeline lines after ``shown``."""
    path = release["url"]
    while True:
        release = call(lambda: client.get(path))
        for event in (release.get("timeline") or [])[shown:]:
            if not quiet:
                typer.echo(f"  {event['at']} {event['phase']}: {event['reason']}")
            shown += 1
        if release["phase"] in WAIT_UNTIL:
            return release
        if time.monotonic() > deadline:
            _timed_out(release["id"], release["phase"], timeout)
        time.sleep(POLL)


def _timed_out(release_id: str, phase: str, timeout: float) -> None:
    """Say the release did not settle in time and exit 3."""
    typer.echo(
        f"error: release {release_id} still {phase} after {timeout:g}s", err=True
    )
    raise typer.Exit(EXIT_UNREACHABLE)


def _release_text(release: dict[str, Any]) -> str:
    """One line: the release, its image and colour, its phase and why."""
    return (
        f"release {release['id']} ({release['image']} on {release['color']}) "
        f"is {release['phase']}: {release['reason']}"
    )
