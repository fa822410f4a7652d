"""Run the recording Locust users in a child process, bounded in time.

Locust runs headless from ``recorder.py`` with every user spawned at once;
it stops at its run time, or earlier when ``stop`` asks it to (SIGTERM, which
Locust treats as a graceful quit). Either way the samples file is complete
when ``stop`` or ``wait`` returns.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from loadtests.bench.samples import Sample, read_samples

ROOT = Path(__file__).resolve().parents[2]
RECORDER = Path(__file__).resolve().parent / "recorder.py"
GRACE = 30.0  # seconds past the run time before Locust is killed


class LoadError(Exception):
    """Locust did not start or left no samples."""


@dataclass(frozen=True)
class Load:
    """Who to load, how hard and for how long at most."""

    targets: dict[str, str]  # name to base URL on this machine
    users: int  # keep-alive connections per target
    rate: float  # requests per second per user; 0 for as fast as it can
    seconds: float  # the longest the run may last
    path: str = "/"


class LoadRun:
    """One Locust process loading every target of a Load at once."""

    def __init__(self, load: Load, out_dir: Path, name: str) -> None:
        self.load = load
        self.samples_path = out_dir / f"{name}.csv"
        self._log = out_dir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LoadRun:
        """Start Locust; it spawns all users at once."""
        total = self.load.users * len(self.load.targets)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env.update(
            BENCH_TARGETS=json.dumps(self.load.targets),
            BENCH_USERS=str(self.load.users),
            BENCH_RATE=f"{self.load.rate:g}",
            BENCH_PATH=self.load.path,
            BENCH_SAMPLES=str(self.samples_path),
            PYTHONPATH=str(ROOT),
        )
        command = [
            *(sys.executable, "-m", "locust", "-f", str(RECORDER), "--headless"),
            *("--users", str(total), "--spawn-rate", str(total)),
            *("--run-time", f"{math.ceil(self.load.seconds)}s"),
            *("--stop-timeout", "2", "--only-summary", "--loglevel", "WARNING"),
            *("--logfile", str(self._log)),
        ]
        self._process = subprocess.Popen(
            command,
            cwd=self.samples_path.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> list[Sample]:
        """Ask Locust to quit now; the samples it recorded."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        return self.wait()

    def kill(self) -> None:
        """End Locust at once, without its summary."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def wait(self) -> list[Sample]:
        """Wait for Locust to end (killed past its grace); the samples."""
        if self._process is None:
            raise LoadError("Locust was never started")
        try:
            self._process.wait(timeout=self.load.seconds + GRACE)
        except subprocess.TimeoutExpired:
            self.kill()
        except BaseException:  # the benchmark itself is being stopped
            self.kill()
            raise
        try:
            return read_samples(self.samples_path)
        except FileNotFoundError:
            tail = self._log.read_text()[-800:] if self._log.exists() else "no log"
            raise LoadError(f"Locust left no samples: {tail}") from None
