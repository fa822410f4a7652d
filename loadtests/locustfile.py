"""Locust users for a bgctl service: live, preview, blue and green.

Each user class aims at one frontend the controller reports for the service,
and names its requests after that frontend (``blue /``), so a single run
keeps blue's and green's figures apart. Pick frontends with tags; only the
users of the chosen frontends are started::

    locust -f loadtests/locustfile.py --bgctl-service web --tags blue green

Settings, each a flag or an environment variable:

``--bgctl-service`` / ``BGCTL_SERVICE``
    the service whose frontends to load (default ``web``)
``--bgctl-path`` / ``BGCTL_LOAD_PATH``
    the path every request asks for (default ``/``)
``--bgctl-user-rate`` / ``BGCTL_USER_RATE``
    requests per second of each user, paced with ``constant_throughput``;
    0 (the default) waits 50-200 ms between requests instead

The endpoints come from the controller at ``BGCTL_URL`` (default
``http://127.0.0.1:7070``), asked with the token in ``BGCTL_TOKEN`` or else
the admin token in ``$BGCTL_STATE_DIR/admin.token``; a viewer token is
enough. ``BGCTL_<FRONTEND>_URL`` overrides one of them. Only addresses on
this machine are accepted. For a step ramp, run ``loadtests/steps.py``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from locust import FastHttpUser, between, constant_throughput, events, tag, task
from locust.env import Environment

FRONTENDS = ("live", "preview", "blue", "green")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@events.init_command_line_parser.add_listener
def _add_settings(parser: Any) -> None:
    parser.add_argument(
        "--bgctl-service",
        env_var="BGCTL_SERVICE",
        default="web",
        help="bgctl service whose frontends to load",
    )
    parser.add_argument(
        "--bgctl-path",
        env_var="BGCTL_LOAD_PATH",
        default="/",
        help="path every request asks for",
    )
    parser.add_argument(
        "--bgctl-user-rate",
        env_var="BGCTL_USER_RATE",
        type=float,
        default=0.0,
        help="requests per second of each user (0: 50-200 ms pauses)",
    )


@events.init.add_listener
def _aim_users(environment: Environment, **_: Any) -> None:
    """Keep the chosen frontends' users and point each at its frontend."""
    options = environment.parsed_options
    if options is None:  # a test building its own Environment sets hosts itself
        return
    chosen = [
        user
        for user in environment.user_classes
        if issubclass(user, FrontendUser) and _is_chosen(user.frontend, options)
    ]
    if not chosen:
        raise SystemExit(
            f"no frontend chosen: tags {options.tags!r} and exclude tags "
            f"{options.exclude_tags!r} leave none of {', '.join(FRONTENDS)}"
        )
    path, rate = _checked_path(options.bgctl_path), options.bgctl_user_rate
    if rate < 0:
        raise SystemExit(f"--bgctl-user-rate must be 0 or more, got {rate!r}")
    # Users whose every task was filtered out by tags would fail at start.
    environment.user_classes[:] = chosen
    for user in chosen:
        user.host = endpoint(user.frontend, options.bgctl_service)
        user.path = path
        if rate > 0:
            user.wait_time = constant_throughput(rate)


def _is_chosen(frontend: str, options: Any) -> bool:
    included = set(options.tags or FRONTENDS)
    excluded = set(options.exclude_tags or ())
    return frontend in included and frontend not in excluded


def _checked_path(path: str) -> str:
    if not path.startswith("/"):
        raise SystemExit(f'--bgctl-path must start with "/", got {path!r}')
    return path


def endpoint(frontend: str, service: str) -> str:
    """The URL of one frontend: its override, or what the controller reports."""
    override = os.environ.get(f"BGCTL_{frontend.upper()}_URL")
    url = override or reported(service).get(frontend)
    if url is None:
        raise SystemExit(f"service {service!r} reports no {frontend} endpoint")
    if urlsplit(url).hostname not in LOCAL_HOSTS:
        raise SystemExit(f"{frontend} URL must point at this machine, got {url!r}")
    return url.rstrip("/")


@cache
def reported(service: str) -> dict[str, str]:
    """The service's frontend URLs, read once from the controller."""
    controller = os.environ.get("BGCTL_URL", "http://127.0.0.1:7070")
    try:
        status = httpx.get(
            f"{controller}/api/v1/services/{service}",
            headers=_authorization(),
            timeout=10,
        )
        status.raise_for_status()
    except httpx.HTTPError as exc:
        raise SystemExit(
            f"cannot read service {service!r} from {controller}: {exc}"
        ) from exc
    found: dict[str, str] = status.json()["endpoints"]
    return found


def _authorization() -> dict[str, str]:
    """The controller's bearer token, as the bgctl CLI finds it."""
    token = os.environ.get("BGCTL_TOKEN", "").strip()
    if not token:
        state_dir = Path(os.environ.get("BGCTL_STATE_DIR") or ".bgctl")
        try:
            token = (state_dir / "admin.token").read_text().strip()
        except OSError:
            return {}
    return {"Authorization": f"Bearer {token}"}


class FrontendUser(FastHttpUser):
    """A user of one frontend; requests are named ``<frontend> <path>``."""

    abstract = True
    frontend = "live"
    path = "/"
    wait_time = between(0.05, 0.2)

    def hit(self) -> None:
        """Ask the frontend for the configured path; a redirect is an answer.

        Following one could lead the load to another host.
        """
        name = f"{self.frontend} {self.path}"
        self.client.get(self.path, name=name, allow_redirects=False)


class LiveUser(FrontendUser):
    """Traffic on the live frontend, as real users see it."""

    frontend = "live"

    @tag("live")
    @task
    def ask(self) -> None:
        """One request to live."""
        self.hit()


class PreviewUser(FrontendUser):
    """Traffic on the preview frontend: the idle colour under test."""

    frontend = "preview"

    @tag("preview")
    @task
    def ask(self) -> None:
        """One request to preview."""
        self.hit()


class BlueUser(FrontendUser):
    """Traffic straight at blue, whatever is live."""

    frontend = "blue"

    @tag("blue")
    @task
    def ask(self) -> None:
        """One request to blue."""
        self.hit()


class GreenUser(FrontendUser):
    """Traffic straight at green, whatever is live."""

    frontend = "green"

    @tag("green")
    @task
    def ask(self) -> None:
        """One request to green."""
        self.hit()
