"""``bgctl loadtest``'s input checks, exit codes and summary, without load."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from controller.cli import app
from controller.cli_loadtest import _judge, _refuse_empty, summary
from controller.loadtest_results import TargetStats
from tests.harness import free_port


def bgctl(*args: str) -> tuple[int, str]:
    """Run the CLI in-process against a port nobody listens on."""
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, [*args, "--url", url, "--token", "t"])
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--users", "0", "--users: must be 1 to 1000, got 0"),
        ("--users", "1001", "--users: must be 1 to 1000, got 1001"),
        ("--rate", "0", "--rate: must be above 0 and at most 10000, got 0.0"),
        ("--rate", "10000.5", "--rate: must be above 0 and at most 10000, got 10000.5"),
        ("--duration", "0s", "--duration: must be 1s to 1h, got '0s'"),
        ("--duration", "61m", "--duration: must be 1s to 1h, got '61m'"),
        ("--duration", "a while", "--duration: must be like 30s or 2m, got 'a while'"),
        ("--target", "purple", "--target: must be one of live, preview, blue, "),
        ("--max-failure-share", "1.5", "--max-failure-share: must be 0 to 1, got 1.5"),
        ("--path", "x", "--path: must be a URL path, got 'x'"),
    ],
)
def test_bad_input_exits_2_naming_the_option_and_value(
    option: str, value: str, words: str
) -> None:
    code, err = bgctl("loadtest", "web", option, value)
    assert code == 2, err
    assert words in err


def test_a_folder_with_old_results_is_refused(tmp_path: Path) -> None:
    (tmp_path / "locust.json").write_text("[]")
    code, err = bgctl("loadtest", "web", "--out", str(tmp_path))
    assert code == 2
    assert f"--out: must be a new or empty folder, got '{tmp_path}'" in err


def test_an_unreachable_controller_exits_3() -> None:
    code, err = bgctl("loadtest", "web", "--duration", "1s")
    assert code == 3
    assert "cannot reach the controller" in err


def test_the_summary_has_one_line_per_target() -> None:
    table = summary(
        [
            TargetStats("blue", 200, 0, 0.004, 0.012, 0.031),
            TargetStats("green", 8, 2, None, None, None),
        ]
    ).splitlines()
    words = [" ".join(line.split()) for line in table]
    assert words[0] == "TARGET REQUESTS FAILURES FAILED P50 P95 P99"
    assert words[1] == "blue 200 0 0.0% 4 ms 12 ms 31 ms"
    assert words[2] == "green 8 2 25.0% - - -"


def silent(target: str) -> TargetStats:
    return TargetStats(target, 0, 0, None, None, None)


def test_a_target_that_answered_nothing_fails_a_failure_limit() -> None:
    with pytest.raises(typer.Exit) as stopped:
        _judge([silent("blue")], 0.0)
    assert stopped.value.exit_code == 1


def test_a_target_that_answered_nothing_is_said_without_a_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _judge([silent("green")], None)
    assert "green answered no request at all" in capsys.readouterr().err


def test_a_frontend_with_no_replicas_behind_it_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = {
        "name": "web",
        "live_color": "blue",
        "preview_color": None,
        "colors": [
            {"color": "blue", "replicas": [{"name": "web-blue-1"}]},
            {"color": "green", "replicas": []},
        ],
    }
    _refuse_empty(status, ["live", "blue"])  # both have a replica
    for frontend in ("green", "preview"):
        with pytest.raises(typer.Exit) as stopped:
            _refuse_empty(status, [frontend])
        assert stopped.value.exit_code == 2
    said = capsys.readouterr().err
    assert "green of 'web' leads to colour green, which has no replicas" in said
    assert "preview of 'web' leads to no colour" in said
