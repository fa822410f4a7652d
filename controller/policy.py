"""The image policy: which repositories this controller may release from.

A policy is a list of repository patterns in which ``*`` stands for any run
of characters, ``/`` included: ``registry.local/team/*`` admits every
repository under ``registry.local/team/``. An empty policy admits every
repository. Tags and digests are never part of the match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from controller.errors import ImageNotAllowed

_PATTERN = re.compile(r"^[a-z0-9*][a-z0-9._/:*-]*$")


def repository_of(reference: str) -> str:
    """The repository of an image reference, without its tag or digest."""
    repository = reference.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return repository


def parse_patterns(raw: str) -> tuple[str, ...]:
    """Comma-separated repository patterns; ValueError names the bad one."""
    patterns = tuple(part.strip() for part in raw.split(","))
    if patterns == ("",):
        raise ValueError(
            "must list repository patterns such as bgctl-sample,registry.local/"
            f"team/*, got {raw!r}"
        )
    for pattern in patterns:
        _check_pattern(pattern, raw)
    return patterns


def _check_pattern(pattern: str, raw: str) -> None:
    if not pattern:
        raise ValueError(f"must not hold an empty pattern, got {raw!r}")
    if not _PATTERN.fullmatch(pattern):
        raise ValueError(
            "patterns may hold only a-z, 0-9, '.', '_', '-', '/', ':' and '*', "
            f"got {pattern!r}"
        )
    if ":" in pattern.rsplit("/", 1)[-1]:
        raise ValueError(f"patterns name repositories, not tags, got {pattern!r}")


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


@dataclass(frozen=True)
class ImagePolicy:
    """The repositories releases may come from; empty means every one."""

    patterns: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        """Whether every repository is allowed."""
        return not self.patterns

    def allows(self, reference: str) -> bool:
        """Whether the reference's repository matches one of the patterns."""
        if self.is_open:
            return True
        repository = repository_of(reference)
        return any(_regex(p).fullmatch(repository) for p in self.patterns)

    def check(self, reference: str) -> None:
        """Raise ImageNotAllowed unless the policy allows the reference."""
        if not self.allows(reference):
            raise ImageNotAllowed(reference, repository_of(reference), self.patterns)
