"""The runtime API commands that take running servers to a plan.

Only what differs is changed, so applying the same plan twice sends
nothing. The order keeps a frontend serving through a flip:

1. move the servers that will take traffic to their new addresses;
2. ready the servers of the colour that now serves;
3. drain the servers of the colour that no longer serves;
4. put servers without a replica in maintenance;
5. park those at the placeholder address, so a reload's state file and
   the rendered configuration agree on every address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from proxy.errors import CommandFailed
from proxy.haproxy.layout import ServerPlan, ServerState
from proxy.haproxy.runtime import Command, ServerStatus, set_address, set_state

ServerKey = tuple[str, str]


def sync_commands(
    plans: Sequence[ServerPlan], current: Mapping[ServerKey, ServerStatus]
) -> list[Command]:
    """Commands that bring ``current`` to ``plans``, in a safe order."""
    pairs = [(plan, current_of(plan, current)) for plan in plans]
    serving = [(p, c) for p, c in pairs if p.state is not ServerState.MAINT]
    parked = [(p, c) for p, c in pairs if p.state is ServerState.MAINT]
    return [
        *address_commands(serving),
        *state_commands(pairs, ServerState.READY),
        *state_commands(pairs, ServerState.DRAIN),
        *state_commands(pairs, ServerState.MAINT),
        *address_commands(parked),
    ]


def address_commands(pairs: Sequence[tuple[ServerPlan, ServerStatus]]) -> list[Command]:
    """``set server addr`` for every server not at its target address."""
    return [
        set_address(plan.backend, plan.server, plan.target)
        for plan, status in pairs
        if status.address != plan.target
    ]


def state_commands(
    pairs: Sequence[tuple[ServerPlan, ServerStatus]], state: ServerState
) -> list[Command]:
    """``set server state`` for every server that should be, but is not, in it."""
    return [
        set_state(plan.backend, plan.server, state)
        for plan, status in pairs
        if plan.state is state and status.state is not state
    ]


def mismatches(
    plans: Sequence[ServerPlan], current: Mapping[ServerKey, ServerStatus]
) -> list[str]:
    """How running servers differ from ``plans``, one sentence each."""
    found = []
    for plan in plans:
        status = current_of(plan, current)
        if status.address != plan.target or status.state is not plan.state:
            found.append(
                f"{plan.backend}/{plan.server} is {status.state} at "
                f"{status.address}, expected {plan.state} at {plan.target}"
            )
    return found


def current_of(
    plan: ServerPlan, current: Mapping[ServerKey, ServerStatus]
) -> ServerStatus:
    """The running status of a planned server; it must exist."""
    try:
        return current[(plan.backend, plan.server)]
    except KeyError:
        raise CommandFailed(
            f"set server {plan.backend}/{plan.server}",
            "the running configuration has no such server",
        ) from None
