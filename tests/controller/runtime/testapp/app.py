"""A replica for runtime tests: answers HTTP, or misbehaves on request.

APP_MODE selects the behaviour: ``serve`` (default) answers every GET with
its greeting and exits 0 on SIGTERM; ``crash`` exits at once with an error;
``stubborn`` serves but ignores SIGTERM, so only SIGKILL stops it.
"""

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import FrameType

PORT = 8000


class Greeter(BaseHTTPRequestHandler):
    """Answers every GET with the greeting and the container's host name."""

    def do_GET(self) -> None:
        greeting = os.environ.get("GREETING", "hello")
        body = f"{greeting} from {os.uname().nodename}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    print("received SIGTERM, shutting down cleanly", flush=True)
    sys.exit(0)


def main() -> None:
    mode = os.environ.get("APP_MODE", "serve")
    if mode == "crash":
        print("fatal: APP_CONFIG is not set", flush=True)
        sys.exit(3)
    handler = signal.SIG_IGN if mode == "stubborn" else on_sigterm
    signal.signal(signal.SIGTERM, handler)
    print(f"serving on port {PORT}", flush=True)
    HTTPServer(("", PORT), Greeter).serve_forever()


if __name__ == "__main__":
    main()
