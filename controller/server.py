"""The API under uvicorn, with its event streams ended first on the way down.

uvicorn waits for every response in progress before it runs the app's
shutdown, and an event stream never ends by itself; so the server ends the
streams as soon as it starts shutting down, and a stop with clients
following events is as quick as one without.
"""

from __future__ import annotations

import socket
from contextlib import suppress

import uvicorn
from fastapi import FastAPI

from controller.events import EventHub

STARTUP_FAILURE = 3  # the exit status of a server that could not start


class ControllerServer(uvicorn.Server):
    """uvicorn's server, which closes the event hub when it begins to stop."""

    def __init__(self, config: uvicorn.Config, hub: EventHub) -> None:
        super().__init__(config)
        self._hub = hub

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """End the event streams, then shut down as uvicorn does."""
        self._hub.close()
        await super().shutdown(sockets)


def run(app: FastAPI, host: str, port: int, log_level: str) -> bool:
    """Serve ``app`` until a signal stops it; False if it could not start."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=log_level
    )
    server = ControllerServer(config, app.state.events)
    with suppress(KeyboardInterrupt):
        server.run()
    return server.started
