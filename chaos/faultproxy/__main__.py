"""Run one fault proxy: ``python -m chaos.faultproxy CONFIG_JSON``.

See ``chaos.faultproxy.config`` for the argument, the ready line and the
log. The process stops listening and exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from chaos.faultproxy.config import ConfigInvalid, failed_line, parse_config
from chaos.faultproxy.server import serve

USAGE = "usage: python -m chaos.faultproxy CONFIG_JSON"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def announce(line: str) -> None:
    """Print the one line the parent waits for, then let go of stdout.

    The parent may die while the proxy lives on; nothing more is written
    to a pipe nobody may read.
    """
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    redirect(os.devnull, sys.stdout.fileno())


def redirect(path: str, fd: int) -> None:
    """Point ``fd`` at ``path``, appending."""
    target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(target, fd)
    os.close(target)


def main(argv: list[str]) -> int:
    """Read the argument, serve until a signal; the exit code."""
    # 1. Read the configuration; a bad one is announced, there is no log yet.
    if len(argv) != 1:
        announce(failed_line(f"{USAGE}, got {len(argv)} arguments"))
        return 2
    try:
        config = parse_config(argv[0])
    except ConfigInvalid as exc:
        announce(failed_line(str(exc)))
        return 2

    # 2. Log to the file named, tracebacks included, or to stderr.
    if config.log_file is not None:
        try:
            redirect(config.log_file, sys.stderr.fileno())
        except OSError as exc:
            announce(failed_line(f"cannot open log file {config.log_file!r}: {exc}"))
            return 1
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=LOG_FORMAT)

    # 3. Serve until told to stop.
    return asyncio.run(serve(config, announce))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
