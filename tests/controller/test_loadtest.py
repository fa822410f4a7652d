"""Locust runs and their results: real tiny runs against replicas on 127.0.0.1.

Locust itself is never imported here: it patches the standard library with
gevent, which the rest of the test session must not inherit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.errors import InvalidInput
from controller.loadtest import LoadPlan, check_targets, locust_command, run_locust
from controller.loadtest_results import (
    LoadTestError,
    TargetStats,
    percentile,
    read_results,
)
from tests.proxy.haproxy_harness import ReplicaServer, running_replicas

TINY = LoadPlan(users=2, rate=10, duration=2, path="/healthz")


def url_of(replica: ReplicaServer) -> str:
    return f"http://127.0.0.1:{replica.address.port}"


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, TargetStats]]]:
    """One real run: blue answers its health path, green answers 503."""
    out = tmp_path_factory.mktemp("run")
    with running_replicas("blue", "green") as replicas:
        replicas["green"].healthy = False
        targets = {name: url_of(replicas[name]) for name in ("blue", "green")}
        yield out, run_locust(targets, TINY, out)


def test_a_run_writes_csv_html_json_and_its_log(
    finished: tuple[Path, dict[str, TargetStats]],
) -> None:
    out, _ = finished
    for name in ("locust.json", "locust.html", "locust_stats.csv", "locust.log"):
        assert (out / name).stat().st_size > 0, name


def test_each_target_keeps_its_own_counts(
    finished: tuple[Path, dict[str, TargetStats]],
) -> None:
    _, stats = finished
    assert set(stats) == {"blue", "green"}
    assert stats["blue"].requests > 0
    assert stats["blue"].failures == 0
    assert stats["green"].requests > 0
    assert stats["green"].failures == stats["green"].requests
    assert stats["green"].failure_share == 1.0


def test_the_rate_bounds_the_requests(
    finished: tuple[Path, dict[str, TargetStats]],
) -> None:
    _, stats = finished
    # 10 requests a second for 2 seconds, with a second of slack.
    assert all(s.requests <= 30 for s in stats.values()), stats


def test_percentiles_match_locusts_own_report(
    finished: tuple[Path, dict[str, TargetStats]],
) -> None:
    out, stats = finished
    for row in html_statistics(out / "locust.html"):
        if row["name"] == "Aggregated":
            continue
        found = stats[row["name"].split(" ")[0]]
        assert found.requests == row["num_requests"]
        assert found.failures == row["num_failures"]
        assert found.p50 == row["median_response_time"] / 1000
        assert found.p95 == row["response_time_percentile_0.95"] / 1000
        assert found.p99 == row["response_time_percentile_0.99"] / 1000


def html_statistics(report: Path) -> list[dict[str, Any]]:
    """The per-name rows Locust embedded in its HTML report."""
    text = report.read_text()
    start = text.index("[", text.index('"requests_statistics"'))
    rows, _ = json.JSONDecoder().raw_decode(text, start)
    assert isinstance(rows, list)
    return rows


def test_requests_are_named_after_their_target(
    finished: tuple[Path, dict[str, TargetStats]],
) -> None:
    out, _ = finished
    names = {e["name"] for e in json.loads((out / "locust.json").read_text())}
    assert names == {"blue /healthz", "green /healthz"}


def test_entries_of_one_target_add_up(tmp_path: Path) -> None:
    results = tmp_path / "locust.json"
    entries = [
        {"name": "live /", "num_requests": 3, "num_failures": 1,
         "response_times": {"10": 2, "30": 1}},
        {"name": "live /version", "num_requests": 1, "num_failures": 0,
         "response_times": {"200": 1}},
        {"name": "liveness /", "num_requests": 9, "num_failures": 9,
         "response_times": {"5": 9}},
    ]  # fmt: skip
    results.write_text(json.dumps(entries))
    stats = read_results(results, {"live": "", "preview": ""})
    assert stats["live"] == TargetStats("live", 4, 1, 0.03, 0.2, 0.2)
    assert stats["preview"] == TargetStats("preview", 0, 0, None, None, None)
    assert stats["preview"].failure_share == 0.0


def test_unreadable_results_are_a_load_test_error(tmp_path: Path) -> None:
    (tmp_path / "locust.json").write_text("{not json")
    with pytest.raises(LoadTestError, match=r"locust\.json"):
        read_results(tmp_path / "locust.json", {"live": ""})


def test_percentile_takes_locusts_rank() -> None:
    histogram = {1: 5, 2: 3, 9: 2}
    assert percentile(histogram, 0.5) == 0.002
    assert percentile(histogram, 0.95) == 0.009
    assert percentile(histogram, 1.0) == 0.009
    assert percentile({}, 0.5) is None


def test_a_missing_locustfile_is_a_load_test_error(tmp_path: Path) -> None:
    with pytest.raises(LoadTestError, match="no locustfile"):
        run_locust({"live": "http://127.0.0.1:9"}, TINY, tmp_path, tmp_path / "none.py")


def test_a_locustfile_that_fails_is_reported_with_its_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text('raise SystemExit("the users cannot start")\n')
    with pytest.raises(LoadTestError, match="the users cannot start"):
        run_locust({"live": "http://127.0.0.1:9"}, TINY, tmp_path / "out", broken)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"users": 0}, "users: must be 1 to 1000, got 0"),
        ({"users": 1001}, "got 1001"),
        ({"rate": 0.0}, "rate: must be above 0 and at most 10000, got 0.0"),
        ({"rate": 10_001.0}, "got 10001.0"),
        ({"rate": math.nan}, "got nan"),
        ({"duration": 0.5}, "duration: must be 1s to 1h, got 0.5"),
        ({"path": "healthz"}, "path: must be a URL path, got 'healthz'"),
    ],
)
def test_a_plan_out_of_range_names_the_setting_and_value(
    changes: dict[str, object], words: str
) -> None:
    values: dict[str, object] = {"users": 1, "rate": 1.0, "duration": 1.0} | changes
    with pytest.raises(InvalidInput) as caught:
        LoadPlan(**values)  # type: ignore[arg-type]
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("duration", "words"),
    [("0s", "got '0s'"), ("2h", "1s to 1h, got '2h'"), ("soon", "like 30s")],
)
def test_a_typed_duration_is_quoted_as_typed(duration: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        LoadPlan.parse(1, 1.0, duration, "/")


def test_a_plan_paces_each_user_to_its_share_of_the_rate() -> None:
    plan = LoadPlan.parse(users=4, rate=10, duration="1500ms", path="/")
    assert plan.user_rate == 2.5
    assert plan.run_time == "2s"


def test_targets_must_be_frontends_on_this_machine() -> None:
    with pytest.raises(InvalidInput, match="got 'purple'"):
        check_targets({"purple": "http://127.0.0.1:1"})
    with pytest.raises(InvalidInput, match=r"got 'http://192\.0\.2\.1:80'"):
        check_targets({"live": "http://192.0.2.1:80"})
    with pytest.raises(InvalidInput, match="at least one"):
        check_targets({})


def test_every_run_is_bounded_in_time(tmp_path: Path) -> None:
    command = locust_command(["blue", "green"], TINY, tmp_path, Path("l.py"))
    assert command[command.index("--run-time") + 1] == "2s"
    assert command[command.index("--users") + 1] == "4"
    assert "--headless" in command
