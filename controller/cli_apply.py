"""bgctl apply: make the controller's services match spec files.

PATH is one spec file or a folder of them (``*.yaml``, ``*.yml``, ``*.json``,
not recursive, in name order). Every file is validated before the first
request. Then each service is compared with the spec the controller holds
and sent only when it differs, so applying the same folder twice changes
nothing. Exit codes as elsewhere: 0 done, 2 a bad file or a refused
request, 3 the controller could not be reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from controller.cli_common import (
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    AsJson,
    BearerToken,
    Url,
    client_for,
    show,
)
from controller.client import ApiError, Client
from controller.specfiles import SpecFile, SpecFileError, differences, read_specs

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

SpecPath = Annotated[
    Path, typer.Argument(help="a spec file, or a folder of them", show_default=False)
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="report what would change; change nothing")
]


def apply(
    path: SpecPath,
    dry_run: DryRun = False,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Register or update services from a spec file or a folder of specs."""
    try:
        files = read_specs(path)
    except SpecFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from exc
    client = client_for(url, token)
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            results.append(_apply_one(client, file, dry_run))
        except ApiError as exc:
            if results:  # what was done before it
                show(results, as_json, _results_text)
            typer.echo(f"error: {file.path}: {exc}", err=True)
            code = EXIT_UNREACHABLE if exc.status is None else EXIT_REFUSED
            raise typer.Exit(code) from exc
    show(results, as_json, _results_text)


def _apply_one(client: Client, file: SpecFile, dry_run: bool) -> dict[str, Any]:
    """Compare one spec with the controller's and send it if it differs."""
    held = _held_spec(client, file.name)
    changes = [] if held is None else differences(held, file.wanted())
    outcome = CREATED if held is None else UPDATED if changes else UNCHANGED
    is_sent = outcome != UNCHANGED and not dry_run
    if is_sent:
        client.put(f"/api/v1/services/{file.name}", file.body)
    return {
        "service": file.name,
        "file": str(file.path),
        "outcome": outcome,
        "changes": changes,
        "applied": is_sent,
    }


def _held_spec(client: Client, name: str) -> dict[str, Any] | None:
    """The spec the controller holds for a service, None if it has none."""
    try:
        status = client.get(f"/api/v1/services/{name}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    held: dict[str, Any] = status["spec"]
    return held


def _results_text(results: list[dict[str, Any]]) -> str:
    """One line per service, its changed fields below it."""
    lines = []
    for result in results:
        lines.append(
            f"{result['service']:<20} {result['outcome']:<10} {result['file']}"
        )
        lines.extend(f"    {change}" for change in result["changes"])
    if any(r["outcome"] != UNCHANGED and not r["applied"] for r in results):
        lines.append("dry run: nothing was applied")
    return "\n".join(lines)
