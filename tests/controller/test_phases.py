"""The release lifecycle allows exactly the documented transitions."""

import itertools

import pytest

from controller.phases import IllegalTransition, Phase, check_transition


def test_the_happy_path_is_allowed() -> None:
    path = [
        Phase.PENDING,
        Phase.DEPLOYING,
        Phase.VERIFYING,
        Phase.AWAITING_PROMOTION,
        Phase.PROMOTING,
        Phase.LIVE,
        Phase.SUPERSEDED,
    ]
    for current, target in itertools.pairwise(path):
        check_transition("r1", current, target)


@pytest.mark.parametrize(
    "phase", [Phase.PENDING, Phase.DEPLOYING, Phase.VERIFYING, Phase.PROMOTING]
)
def test_any_step_before_live_can_fail(phase: Phase) -> None:
    check_transition("r1", phase, Phase.FAILED)


def test_an_illegal_transition_names_the_current_phase() -> None:
    with pytest.raises(IllegalTransition, match="is Failed and cannot become Live"):
        check_transition("r1", Phase.FAILED, Phase.LIVE)


def test_deploying_cannot_skip_verification() -> None:
    with pytest.raises(IllegalTransition):
        check_transition("r1", Phase.DEPLOYING, Phase.PROMOTING)


def test_failed_and_aborted_are_terminal_and_not_in_flight() -> None:
    for phase in (Phase.FAILED, Phase.ABORTED):
        assert phase.is_terminal
        assert not phase.is_in_flight
    assert Phase.AWAITING_PROMOTION.is_in_flight
