"""What every bgctl command shares: options, the client, errors and output.

Exit codes, so a pipeline can branch on them: 0 success, 1 the release or
run failed or was aborted, 2 the controller refused the request (including
a missing, unknown or too weak token: 401, 403), 3 the controller could not
be reached or waiting timed out.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from controller.client import ApiError, Client

EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE = 1, 2, 3

Url = Annotated[
    str | None, typer.Option("--url", envvar="BGCTL_URL", help="controller URL")
]
BearerToken = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="BGCTL_TOKEN",
        show_default=False,
        help="bearer token [default: $BGCTL_STATE_DIR/admin.token if readable]",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="print the raw JSON")]


def client_for(url: str | None, token: str | None) -> Client:
    """A client of the controller at ``url``; exit 2 if the URL is no URL."""
    try:
        return Client(url, token)
    except ApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from exc


def call(action: Callable[[], Any]) -> Any:
    """Run an API call; print its error and exit with the matching code."""
    try:
        return action()
    except ApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        code = EXIT_UNREACHABLE if exc.status is None else EXIT_REFUSED
        raise typer.Exit(code) from exc


def show(value: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print an API answer as JSON, or as the text ``text`` makes of it."""
    if as_json:
        json.dump(value, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        typer.echo(text(value))
