"""The step ramp's arithmetic and settings."""

from __future__ import annotations

import pytest

from loadtests.ramp import Steps


def test_each_step_adds_its_users_until_the_last_one_ends() -> None:
    steps = Steps(users=3, seconds=10, count=2)
    assert [steps.users_at(t) for t in (0, 9.9, 10, 19.9)] == [3, 3, 6, 6]
    assert steps.users_at(20) is None


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BGCTL_STEP_USERS", "2")
    monkeypatch.setenv("BGCTL_STEP_SECONDS", "5")
    monkeypatch.delenv("BGCTL_STEPS", raising=False)
    assert Steps.from_env() == Steps(users=2, seconds=5, count=5)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("BGCTL_STEP_USERS", "many", "BGCTL_STEP_USERS must be a whole number"),
        ("BGCTL_STEP_USERS", "0", "BGCTL_STEP_USERS must be from 1 to 1000, got 0"),
        ("BGCTL_STEP_SECONDS", "4000", "must be from 1 to 3600, got 4000"),
        ("BGCTL_STEPS", "300", "steps reach 1500 users, more than 1000"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as caught:
        Steps.from_env()
    assert words in str(caught.value)


def test_a_ramp_longer_than_an_hour_is_refused() -> None:
    with pytest.raises(ValueError, match="steps last 3700s"):
        Steps(users=1, seconds=370, count=10)
