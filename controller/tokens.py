"""Bearer tokens: the roles they carry, how they are written, how one is found.

A token is written as ``ROLE NAME TOKEN``, one to a line in the file named by
``BGCTL_TOKENS_FILE`` and one to a comma-separated entry in ``BGCTL_TOKENS``.
Only the token's SHA-256 digest is kept once it is read; a token presented
by a client is hashed the same way and compared with every digest in
constant time, so neither the secret nor its position leaks through timing.

Roles imply others; an arrow reads "may do everything the next one may"::

    admin ──> deployer ──> viewer
      └─────> sre ───────────┘
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
SECRET_RULE = "16-256 characters of A-Z, a-z, 0-9 and . _ ~ + / = -"


class TokenError(ValueError):
    """A written token is malformed; the message says where, never the secret."""


class Role(enum.StrEnum):
    """What a token may do; see ``allows`` for which roles imply which."""

    VIEWER = "viewer"  # every read: services, releases, the audit log
    DEPLOYER = "deployer"  # create, promote, roll back and abort releases
    SRE = "sre"  # chaos experiments and their schedules
    ADMIN = "admin"  # register and update services, and everything else

    def allows(self, needed: Role) -> bool:
        """Whether a token of this role may do what ``needed`` may."""
        return needed in _IMPLIED[self]


_IMPLIED: dict[Role, frozenset[Role]] = {
    Role.VIEWER: frozenset({Role.VIEWER}),
    Role.DEPLOYER: frozenset({Role.DEPLOYER, Role.VIEWER}),
    Role.SRE: frozenset({Role.SRE, Role.VIEWER}),
    Role.ADMIN: frozenset(Role),
}


@dataclass(frozen=True)
class Token:
    """An issued token: who holds it, their role, and the secret's digest."""

    name: str
    role: Role
    digest: bytes = field(repr=False)
    source: str = field(default="", compare=False)  # where it was written


def digest(secret: str) -> bytes:
    """The SHA-256 digest a secret is kept and compared as."""
    return hashlib.sha256(secret.encode()).digest()


def issue(role: Role, name: str, secret: str, where: str) -> Token:
    """A token from its three parts; TokenError naming ``where`` if one is bad."""
    if not NAME_PATTERN.fullmatch(name):
        raise TokenError(
            f"{where}: the name must be 1-64 characters of letters, digits and "
            f". _ @ -, starting with a letter or digit, got {name!r}"
        )
    if not SECRET_PATTERN.fullmatch(secret):
        # The secret itself is never quoted: error messages end up in logs.
        raise TokenError(
            f'{where}: the token of "{name}" must be {SECRET_RULE}, '
            f"got {len(secret)} characters"
        )
    return Token(name, role, digest(secret), where)


def parse_entry(text: str, where: str) -> Token:
    """One ``ROLE NAME TOKEN`` entry."""
    fields = text.split()
    if len(fields) != 3:
        raise TokenError(
            f'{where}: expected "ROLE NAME TOKEN" separated by spaces, '
            f"got {len(fields)} fields"
        )
    role, name, secret = fields
    try:
        found = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise TokenError(
            f"{where}: the role must be one of {roles}, got {role!r}"
        ) from None
    return issue(found, name, secret, where)


def parse_lines(text: str, source: str) -> list[Token]:
    """Tokens from a file's text; blank lines and ``#`` comments are skipped."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.partition("#")[0].strip()
        if entry:
            entries.append((entry, f"{source} line {number}"))
    return distinct(parse_entry(entry, where) for entry, where in entries)


def parse_list(text: str, source: str) -> list[Token]:
    """Tokens from comma-separated entries, as an environment variable holds them."""
    entries = [part.strip() for part in text.replace("\n", ",").split(",")]
    return distinct(
        parse_entry(entry, f"{source} entry {index}")
        for index, entry in enumerate(entries, start=1)
        if entry
    )


def distinct(tokens: Iterable[Token]) -> list[Token]:
    """The tokens, refusing a secret written twice, even under the same name."""
    kept: dict[bytes, Token] = {}
    for token in tokens:
        if token.digest in kept:
            first = kept[token.digest]
            raise TokenError(
                f'{token.source}: the token of "{token.name}" repeats the token '
                f'of "{first.name}" from {first.source}; every token must differ'
            )
        kept[token.digest] = token
    return list(kept.values())


class Keyring:
    """The issued tokens, as digests; finds the token a client presented."""

    def __init__(self, tokens: Iterable[Token]) -> None:
        self._tokens = tuple(tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def identify(self, secret: str) -> Token | None:
        """The token whose secret this is, or None.

        Every digest is compared, with ``hmac.compare_digest``, even after a
        match, so the time taken does not depend on the secret.
        """
        presented = digest(secret)
        found = None
        for token in self._tokens:
            if hmac.compare_digest(presented, token.digest):
                found = token
        return found
