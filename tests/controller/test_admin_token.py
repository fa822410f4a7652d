"""A controller without configured tokens makes one admin token, and only one."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pytest

from controller.admin_token import admin_token, keyring_for
from controller.settings import Settings, SettingsError
from controller.tokens import Role, parse_list

ALICE = "alice-secret-0123456789"


def test_a_fresh_state_directory_gets_a_private_admin_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    keyring = keyring_for(Settings(state_dir=tmp_path / "state"))

    path = tmp_path / "state" / "admin.token"
    secret = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = keyring.identify(secret)
    assert found is not None and (found.name, found.role) == ("admin", Role.ADMIN)
    assert str(path) in caplog.text
    assert secret not in caplog.text


def test_the_admin_token_is_kept_across_starts(tmp_path: Path) -> None:
    first = admin_token(tmp_path)
    second = admin_token(tmp_path)
    assert first.digest == second.digest


def test_configured_tokens_replace_the_admin_token(tmp_path: Path) -> None:
    tokens = tuple(parse_list(f"admin alice {ALICE}", "BGCTL_TOKENS"))
    keyring = keyring_for(Settings(state_dir=tmp_path, tokens=tokens))
    assert len(keyring) == 1
    assert not (tmp_path / "admin.token").exists()


def test_a_damaged_admin_token_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    path.write_text("too short\n")
    with pytest.raises(SettingsError, match=f"^{re.escape(str(path))}: "):
        admin_token(tmp_path)


def test_a_token_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    admin_token(tmp_path)
    (tmp_path / "admin.token").chmod(0o644)
    admin_token(tmp_path)
    assert "can be read by others (mode 644)" in caplog.text
