"""Verification hooks as processes: exit codes, output tails, timeouts, aborts."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from controller.hooks import (
    TAIL_BYTES,
    TAIL_LINES,
    Ending,
    HookResult,
    OutputTail,
    hook_text,
    run_hook,
)

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def run(
    command: Sequence[str],
    timeout: float = 10.0,
    env: dict[str, str] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> HookResult:
    return asyncio.run(run_hook(command, env or ENV, timeout, should_stop))


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def is_gone(pid: int) -> bool:
    """Whether a process has ended (a zombie waiting for its reaper counts)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_exit_zero_passes_and_keeps_the_output() -> None:
    result = run(["sh", "-c", "echo checked; echo warned >&2"])

    assert result.passed
    assert (result.ending, result.exit_code) == (Ending.EXITED, 0)
    assert result.output == "checked\nwarned"
    assert result.describe().startswith("exit code 0 after ")
    assert hook_text("preview", result).startswith(
        "verification hook on preview passed: exit code 0"
    )


def test_a_non_zero_exit_fails_with_its_code() -> None:
    result = run(["sh", "-c", "echo broken; exit 3"])

    assert not result.passed
    assert result.exit_code == 3
    assert "exit code 3" in hook_text("live", result)
    assert "failed" in hook_text("live", result)
    assert result.describe().endswith("last output:\nbroken")


def test_the_environment_reaches_the_hook_without_a_shell() -> None:
    env = ENV | {"BGCTL_TARGET_URL": "http://127.0.0.1:1/$HOME"}
    result = run(python("import os; print(os.environ['BGCTL_TARGET_URL'])"), env=env)

    assert result.output == "http://127.0.0.1:1/$HOME"


def test_only_the_last_lines_are_kept() -> None:
    result = run(python("for i in range(100): print('line', i)"))

    lines = result.output.splitlines()
    assert len(lines) == TAIL_LINES
    assert lines[-1] == "line 99"
    assert lines[0] == f"line {100 - TAIL_LINES}"


def test_long_output_is_bounded_in_bytes() -> None:
    result = run(python("import sys; sys.stdout.write('x' * 100_000 + '\\nend\\n')"))

    assert result.passed
    assert len(result.output.encode()) <= TAIL_BYTES
    assert result.output.startswith("...xxx")
    assert result.output.endswith("x\nend")


def test_a_hook_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {pidfile}; echo waiting; wait"
    started = time.monotonic()

    result = run(["sh", "-c", script], timeout=1.0)

    assert time.monotonic() - started < 5
    assert result.ending is Ending.TIMED_OUT and not result.passed
    assert result.exit_code is None
    assert result.output == "waiting"
    assert "timed out and was killed" in result.describe()
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while not is_gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert is_gone(child)


def test_an_abort_kills_the_hook() -> None:
    started = time.monotonic()
    asked = started + 0.5

    result = run(["sleep", "30"], should_stop=lambda: time.monotonic() > asked)

    assert result.ending is Ending.STOPPED and not result.passed
    assert time.monotonic() - started < 5


def test_a_child_left_behind_does_not_hold_the_hook_open() -> None:
    started = time.monotonic()

    result = run(["sh", "-c", "sleep 30 & echo done"])

    assert result.passed
    assert result.output == "done"
    assert time.monotonic() - started < 10


def test_a_command_that_cannot_run_fails_with_the_reason() -> None:
    result = run(["/no/such/checker", "--flag"])

    assert result.ending is Ending.UNSTARTED and not result.passed
    assert "/no/such/checker" in result.describe()
    assert result.describe().startswith("could not be run: FileNotFoundError")


def test_a_signal_is_named_as_such() -> None:
    result = run(["sh", "-c", "kill -TERM $$"])

    assert result.exit_code == -15
    assert result.summary().startswith("killed by signal 15")


def test_the_tail_marks_a_line_cut_at_its_start() -> None:
    tail = OutputTail(limit=12)
    tail.add(b"first line\nsecond\n")

    assert tail.dropped == 6
    assert tail.text() == "...e\nsecond"
