"""The release lifecycle: phases and the transitions allowed between them."""

from __future__ import annotations

import enum

SYSTEM = "bgctl"
"""The actor of every transition the controller makes on its own."""


class Phase(enum.StrEnum):
    """Where a release stands."""

    PENDING = "Pending"  # accepted, image resolved, nothing started
    DEPLOYING = "Deploying"  # idle colour's replicas starting, waiting ready
    VERIFYING = "Verifying"  # preview points at the idle colour, smoke checks
    AWAITING_PROMOTION = "AwaitingPromotion"  # verified, waiting for a human
    PROMOTING = "Promoting"  # live flipping to the new colour, confirming
    POST_VERIFYING = "PostVerifying"  # live on it, watched; a breach flips back
    LIVE = "Live"  # serving live traffic
    SUPERSEDED = "Superseded"  # was live; a newer release took over
    FAILED = "Failed"  # stopped by an error; live never moved to it
    ABORTED = "Aborted"  # stopped by a person before it went live
    ROLLED_BACK = "RolledBack"  # was live; traffic went back to the previous one

    @property
    def is_in_flight(self) -> bool:
        """Whether the release still holds the service's release slot."""
        return self in _IN_FLIGHT

    @property
    def is_terminal(self) -> bool:
        """Whether no transition leaves this phase."""
        return not _TRANSITIONS[self]


_IN_FLIGHT = frozenset(
    {
        Phase.PENDING,
        Phase.DEPLOYING,
        Phase.VERIFYING,
        Phase.AWAITING_PROMOTION,
        Phase.PROMOTING,
        Phase.POST_VERIFYING,
    }
)

_STOPPED = {Phase.FAILED, Phase.ABORTED}

_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.PENDING: frozenset({Phase.DEPLOYING, *_STOPPED}),
    Phase.DEPLOYING: frozenset({Phase.VERIFYING, *_STOPPED}),
    Phase.VERIFYING: frozenset({Phase.AWAITING_PROMOTION, Phase.PROMOTING, *_STOPPED}),
    Phase.AWAITING_PROMOTION: frozenset({Phase.PROMOTING, *_STOPPED}),
    Phase.PROMOTING: frozenset({Phase.POST_VERIFYING, Phase.LIVE, *_STOPPED}),
    Phase.POST_VERIFYING: frozenset({Phase.LIVE, Phase.ROLLED_BACK, *_STOPPED}),
    Phase.LIVE: frozenset({Phase.SUPERSEDED, Phase.ROLLED_BACK}),
    # A rollback makes the release it returns to live again.
    Phase.SUPERSEDED: frozenset({Phase.LIVE}),
    Phase.ROLLED_BACK: frozenset(),
    Phase.FAILED: frozenset(),
    Phase.ABORTED: frozenset(),
}


class IllegalTransition(Exception):
    """A release was asked to move to a phase its current one cannot reach."""

    def __init__(self, release_id: str, current: Phase, target: Phase) -> None:
        super().__init__(
            f"release {release_id} is {current.value} and cannot become {target.value}"
        )
        self.release_id = release_id
        self.current = current
        self.target = target


def check_transition(release_id: str, current: Phase, target: Phase) -> None:
    """Raise IllegalTransition unless ``current`` may move to ``target``."""
    if target not in _TRANSITIONS[current]:
        raise IllegalTransition(release_id, current, target)
