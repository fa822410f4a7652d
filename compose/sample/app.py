"""Sample service for bgctl: a small HTTP app whose failures can be dialled in.

It runs on the bare base image, so it uses the standard library only. Every
knob is an environment variable, read and checked once at start-up; an empty
value means the default.

    APP_VERSION            version served on / and /version (default "dev")
    PORT                   port to listen on, 0 picks a free one (default 8000)
    HOST                   address to bind (default 0.0.0.0)
    SAMPLE_STARTUP_DELAY   seconds before /healthz turns 200 (default 0)
    SAMPLE_HEALTH_FAIL     1 keeps /healthz at 503 for good (default 0)
    SAMPLE_CRASH_AFTER     seconds until the process exits with code 1, 0 never
    SAMPLE_ERROR_RATE      share of / requests answered 500, 0 to 1 (default 0)
    SAMPLE_LATENCY_MS      milliseconds added to every / request (default 0)
    SAMPLE_DRAIN_TIMEOUT   seconds a stop waits for requests in flight (30)

Routes: / (version and hostname as JSON), /healthz (readiness), /version
(the version as text) and /slow?seconds=N (answers after N seconds, at most
60). SIGTERM or SIGINT closes the listener, lets requests in flight finish
within the drain timeout and exits 0. A bad knob exits 2 before listening.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger("bgctl-sample")

SLOW_LIMIT_SECONDS = 60.0
IDLE_CONNECTION_SECONDS = 60.0


class KnobError(ValueError):
    """A knob holds a value the app does not accept."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f'{name} must be {expected}, got "{value}"')
        self.name = name
        self.value = value


@dataclass(frozen=True)
class Settings:
    """The knobs, checked once at start-up."""

    version: str = "dev"
    host: str = "0.0.0.0"
    port: int = 8000
    startup_delay: float = 0.0
    health_fail: bool = False
    crash_after: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    drain_timeout: float = 30.0


def _raw(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _number(
    environ: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = _raw(environ, name)
    if not raw:
        return default
    expected = f"a number from {low:g} to {high:g}"
    try:
        value = float(raw)
    except ValueError:
        raise KnobError(name, raw, expected) from None
    if not (math.isfinite(value) and low <= value <= high):
        raise KnobError(name, raw, expected)
    return value


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = _raw(environ, name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise KnobError(name, raw, "a whole number from 0 to 65535")
    return int(raw)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = _raw(environ, name)
    choices = {"": False, "0": False, "false": False, "1": True, "true": True}
    if raw.lower() not in choices:
        raise KnobError(name, raw, "0 or 1")
    return choices[raw.lower()]


def _host(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = _raw(environ, name)
    if not raw:
        return default
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise KnobError(name, raw, "an IP address such as 0.0.0.0") from None
    return raw


def _version(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = _raw(environ, name)
    if not raw:
        return default
    # The version goes into a response header, so it must be one printable word.
    if len(raw) > 128 or not raw.isprintable() or any(c.isspace() for c in raw):
        raise KnobError(name, raw, "one printable word of at most 128 characters")
    return raw


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read every knob from the environment; raises KnobError on a bad value."""
    defaults = Settings()
    return Settings(
        version=_version(environ, "APP_VERSION", defaults.version),
        host=_host(environ, "HOST", defaults.host),
        port=_port(environ, "PORT", defaults.port),
        startup_delay=_number(environ, "SAMPLE_STARTUP_DELAY", 0.0, 0, 3600),
        health_fail=_flag(environ, "SAMPLE_HEALTH_FAIL"),
        crash_after=_number(environ, "SAMPLE_CRASH_AFTER", 0.0, 0, 86400),
        error_rate=_number(environ, "SAMPLE_ERROR_RATE", 0.0, 0, 1),
        latency_ms=_number(environ, "SAMPLE_LATENCY_MS", 0.0, 0, 60000),
        drain_timeout=_number(environ, "SAMPLE_DRAIN_TIMEOUT", 30.0, 0, 600),
    )


class Readiness:
    """What /healthz reports: starting, ready, failing or draining."""

    def __init__(self, settings: Settings) -> None:
        self._ready_at = time.monotonic() + settings.startup_delay
        self._always_fail = settings.health_fail
        self.is_draining = False

    def state(self) -> str:
        if self.is_draining:
            return "draining"
        if self._always_fail:
            return "failing"
        if time.monotonic() < self._ready_at:
            return "starting"
        return "ready"


class InFlight:
    """Counts requests being answered so that a drain can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    @property
    def count(self) -> int:
        with self._changed:
            return self._count

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight; False if the timeout came first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


class SampleServer(ThreadingHTTPServer):
    """One thread per connection, with the knobs and state the handler needs."""

    daemon_threads = True
    # socketserver's backlog of 5 drops SYNs when a proxy opens connections
    # in a burst (a reload's new workers), and each drop costs a 1 s retry.
    request_queue_size = 128

    def __init__(self, settings: Settings) -> None:
        if ":" in settings.host:
            self.address_family = socket.AF_INET6
        super().__init__((settings.host, settings.port), SampleHandler)
        self.settings = settings
        self.readiness = Readiness(settings)
        self.in_flight = InFlight()
        self.hostname = socket.gethostname()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-answer are routine under chaos tests; one
        # line is enough, not the traceback socketserver prints by default.
        error = sys.exc_info()[1]
        logger.warning("request from %s failed: %r", client_address[0], error)


class SampleHandler(BaseHTTPRequestHandler):
    """Answers the four routes; keep-alive until the server drains."""

    protocol_version = "HTTP/1.1"
    server_version = "bgctl-sample"
    # Headers and body leave in two writes; with Nagle on, the body would
    # wait for the client's delayed ACK of the headers (40 ms on Linux).
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS
    server: SampleServer

    def do_GET(self) -> None:
        self._dispatch(with_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(with_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _dispatch(self, with_body: bool) -> None:
        self._with_body = with_body
        url = urlsplit(self.path)
        route = ROUTES.get(url.path)
        with self.server.in_flight:
            if route is None:
                self._reply(404, {"error": f'no route for "{url.path}"'})
            else:
                route(self, parse_qs(url.query))

    def answer_root(self, query: dict[str, list[str]]) -> None:
        settings = self.server.settings
        if settings.latency_ms:
            time.sleep(settings.latency_ms / 1000)
        # random() is below 1 always and below 0 never, so 0 and 1 are exact.
        if random.random() < settings.error_rate:
            self._reply(500, self._identity(error="injected by SAMPLE_ERROR_RATE"))
        else:
            self._reply(200, self._identity())

    def answer_healthz(self, query: dict[str, list[str]]) -> None:
        state = self.server.readiness.state()
        self._reply(200 if state == "ready" else 503, {"status": state})

    def answer_version(self, query: dict[str, list[str]]) -> None:
        self._reply(200, self.server.settings.version + "\n")

    def answer_slow(self, query: dict[str, list[str]]) -> None:
        raw = query.get("seconds", ["1"])[-1]
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            error = f'seconds must be a number of at least 0, got "{raw}"'
            self._reply(400, {"error": error})
            return
        seconds = min(seconds, SLOW_LIMIT_SECONDS)
        time.sleep(seconds)
        self._reply(200, self._identity(slept=seconds))

    def _identity(self, **extra: object) -> dict[str, object]:
        version = self.server.settings.version
        return {"version": version, "hostname": self.server.hostname, **extra}

    def _reply(self, status: int, body: str | dict[str, object]) -> None:
        if isinstance(body, str):
            content_type, text = "text/plain; charset=utf-8", body
        else:
            content_type, text = "application/json", json.dumps(body) + "\n"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Version", self.server.settings.version)
        if self.server.readiness.is_draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self._with_body:
            self.wfile.write(data)


Route = Callable[[SampleHandler, dict[str, list[str]]], None]

ROUTES: dict[str, Route] = {
    "/": SampleHandler.answer_root,
    "/healthz": SampleHandler.answer_healthz,
    "/version": SampleHandler.answer_version,
    "/slow": SampleHandler.answer_slow,
}


def _crash(after: float) -> None:
    logger.error(
        "crashing on purpose: SAMPLE_CRASH_AFTER=%g seconds have passed, "
        "exiting with code 1",
        after,
    )
    sys.stdout.flush()
    os._exit(1)


def _start_timer(delay: float, action: Callable[..., None], *args: Any) -> None:
    timer = threading.Timer(delay, action, args)
    timer.daemon = True
    timer.start()


def _arm_knobs(settings: Settings) -> None:
    if settings.health_fail:
        logger.warning("readiness will never pass: SAMPLE_HEALTH_FAIL=1")
    elif settings.startup_delay:
        logger.info(
            "ready in %g seconds (SAMPLE_STARTUP_DELAY)", settings.startup_delay
        )
        _start_timer(settings.startup_delay, logger.info, "ready")
    else:
        logger.info("ready")
    if settings.crash_after:
        logger.warning(
            "will crash in %g seconds (SAMPLE_CRASH_AFTER)", settings.crash_after
        )
        _start_timer(settings.crash_after, _crash, settings.crash_after)


def _stop_on_signals(server: SampleServer) -> None:
    def on_signal(signum: int, frame: FrameType | None) -> None:
        if server.readiness.is_draining:
            return
        server.readiness.is_draining = True
        logger.info("received %s, draining", signal.Signals(signum).name)
        # shutdown() waits for serve_forever() to return, and that runs on
        # this very thread, so it has to be asked from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _drain(server: SampleServer) -> int:
    server.server_close()
    timeout = server.settings.drain_timeout
    logger.info(
        "listener closed; waiting up to %g seconds for %d request(s) in flight",
        timeout,
        server.in_flight.count,
    )
    if server.in_flight.wait_idle(timeout):
        logger.info("drained, exiting with code 0")
    else:
        logger.warning(
            "drain timeout reached with %d request(s) still in flight, "
            "exiting with code 0",
            server.in_flight.count,
        )
    return 0


def serve(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT, then drain; returns the exit code."""
    server = SampleServer(settings)
    host, port = server.server_address[:2]
    logger.info("version %s listening on %s:%s", settings.version, host, port)
    _arm_knobs(settings)
    _stop_on_signals(server)
    server.serve_forever()
    return _drain(server)


def main() -> int:
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(os.environ)
    except KnobError as exc:
        print(f"bgctl-sample: {exc}", file=sys.stderr, flush=True)
        return 2
    logger.info("starting with %s", settings)
    try:
        return serve(settings)
    except OSError as exc:
        address = f"{settings.host}:{settings.port}"
        logger.error("cannot listen on %s: %s", address, exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
