"""The locustfiles as Locust runs them, in a child process, on 127.0.0.1 only.

Locust is never imported here: it patches the standard library with gevent,
which the rest of the test session must not inherit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.proxy.haproxy_harness import running_replicas

LOADTESTS = Path(__file__).resolve().parents[2] / "loadtests"


def locust(
    locustfile: str, out: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """One headless Locust run, bounded to ten seconds whatever the file does."""
    command = [
        *(sys.executable, "-m", "locust", "-f", str(LOADTESTS / locustfile)),
        *("--headless", "--run-time", "10s", "--only-summary"),
        *("--json-file", str(out / "locust"), "--logfile", str(out / "locust.log")),
        *args,
    ]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    return subprocess.run(
        command,
        cwd=out,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )


def test_the_step_shape_ramps_up_and_ends_the_run(tmp_path: Path) -> None:
    with running_replicas("blue") as replicas:
        url = f"http://127.0.0.1:{replicas['blue'].address.port}"
        started = time.monotonic()
        done = locust(
            "steps.py",
            tmp_path,
            *("--tags", "blue", "--bgctl-user-rate", "5"),
            BGCTL_BLUE_URL=url,
            BGCTL_STEP_USERS="1",
            BGCTL_STEP_SECONDS="1",
            BGCTL_STEPS="2",
        )
        took = time.monotonic() - started
    log = (tmp_path / "locust.log").read_text()
    assert done.returncode == 0, done.stderr + log
    assert "Shape test updating to 1 users" in log
    assert "Shape test updating to 2 users" in log
    assert "Shape test stopping" in log
    assert took < 8, "the shape, not --run-time, should have ended the run"
    entries = json.loads((tmp_path / "locust.json").read_text())
    assert [e["name"] for e in entries] == ["blue /"]
    assert entries[0]["num_requests"] > 0


def test_a_frontend_off_this_machine_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    done = locust(
        "locustfile.py",
        tmp_path,
        *("--tags", "live", "--users", "0"),  # nothing may reach that address
        BGCTL_LIVE_URL="http://192.0.2.1:80",
    )
    assert done.returncode != 0
    assert "live URL must point at this machine, got 'http://192.0.2.1:80'" in (
        done.stderr
    )
    assert not (tmp_path / "locust.json").exists()


def test_tags_that_choose_no_frontend_are_refused(tmp_path: Path) -> None:
    done = locust("locustfile.py", tmp_path, "--tags", "purple", "--users", "1")
    assert done.returncode != 0
    assert "no frontend chosen" in done.stderr
