"""Run Locust headless against a service's frontends and read what it measured.

The CLI's ``bgctl loadtest`` uses it today; a release's Locust gate can load
preview and live with the same plan and compare the two. It runs the users
in ``loadtests/locustfile.py`` in a child process, hands them the frontend
URLs it was given, and never aims at anything but this machine.

Errors (both are BgctlError):

InvalidInput       a setting of the plan, or a target, is out of range
LoadTestError      Locust is missing, failed to start, or left no results
                   (in loadtest_results, beside the reading of them)
  LoadTestStopped  the caller asked the run to stop, and Locust was killed
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

from chaos.units import check_path, parse_duration
from controller.errors import InvalidInput
from controller.lifetime import die_with_parent
from controller.loadtest_results import (
    LoadTestError,
    TargetStats,
    read_results,
)

log = logging.getLogger(__name__)

TARGETS = ("live", "preview", "blue", "green")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_USERS = 1000
MAX_RATE = 10_000.0
MIN_SECONDS, MAX_SECONDS = 1.0, 3600.0
# Locust's start-up and shutdown around the run time, before we give up.
GRACE_SECONDS = 60.0
POLL_SECONDS = 0.2  # between looks at a stop request while Locust runs
RESULTS_NAME = "locust"  # locust.json, locust.html, locust_stats.csv, ...


class LoadTestStopped(LoadTestError):
    """The run was stopped on request before Locust finished."""


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long to load each target; every target gets the same."""

    users: int = 2  # concurrent users per target
    rate: float = 5.0  # requests per second per target, shared by its users
    duration: float = 10.0  # seconds; Locust's run time rounds it up
    path: str = "/"

    def __post_init__(self) -> None:
        if isinstance(self.users, bool) or not 1 <= self.users <= MAX_USERS:
            raise InvalidInput("users", self.users, f"must be 1 to {MAX_USERS}")
        if not (math.isfinite(self.rate) and 0 < self.rate <= MAX_RATE):
            raise InvalidInput(
                "rate", self.rate, f"must be above 0 and at most {MAX_RATE:g}"
            )
        if not MIN_SECONDS <= self.duration <= MAX_SECONDS:
            raise InvalidInput("duration", self.duration, "must be 1s to 1h")
        try:
            check_path(self.path)
        except ValueError as exc:
            raise InvalidInput("path", self.path, "must be a URL path") from exc

    @classmethod
    def parse(cls, users: int, rate: float, duration: str, path: str) -> LoadPlan:
        """A plan from a person's input; errors quote the duration as typed."""
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            raise InvalidInput("duration", duration, "must be like 30s or 2m") from exc
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise InvalidInput("duration", duration, "must be 1s to 1h")
        return cls(users=users, rate=rate, duration=seconds, path=path)

    @property
    def user_rate(self) -> float:
        """Requests per second each user paces itself to."""
        return self.rate / self.users

    @property
    def run_time(self) -> str:
        """The duration as Locust's ``--run-time`` takes it: whole seconds."""
        return f"{math.ceil(self.duration)}s"


def default_locustfile() -> Path:
    """The repository's ``loadtests/locustfile.py``, beside this package."""
    return Path(__file__).resolve().parent.parent / "loadtests" / "locustfile.py"


def run_locust(
    targets: Mapping[str, str],
    plan: LoadPlan,
    out_dir: Path,
    locustfile: Path | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, TargetStats]:
    """Load every target with ``plan`` at once; its stats, by target.

    ``targets`` maps frontend names (live, preview, blue, green) to their
    URLs on this machine. Locust's CSV, HTML and JSON results and its log
    are written to ``out_dir``. Once ``should_stop`` says so, Locust is
    killed and LoadTestStopped raised.
    """
    check_targets(targets)
    script = (locustfile or default_locustfile()).resolve()
    if not script.is_file():
        raise LoadTestError(f"no locustfile at {str(script)!r}")
    if find_spec("locust") is None:
        raise LoadTestError("Locust is not installed: install bgctl[load]")
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fields = {"targets": list(targets), "results": str(out_dir)}
    log.info("load test started: %s on %s", plan, ", ".join(targets), extra=fields)
    try:
        command = locust_command(list(targets), plan, out_dir, script)
        _run(command, targets, plan, out_dir, should_stop)
        stats = read_results(out_dir / f"{RESULTS_NAME}.json", targets)
    except LoadTestError as exc:
        log.info("load test failed: %s", exc, extra=fields)
        raise
    log.info("load test finished: %s", list(stats.values()), extra=fields)
    return stats


def check_targets(targets: Mapping[str, str]) -> None:
    """Refuse an unknown frontend or a URL that leaves this machine."""
    if not targets:
        raise InvalidInput("target", {}, "must name at least one frontend")
    for name, url in targets.items():
        if name not in TARGETS:
            raise InvalidInput("target", name, f"must be one of {', '.join(TARGETS)}")
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            raise InvalidInput(f"{name} URL", url, "must point at this machine")


def locust_command(
    targets: list[str], plan: LoadPlan, out_dir: Path, locustfile: Path
) -> list[str]:
    """The Locust command line for one bounded, headless run."""
    results = out_dir / RESULTS_NAME
    total = plan.users * len(targets)
    return [
        *(sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"),
        *("--users", str(total), "--spawn-rate", str(total)),
        *("--run-time", plan.run_time, "--stop-timeout", "5"),
        *("--tags", *targets),
        *("--bgctl-path", plan.path, "--bgctl-user-rate", f"{plan.user_rate:g}"),
        *("--csv", str(results), "--html", f"{results}.html"),
        *("--json-file", str(results), "--only-summary"),
        *("--logfile", str(out_dir / f"{RESULTS_NAME}.log")),
    ]


def _run(
    command: list[str],
    targets: Mapping[str, str],
    plan: LoadPlan,
    out_dir: Path,
    should_stop: Callable[[], bool],
) -> None:
    # Locust reads LOCUST_* variables, a locust.conf in its working folder and
    # ~/.locust.conf; none may change a run this module bounds.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["HOME"] = str(out_dir)
    env.update({f"BGCTL_{name.upper()}_URL": url for name, url in targets.items()})
    deadline = time.monotonic() + math.ceil(plan.duration) + GRACE_SECONDS
    # An earlier run's results in the same folder must not pass for this one's.
    (out_dir / f"{RESULTS_NAME}.json").unlink(missing_ok=True)
    try:
        with subprocess.Popen(
            command,
            cwd=out_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,  # no load left if the caller dies
        ) as process:
            stderr = _wait(process, deadline, should_stop)
    except OSError as exc:
        raise LoadTestError(f"Locust did not run to its end: {exc}") from exc
    # Exit code 1 only says that some requests failed; the results count them.
    code = process.returncode
    if code in (0, 1) and (out_dir / f"{RESULTS_NAME}.json").exists():
        return
    raise LoadTestError(
        f"Locust exited with code {code} without final results in "
        f"{str(out_dir)!r}: {_last_words(stderr, out_dir)}",
        exit_code=code,
    )


def _wait(
    process: subprocess.Popen[str], deadline: float, should_stop: Callable[[], bool]
) -> str:
    """Locust's stderr once it exits; killed at the deadline or a stop request."""
    while True:
        try:
            return process.communicate(timeout=POLL_SECONDS)[1]
        except subprocess.TimeoutExpired:
            pass
        except BaseException:  # the caller is being interrupted: no load left
            process.kill()
            raise
        is_stopped = should_stop()
        if is_stopped or time.monotonic() >= deadline:
            process.kill()
            process.communicate()
            if is_stopped:
                raise LoadTestStopped("the load test was stopped on request")
            raise LoadTestError(
                f"Locust did not run to its end: killed {GRACE_SECONDS:g}s "
                "past its run time"
            )


def _last_words(stderr: str, out_dir: Path) -> str:
    """The end of what Locust said: its stderr, or else its log file."""
    text = stderr.strip()
    if not text:
        try:
            text = (out_dir / f"{RESULTS_NAME}.log").read_text(errors="replace")
        except OSError:
            text = ""
    return "\n".join(text.strip().splitlines()[-5:]) or "nothing"
