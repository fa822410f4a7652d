"""Tokens are parsed strictly, kept as digests and compared in constant time."""

from __future__ import annotations

import hmac

import pytest

from controller import tokens
from controller.tokens import Keyring, Role, TokenError, parse_lines, parse_list

ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789ab"

FILE = f"""\
# role name token
admin alice {ALICE}

viewer grafana {BOB}  # read-only dashboards
"""


def test_a_file_gives_one_token_per_line_without_comments() -> None:
    found = parse_lines(FILE, "tokens")
    assert [(t.name, t.role) for t in found] == [
        ("alice", Role.ADMIN),
        ("grafana", Role.VIEWER),
    ]
    assert [t.source for t in found] == ["tokens line 2", "tokens line 4"]


def test_only_the_digest_of_a_secret_is_kept() -> None:
    (token,) = parse_lines(f"admin alice {ALICE}", "tokens")
    assert token.digest == tokens.digest(ALICE)
    assert ALICE not in repr(token)
    assert ALICE not in str(vars(token))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("admin alice", 'expected "ROLE NAME TOKEN" separated by spaces, got 2 fields'),
        (f"boss alice {ALICE}", "the role must be one of viewer, deployer, sre, admin"),
        (f"admin al/ice {ALICE}", "the name must be"),
        ("admin alice short", 'the token of "alice" must be 16-256 characters'),
        (f"admin alice {ALICE}!", 'the token of "alice" must be'),
    ],
)
def test_a_bad_line_is_named_by_its_number(line: str, expected: str) -> None:
    text = f"# header\nviewer grafana {BOB}\n{line}\n"
    with pytest.raises(TokenError) as caught:
        parse_lines(text, "BGCTL_TOKENS_FILE /etc/bgctl/tokens")
    message = str(caught.value)
    assert message.startswith("BGCTL_TOKENS_FILE /etc/bgctl/tokens line 3: ")
    assert expected in message
    assert ALICE not in message


def test_a_bad_role_is_quoted() -> None:
    with pytest.raises(TokenError, match="got 'boss'"):
        parse_lines(f"boss alice {ALICE}", "tokens")


def test_a_secret_written_twice_names_both_places() -> None:
    text = f"admin alice {ALICE}\nviewer bob {ALICE}\n"
    with pytest.raises(TokenError) as caught:
        parse_lines(text, "tokens")
    assert str(caught.value) == (
        'tokens line 2: the token of "bob" repeats the token of "alice" from '
        "tokens line 1; every token must differ"
    )


def test_a_list_takes_comma_separated_entries_and_names_a_bad_one() -> None:
    found = parse_list(f"admin alice {ALICE}, viewer grafana {BOB},", "BGCTL_TOKENS")
    assert [t.name for t in found] == ["alice", "grafana"]
    with pytest.raises(TokenError, match=r"^BGCTL_TOKENS entry 2: "):
        parse_list(f"admin alice {ALICE}, viewer grafana", "BGCTL_TOKENS")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, {Role.ADMIN, Role.DEPLOYER, Role.SRE, Role.VIEWER}),
        (Role.DEPLOYER, {Role.DEPLOYER, Role.VIEWER}),
        (Role.SRE, {Role.SRE, Role.VIEWER}),
        (Role.VIEWER, {Role.VIEWER}),
    ],
)
def test_roles_imply_the_roles_below_them(role: Role, allowed: set[Role]) -> None:
    assert {needed for needed in Role if role.allows(needed)} == allowed


def test_a_keyring_finds_the_token_of_a_secret() -> None:
    keyring = Keyring(parse_lines(FILE, "tokens"))
    found = keyring.identify(BOB)
    assert found is not None and found.name == "grafana"
    assert keyring.identify("not-a-token-at-all-0000") is None
    assert keyring.identify("") is None


def test_every_digest_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    keyring = Keyring(parse_lines(FILE, "tokens"))
    assert keyring.identify(ALICE) is not None
    # Even after the first token matched, the second was compared too.
    assert len(compared) == 2
    assert all(a == tokens.digest(ALICE) for a, _ in compared)
