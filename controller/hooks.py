"""Verification hooks: a command of the release manager's, run to its end.

A hook runs without a shell, in a session of its own, with stdout and stderr
in one pipe of which only the tail is kept. Past its timeout, on an abort,
or when the task running it is cancelled, the whole session gets SIGKILL,
so the children of a ``sh -c`` hook go with it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass

log = logging.getLogger(__name__)

TAIL_LINES = 20  # of a hook's output, kept for the timeline
TAIL_BYTES = 4096  # at most, however long those lines are
READ_SIZE = 4096
POLL = 0.2  # seconds between looks at an abort request
DRAIN_WAIT = 2.0  # seconds to read what is left in the pipe after the end


class Ending(enum.StrEnum):
    """How a hook's process came to an end."""

    EXITED = "exited"  # by itself, with an exit code
    TIMED_OUT = "timed out"  # killed at its timeout
    STOPPED = "stopped"  # killed because the release was aborted
    UNSTARTED = "unstarted"  # the command could not be run at all


@dataclass(frozen=True)
class HookResult:
    """How a hook ended, and the last of what it wrote."""

    ending: Ending
    seconds: float
    output: str  # the last TAIL_LINES lines, at most TAIL_BYTES
    exit_code: int | None = None  # only when it exited
    error: str | None = None  # why it could not be run

    @property
    def passed(self) -> bool:
        """Whether the hook exited with 0."""
        return self.ending is Ending.EXITED and self.exit_code == 0

    def summary(self) -> str:
        """How it ended, in a few words."""
        took = f"after {self.seconds:.1f}s"
        if self.ending is Ending.EXITED and self.exit_code is not None:
            if self.exit_code < 0:
                return f"killed by signal {-self.exit_code} {took}"
            return f"exit code {self.exit_code} {took}"
        if self.ending is Ending.TIMED_OUT:
            return f"timed out and was killed {took}"
        if self.ending is Ending.STOPPED:
            return f"killed by an abort {took}"
        return f"could not be run: {self.error}"

    def describe(self) -> str:
        """The summary and the output's tail, for the release's timeline."""
        if not self.output.strip():
            return f"{self.summary()}; no output"
        return f"{self.summary()}; last output:\n{self.output}"


def hook_text(endpoint: str, result: HookResult) -> str:
    """The timeline line for a hook's run on ``endpoint``."""
    verdict = "passed" if result.passed else "failed"
    return f"verification hook on {endpoint} {verdict}: {result.describe()}"


class OutputTail:
    """The last bytes a process wrote, bounded however much it writes."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        self._buffer = bytearray()
        self._limit = limit
        self.dropped = 0  # bytes that fell off the front

    def add(self, chunk: bytes) -> None:
        """Append a chunk and forget what no longer fits."""
        self._buffer += chunk
        excess = len(self._buffer) - self._limit
        if excess > 0:
            del self._buffer[:excess]
            self.dropped += excess

    async def read_from(self, stream: asyncio.StreamReader) -> None:
        """Read the stream to its end."""
        while chunk := await stream.read(READ_SIZE):
            self.add(chunk)

    def text(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines, decoded leniently; a cut first one is marked."""
        kept = self._buffer.decode("utf-8", errors="replace").splitlines()
        if self.dropped and kept:
            kept[0] = "..." + kept[0][3:]  # it lost its start
        return "\n".join(kept[-lines:])


async def run_hook(
    command: Sequence[str],
    env: Mapping[str, str],
    timeout: float,
    should_stop: Callable[[], bool] = lambda: False,
) -> HookResult:
    """Run ``command`` to its end, its timeout or an abort; never raises for it."""
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        return HookResult(Ending.UNSTARTED, time.monotonic() - started, "", None, error)
    tail = OutputTail()
    assert process.stdout is not None  # asked for with PIPE
    reader = asyncio.create_task(tail.read_from(process.stdout))
    try:
        ending = await _wait(process, started + timeout, should_stop)
    except BaseException:
        _kill(process)
        reader.cancel()
        raise
    await _finish(process, reader, ending)
    code = process.returncode if ending is Ending.EXITED else None
    return HookResult(ending, time.monotonic() - started, tail.text(), code)


async def _wait(
    process: asyncio.subprocess.Process,
    deadline: float,
    should_stop: Callable[[], bool],
) -> Ending:
    """Wait for the process to exit, polling for an abort meanwhile."""
    while not should_stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return Ending.TIMED_OUT
        try:
            await asyncio.wait_for(process.wait(), min(POLL, left))
        except TimeoutError:
            continue
        return Ending.EXITED
    return Ending.STOPPED


async def _finish(
    process: asyncio.subprocess.Process, reader: asyncio.Task[None], ending: Ending
) -> None:
    """Kill what must die, reap it and read what is left in the pipe."""
    if ending is not Ending.EXITED:
        _kill(process)
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), DRAIN_WAIT)
    done, _ = await asyncio.wait({reader}, timeout=DRAIN_WAIT)
    if not done:
        # A child the hook left behind still holds the pipe open.
        _kill(process)
        await _stop_reading(reader)


async def _stop_reading(reader: asyncio.Task[None]) -> None:
    """Let the reader reach the pipe's end within DRAIN_WAIT, else cancel it."""
    done, _ = await asyncio.wait({reader}, timeout=DRAIN_WAIT)
    if not done:
        reader.cancel()
        with suppress(asyncio.CancelledError):
            await reader


def _kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the hook's whole session; it may already have gone."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    log.debug("sent SIGKILL to the session of hook process %s", process.pid)
