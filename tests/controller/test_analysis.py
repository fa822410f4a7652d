"""Analysis verdicts: limits hold, and no data is never a pass."""

from controller.analysis import Verdict, Window, judge
from controller.spec import Gate

GATE = Gate(duration=5, max_error_rate=0.1, max_p95=0.2, min_samples=5)


def window(latencies: list[float], errors: int = 0) -> Window:
    return Window("http://127.0.0.1:1/", latencies=latencies, errors=errors)


def test_a_healthy_window_passes() -> None:
    assert judge(GATE, window([0.01] * 20)).verdict is Verdict.PASSED


def test_no_probes_at_all_is_inconclusive() -> None:
    judgement = judge(GATE, window([]))
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert "0 answered" in judgement.reason


def test_every_probe_erroring_is_not_a_pass() -> None:
    judgement = judge(GATE, window([], errors=30))
    assert judgement.verdict is not Verdict.PASSED


def test_too_many_errors_fail_the_window() -> None:
    judgement = judge(GATE, window([0.01] * 17, errors=3))
    assert judgement.verdict is Verdict.FAILED
    assert "max_error_rate" in judgement.reason


def test_a_slow_p95_fails_the_window() -> None:
    judgement = judge(GATE, window([0.01] * 10 + [0.5] * 10))
    assert judgement.verdict is Verdict.FAILED
    assert "max_p95" in judgement.reason


def test_p95_relative_to_live_fails_when_much_slower() -> None:
    gate = Gate(duration=5, max_p95=10, max_p95_ratio=2.0, min_samples=5)
    live = window([0.01] * 20)
    assert judge(gate, window([0.05] * 20), live).verdict is Verdict.FAILED
    assert judge(gate, window([0.015] * 20), live).verdict is Verdict.PASSED


def test_p95_is_the_95th_percentile() -> None:
    assert window([float(i) for i in range(1, 101)]).p95 == 95.0


def test_an_error_rate_much_worse_than_live_fails() -> None:
    gate = Gate(duration=5, max_error_rate=0.5, max_error_rate_increase=0.05)
    live = window([0.01] * 100)
    judgement = judge(gate, window([0.01] * 80, errors=20), live)
    assert judgement.verdict is Verdict.FAILED
    assert "max_error_rate_increase" in judgement.reason
    assert judge(gate, window([0.01] * 99, errors=1), live).verdict is Verdict.PASSED
