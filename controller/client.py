"""A small synchronous client of the controller's API, for the CLI.

It sends a bearer token: the one it is given (``--token`` or
``BGCTL_TOKEN``), or else the admin token a controller without configured
tokens wrote to ``$BGCTL_STATE_DIR/admin.token`` (state directory
``.bgctl`` by default), when this user can read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:7070"
DEFAULT_STATE_DIR = ".bgctl"
ADMIN_TOKEN_FILE = "admin.token"
STREAM_READ_TIMEOUT = 45.0  # seconds; the controller sends a heartbeat every 15


class ApiError(Exception):
    """The controller answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Client:
    """Calls the controller and turns its JSON errors into ApiError."""

    def __init__(
        self, url: str | None = None, token: str | None = None, timeout: float = 60.0
    ) -> None:
        self.url = (url or os.environ.get("BGCTL_URL") or DEFAULT_URL).rstrip("/")
        try:
            _ = httpx.URL(self.url).port  # parsing is the check
        except (httpx.InvalidURL, ValueError) as exc:
            raise ApiError(f"controller URL {self.url!r} is not a URL: {exc}") from exc
        secret = token or find_token()
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def request(self, method: str, path: str, json: Any = None) -> Any:
        """Send one request; the decoded body, or ApiError."""
        try:
            response = self._http.request(method, path, json=json)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ApiError(f"cannot reach the controller at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(_message(response), response.status_code)
        return response.json() if response.content else None

    def stream(self, path: str, params: Mapping[str, str]) -> httpx.Response:
        """Open a streamed GET; the caller reads the response and closes it.

        Reads wait at most ``STREAM_READ_TIMEOUT`` seconds for a line, which
        a stream's heartbeats stay well within.
        """
        timeout = httpx.Timeout(self._http.timeout.connect, read=STREAM_READ_TIMEOUT)
        request = self._http.build_request("GET", path, params=params, timeout=timeout)
        try:
            response = self._http.send(request, stream=True)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ApiError(f"cannot reach the controller at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            response.read()
            response.close()
            raise ApiError(_message(response), response.status_code)
        return response

    def get(self, path: str) -> Any:
        """GET a path."""
        return self.request("GET", path)

    def post(self, path: str, json: Any = None) -> Any:
        """POST a path."""
        return self.request("POST", path, json)

    def put(self, path: str, json: Any) -> Any:
        """PUT a path."""
        return self.request("PUT", path, json)

    def delete(self, path: str) -> Any:
        """DELETE a path; None when the answer has no body."""
        return self.request("DELETE", path)


def find_token(environ: Mapping[str, str] | None = None) -> str | None:
    """``BGCTL_TOKEN``, or else the state directory's admin token if readable."""
    env = os.environ if environ is None else environ
    given = env.get("BGCTL_TOKEN", "").strip()
    if given:
        return given
    path = Path(env.get("BGCTL_STATE_DIR") or DEFAULT_STATE_DIR) / ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
