"""A small synchronous client of the controller's API, for the CLI."""

from __future__ import annotations

import getpass
import os
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:7070"


class ApiError(Exception):
    """The controller answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Client:
    """Calls the controller and turns its JSON errors into ApiError."""

    def __init__(self, url: str | None = None, timeout: float = 60.0) -> None:
        self.url = (url or os.environ.get("BGCTL_URL") or DEFAULT_URL).rstrip("/")
        try:
            _ = httpx.URL(self.url).port  # parsing is the check
        except (httpx.InvalidURL, ValueError) as exc:
            raise ApiError(f"controller URL {self.url!r} is not a URL: {exc}") from exc
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"X-Bgctl-Actor": _who()},
        )

    def request(self, method: str, path: str, json: Any = None) -> Any:
        """Send one request; the decoded body, or ApiError."""
        try:
            response = self._http.request(method, path, json=json)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ApiError(f"cannot reach the controller at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(_message(response), response.status_code)
        return response.json()

    def get(self, path: str) -> Any:
        """GET a path."""
        return self.request("GET", path)

    def post(self, path: str, json: Any = None) -> Any:
        """POST a path."""
        return self.request("POST", path, json)

    def put(self, path: str, json: Any) -> Any:
        """PUT a path."""
        return self.request("PUT", path, json)


def _who() -> str:
    try:
        return os.environ.get("BGCTL_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
