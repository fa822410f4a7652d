"""``bgctl loadtest`` against a real controller with both colours running."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import Controller


def test_both_colours_are_loaded_at_once_and_reported_apart(
    controller: Controller, tmp_path: Path
) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")  # green staged beside live blue
    out = tmp_path / "results"
    result = controller.cli(
        *("loadtest", name, "--target", "both", "--users", "2", "--rate", "5"),
        *("--duration", "3s", "--out", str(out)),
        BGCTL_TOKEN=controller.tokens["viewer"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"results in {out}" in result.stdout
    for written in ("locust.json", "locust.html", "locust_stats.csv"):
        assert (out / written).stat().st_size > 0, written
    entries = json.loads((out / "locust.json").read_text())
    by_name = {e["name"]: e for e in entries}
    assert set(by_name) == {"blue /", "green /"}
    for entry in by_name.values():
        assert entry["num_requests"] > 0
        assert entry["num_failures"] == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert rows["blue"][1:4] == [str(by_name["blue /"]["num_requests"]), "0", "0.0%"]
    assert rows["green"][1:4] == [str(by_name["green /"]["num_requests"]), "0", "0.0%"]


def test_failures_above_the_allowed_share_exit_1(
    controller: Controller, tmp_path: Path
) -> None:
    name = controller.live_service()
    result = controller.cli(
        *("loadtest", name, "--users", "1", "--rate", "5", "--duration", "1s"),
        *("--path", "/no-such-route", "--max-failure-share", "0.1"),
        *("--out", str(tmp_path / "results")),
        BGCTL_TOKEN=controller.tokens["viewer"],
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "live failed 100.0% of its requests" in result.stderr
    assert (tmp_path / "results" / "locust.html").exists()
