"""Starting a fault proxy process, and stopping it again, also after a restart.

A proxy runs in a session of its own, so a controller that dies does not
take it down while HAProxy still routes through it; the ledger keeps its
pid and marker, and whoever undoes the fault stops it. A pid is only ever
signalled while its command line still names this module and the marker,
so a pid the kernel has handed to another process since is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import FaultFailed
from chaos.faultproxy.config import NotReady, ProxyConfig, read_ready

log = logging.getLogger(__name__)

MODULE = "chaos.faultproxy"
POLL = 0.02  # seconds between looks at a stopping process
KILL_WAIT = 2.0  # how long a SIGKILLed process may take to go


@dataclass(frozen=True)
class RunningProxy:
    """A proxy that said it is ready: its pid and one port per upstream."""

    pid: int
    ports: list[int]
    process: asyncio.subprocess.Process  # for collecting its exit, if stopped here


async def start_proxy(config: ProxyConfig, python: str, timeout: float) -> RunningProxy:
    """Start a proxy and wait for its ready line; FaultFailed says why not."""
    # 1. Start it in its own session: stdout for the ready line only, stderr
    #    to its log, so that even an interpreter that cannot import it says so.
    try:
        with _log_sink(config) as log_sink:
            process = await asyncio.create_subprocess_exec(
                *command(config, python),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log_sink,
                start_new_session=True,
            )
    except OSError as exc:
        raise FaultFailed(
            f"cannot start fault proxy {config.marker} with {python!r}: {exc}",
            marker=config.marker,
        ) from exc

    # 2. Wait for its first line; anything but ready stops it.
    try:
        ports = await _ready(process, config, timeout)
    except BaseException:
        await _reap(process)
        raise
    log.info("fault proxy %s started, pid %s", config.marker, process.pid)
    return RunningProxy(process.pid, ports, process)


@contextlib.contextmanager
def _log_sink(config: ProxyConfig) -> Iterator[int]:
    """A descriptor of the proxy's log file for its stderr, or of nowhere."""
    if config.log_file is None:
        yield asyncio.subprocess.DEVNULL
        return
    sink = os.open(config.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        yield sink
    finally:
        os.close(sink)


def command(config: ProxyConfig, python: str) -> list[str]:
    """The proxy's command line; the marker shows in its one argument."""
    return [python, "-m", MODULE, config.to_argument()]


async def _ready(
    process: asyncio.subprocess.Process, config: ProxyConfig, timeout: float
) -> list[int]:
    where = f"; see {config.log_file}" if config.log_file else ""
    try:
        line = await asyncio.wait_for(_first_line(process), timeout)
    except TimeoutError:
        raise FaultFailed(
            f"fault proxy {config.marker} did not say ready within {timeout}s{where}",
            marker=config.marker,
        ) from None
    if not line:
        code = await _exit_code(process)
        raise FaultFailed(
            f"fault proxy {config.marker} exited with code {code} before "
            f"saying ready{where}",
            marker=config.marker,
        )
    try:
        ports = read_ready(line.decode(errors="replace"))
    except NotReady as exc:
        raise FaultFailed(
            f"fault proxy {config.marker} did not start: {exc}{where}",
            marker=config.marker,
        ) from exc
    if len(ports) != len(config.upstreams):
        raise FaultFailed(
            f"fault proxy {config.marker} listens on {len(ports)} ports, "
            f"expected one per upstream ({len(config.upstreams)})",
            marker=config.marker,
        )
    return ports


async def _first_line(process: asyncio.subprocess.Process) -> bytes:
    """The first line on the proxy's stdout; empty if it closed first."""
    return b"" if process.stdout is None else await process.stdout.readline()


async def _exit_code(process: asyncio.subprocess.Process) -> int | None:
    """The exit code of a process that closed its stdout, if it exits soon."""
    try:
        return await asyncio.wait_for(process.wait(), KILL_WAIT)
    except TimeoutError:
        return None


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Kill a proxy that failed to start and collect its exit."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


async def stop_proxy(pid: int | None, marker: str, grace: float) -> bool:
    """Stop the proxy with ``marker``: SIGTERM, then SIGKILL after ``grace``.

    Without a pid, the process is looked for by its marker. Returns whether
    one was running; FaultFailed if it outlives SIGKILL.
    """
    if pid is not None:
        pids = [pid] if is_ours(pid, marker) else []
    else:
        pids = await asyncio.to_thread(find_proxies, marker)
    for found in pids:
        await _end(found, marker, grace)
    return bool(pids)


async def _end(pid: int, marker: str, grace: float) -> None:
    # 1. Ask it to stop; a proxy closes its connections and exits at once.
    _signal(pid, signal.SIGTERM)
    if await _gone(pid, marker, grace):
        log.info("fault proxy %s stopped, pid %s", marker, pid)
        return

    # 2. Make it stop.
    log.warning("fault proxy %s outlived SIGTERM by %ss; killing it", marker, grace)
    _signal(pid, signal.SIGKILL)
    if not await _gone(pid, marker, KILL_WAIT):
        raise FaultFailed(
            f"fault proxy {marker} (pid {pid}) is still running after SIGKILL",
            marker=marker,
            pid=pid,
        )


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


async def _gone(pid: int, marker: str, timeout: float) -> bool:
    """Wait up to ``timeout`` for ``pid`` to stop being our proxy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while is_ours(pid, marker):
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(POLL)
    return True


def is_ours(pid: int, marker: str) -> bool:
    """Whether ``pid`` is a live proxy of this user started with ``marker``."""
    proc = Path(f"/proc/{pid}")
    try:
        argv = (proc / "cmdline").read_bytes().split(b"\0")
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        owner = proc.stat().st_uid
    except (OSError, IndexError):
        return False
    return (
        state != "Z"
        and owner == os.getuid()
        and MODULE.encode() in argv
        and any(marker.encode() in arg for arg in argv)
    )


def find_proxies(marker: str) -> list[int]:
    """Pids of live proxies started with ``marker``."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and is_ours(int(entry.name), marker)
    ]
