"""bgctl: serve the controller, ship releases and steer them.

Exit codes, so a pipeline can branch on them: 0 success, 1 the release (or
chaos run) failed or was aborted, 2 the controller refused the request
(including a missing, unknown or too weak token: 401, 403), 3 the
controller could not be reached or waiting timed out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer

from controller.cli_apply import apply
from controller.cli_chaos import chaos_app
from controller.cli_common import (
    EXIT_REFUSED,
    AsJson,
    BearerToken,
    Url,
    call,
    client_for,
    show,
)
from controller.cli_loadtest import loadtest
from controller.cli_release import abort, deploy, promote, rollback
from controller.cli_watch import watch_status
from controller.logs import LogFormat, configure_logging

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(chaos_app, name="chaos")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="API address")] = None,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="state directory")] = None,
    log_level: Annotated[str, typer.Option(help="log level")] = "info",
    log_format: Annotated[
        LogFormat,
        typer.Option(envvar="BGCTL_LOG_FORMAT", help="log lines as text or JSON"),
    ] = LogFormat.TEXT,
) -> None:
    """Run the controller and the proxy it supervises."""
    import os

    from controller.api import create_app
    from controller.server import STARTUP_FAILURE, run
    from controller.settings import Settings, SettingsError

    if host:
        os.environ["BGCTL_API_HOST"] = host
    if port:
        os.environ["BGCTL_API_PORT"] = str(port)
    if state_dir:
        os.environ["BGCTL_STATE_DIR"] = str(state_dir)
    configure_logging(log_level, log_format)
    try:
        settings = Settings.from_env()
        controller = create_app(settings)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from exc
    if not run(controller, settings.api_host, settings.api_port, log_level):
        raise typer.Exit(STARTUP_FAILURE)


# apply and the release commands live in their own modules; registered here
# so that help lists them in the order a release goes through them.
app.command()(apply)
app.command()(deploy)
app.command()(promote)
app.command()(rollback)
app.command()(abort)
app.command()(loadtest)


@app.command()
def status(
    service: Annotated[str | None, typer.Argument()] = None,
    watch: Annotated[
        bool, typer.Option(help="then print SERVICE's events until Ctrl-C")
    ] = False,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Show one service in full, or every service with its live colour."""
    client = client_for(url, token)
    if service is None:
        services = call(lambda: client.get("/api/v1/services"))
        show(services, as_json, _services_text)
        return
    if watch:
        watch_status(client, service, as_json, _status_text)
        return
    found = call(lambda: client.get(f"/api/v1/services/{service}"))
    show(found, as_json, _status_text)


@app.command()
def history(
    service: str,
    limit: Annotated[int, typer.Option(help="how many releases")] = 20,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """List a service's releases, newest first."""
    client = client_for(url, token)
    found = call(
        lambda: client.get(f"/api/v1/services/{service}/releases?limit={limit}")
    )
    show(found, as_json, _history_text)


@app.command()
def inventory(
    url: Url = None, token: BearerToken = None, as_json: AsJson = False
) -> None:
    """List every running container of the controller and the image it runs."""
    client = client_for(url, token)
    found = call(lambda: client.get("/api/v1/inventory"))
    show(found, as_json, _inventory_text)


@app.command()
def audit(
    service: Annotated[str | None, typer.Option(help="only this service")] = None,
    actor: Annotated[str | None, typer.Option(help="only this token name")] = None,
    limit: Annotated[int, typer.Option(help="how many entries")] = 50,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """List who changed what, newest first, including refused requests."""
    client = client_for(url, token)
    query = {"service": service, "actor": actor, "limit": limit}
    path = "/api/v1/audit?" + urlencode({k: v for k, v in query.items() if v})
    found = call(lambda: client.get(path))
    show(found, as_json, _audit_text)


@app.command()
def down(
    state_dir: Annotated[
        Path, typer.Option(envvar="BGCTL_STATE_DIR", help="state directory")
    ] = Path(".bgctl"),
) -> None:
    """Stop the proxy a stopped controller left serving and remove its replicas.

    Run it after the controller itself has stopped; the store is kept, so a
    later ``bgctl serve`` knows the services' history.
    """
    from controller.runtime.base import LABEL_CONTROLLER
    from controller.runtime.docker import DockerRuntime
    from controller.store import Store
    from proxy.haproxy import HAProxyDriver
    from proxy.nginx import NginxDriver

    database = state_dir / "bgctl.db"
    if not database.exists():
        typer.echo(f"error: no controller state in {state_dir}", err=True)
        raise typer.Exit(EXIT_REFUSED)
    store = Store(database)
    scope = {LABEL_CONTROLLER: store.controller_id()}
    store.close()
    runtime = DockerRuntime(scope=scope)
    mine = runtime.list_replicas()
    for replica in mine:
        runtime.stop_replica(replica.container_id, 10.0)
    if (state_dir / "haproxy").exists():
        HAProxyDriver(state_dir).stop()
    if (state_dir / "nginx").exists():
        NginxDriver(state_dir).stop()
    typer.echo(f"proxy stopped; {len(mine)} replicas removed")


@app.command()
def schema() -> None:
    """Print the JSON schema of a service spec."""
    from controller.spec import ServiceSpec

    typer.echo(json.dumps(ServiceSpec.model_json_schema(), indent=2))


def _services_text(services: list[dict[str, Any]]) -> str:
    if not services:
        return "no services registered"
    return "\n".join(
        f"{s['name']:<20} live={s['live_color'] or '-':<6} "
        f"{s['live_image'] or '-':<30} {s['endpoints']['live']}"
        for s in services
    )


def _status_text(status: dict[str, Any]) -> str:
    lines = [
        f"service {status['name']}: live={status['live_color'] or '-'} "
        f"preview={status['preview_color'] or '-'}",
    ]
    for endpoint, address in status["endpoints"].items():
        lines.append(f"  {endpoint:<8} {address}")
    for color in status["colors"]:
        lines.append(
            f"  {color['color']:<6} {color['role']:<8} "
            f"{color['image'] or '-'} ({color['phase'] or 'empty'})"
        )
        for replica in color["replicas"]:
            health = "healthy" if replica["healthy"] else "unhealthy"
            lines.append(f"    {replica['name']} {replica['state']} {health}")
    flying = status.get("release_in_flight")
    if flying:
        lines.append(f"  in flight: {flying['id']} {flying['phase']}")
    return "\n".join(lines)


def _history_text(releases: list[dict[str, Any]]) -> str:
    if not releases:
        return "no releases"
    return "\n".join(
        f"#{r['number']:<4} {r['id']} {r['image']:<28} {r['color']:<6} "
        f"{r['phase']:<18} {r['created_at']} {r['reason'].splitlines()[0][:60]}"
        for r in releases
    )


def _inventory_text(artifacts: list[dict[str, Any]]) -> str:
    if not artifacts:
        return "no running artifacts"
    lines = [
        f"{'SERVICE':<16} {'COLOUR':<6} {'ROLE':<8} {'RELEASE':<8} "
        f"{'IMAGE':<24} {'IMAGE ID':<12} {'DIGEST':<12} {'CONTAINER':<40} "
        f"{'STARTED':<19} HEALTH"
    ]
    for a in artifacts:
        digest = (a["repo_digest"] or "-").rsplit(":", 1)[-1][:12]
        health = "healthy" if a["healthy"] else "unhealthy"
        lines.append(
            f"{a['service']:<16} {a['color']:<6} {a['role']:<8} {a['release']:<8} "
            f"{a['image'] or '-':<24} {_short_id(a['image_id']):<12} {digest:<12} "
            f"{a['container_name']:<40} {(a['started_at'] or '-')[:19]:<19} "
            f"{health}{'' if a['pinned'] else ', image differs from release'}"
        )
    return "\n".join(lines)


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _audit_text(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "no audit entries"
    return "\n".join(
        f"{e['at']} {e['actor']:<16} {e['method']:<6} {e['status']} "
        f"{e['outcome']:<12} {e['path']}"
        + (f" (release {e['release']})" if e["release"] else "")
        for e in entries
    )
