"""The sample app as a real process on 127.0.0.1, for tests of its behaviour."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "compose" / "sample" / "app.py"
KNOBS = (
    "APP_VERSION",
    "PORT",
    "HOST",
    "SAMPLE_STARTUP_DELAY",
    "SAMPLE_HEALTH_FAIL",
    "SAMPLE_CRASH_AFTER",
    "SAMPLE_ERROR_RATE",
    "SAMPLE_LATENCY_MS",
    "SAMPLE_DRAIN_TIMEOUT",
)
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def sample_env(**knobs: str) -> dict[str, str]:
    """This process's environment without stray knobs, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    env.update(HOST="127.0.0.1", PORT="0", PYTHONUNBUFFERED="1")
    env.update(knobs)
    return env


class SampleProcess:
    """One app process; its output is collected line by line as it comes."""

    def __init__(self, **knobs: str) -> None:
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, str(APP)],
            env=sample_env(**knobs),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        self.port = 0

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for_output(self, pattern: str, timeout: float = 5.0) -> re.Match[str]:
        """The first match of pattern in the output, waiting up to timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while (match := regex.search("".join(self._lines))) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    output = "".join(self._lines)
                    raise AssertionError(
                        f"no {pattern!r} in the sample's output within "
                        f"{timeout} s; it printed:\n{output}"
                    )
                self._changed.wait(left)
            return match

    def wait_listening(self) -> SampleProcess:
        self.port = int(self.wait_for_output(LISTENING.pattern).group(1))
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """The exit code, waiting up to timeout seconds for it."""
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
