"""Tokens in the settings: a file and a variable, read once, failing by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.settings import Settings, SettingsError

ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789ab"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"BGCTL_STATE_DIR": str(tmp_path), **env})


def test_no_tokens_are_configured_by_default(tmp_path: Path) -> None:
    assert settings(tmp_path).tokens == ()
    assert settings(tmp_path, BGCTL_TOKENS="", BGCTL_TOKENS_FILE="").tokens == ()


def test_the_file_and_the_variable_are_both_read(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"admin alice {ALICE}\n")
    found = settings(
        tmp_path, BGCTL_TOKENS_FILE=str(path), BGCTL_TOKENS=f"viewer bob {BOB}"
    ).tokens
    assert [(t.name, t.role.value) for t in found] == [
        ("alice", "admin"),
        ("bob", "viewer"),
    ]


def test_a_bad_line_fails_with_the_variable_the_file_and_the_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"admin alice {ALICE}\nviewer bob\n")
    with pytest.raises(SettingsError) as caught:
        settings(tmp_path, BGCTL_TOKENS_FILE=str(path))
    assert str(caught.value).startswith(f"BGCTL_TOKENS_FILE {path} line 2: ")


def test_a_missing_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^BGCTL_TOKENS_FILE: cannot read '/no"):
        settings(tmp_path, BGCTL_TOKENS_FILE="/nonexistent/tokens")


def test_a_file_without_tokens_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# nobody yet\n")
    with pytest.raises(SettingsError, match="holds no tokens"):
        settings(tmp_path, BGCTL_TOKENS_FILE=str(path))


def test_a_secret_in_both_places_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"admin alice {ALICE}\n")
    with pytest.raises(SettingsError, match=r"BGCTL_TOKENS entry 1: .* repeats"):
        settings(
            tmp_path, BGCTL_TOKENS_FILE=str(path), BGCTL_TOKENS=f"viewer bob {ALICE}"
        )
