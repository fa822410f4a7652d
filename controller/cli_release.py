"""bgctl's release commands: ship a release, then promote, roll back or abort it.

``deploy`` and ``promote`` exit 1 when the release ends Failed, Aborted or
RolledBack, and 3 when ``--wait`` runs out of time before it settles. The
commands are registered on the app in ``controller.cli``.
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
from controller.client import Client

WAIT_UNTIL = {"AwaitingPromotion", "Live", "Failed", "Aborted", "RolledBack"}
FAILED_PHASES = {"Failed", "Aborted", "RolledBack"}


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
    release = call(
        lambda: client.post(f"/api/v1/services/{service}/releases", {"image": image})
    )
    if not as_json:
        typer.echo(
            f"release {release['id']} of {release['image']} to "
            f"{release['color']}: {release['url']}"
        )
    if wait:
        release = _follow(client, release, timeout, quiet=as_json)
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
        release = _follow(client, release, timeout, quiet=as_json)
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
    client: Client, release: dict[str, Any], timeout: float, quiet: bool
) -> dict[str, Any]:
    """Poll a release until it settles, printing each new timeline line."""
    shown = 0
    path = release["url"]
    deadline = time.monotonic() + timeout
    while True:
        release = call(lambda: client.get(path))
        for event in (release.get("timeline") or [])[shown:]:
            if not quiet:
                typer.echo(f"  {event['at']} {event['phase']}: {event['reason']}")
            shown += 1
        if release["phase"] in WAIT_UNTIL:
            return release
        if time.monotonic() > deadline:
            typer.echo(
                f"error: release {release['id']} still {release['phase']} "
                f"after {timeout:g}s",
                err=True,
            )
            raise typer.Exit(EXIT_UNREACHABLE)
        time.sleep(0.5)


def _release_text(release: dict[str, Any]) -> str:
    """One line: the release, its image and colour, its phase and why."""
    return (
        f"release {release['id']} ({release['image']} on {release['color']}) "
        f"is {release['phase']}: {release['reason']}"
    )
