"""The CLI's client finds its token: given, else the local admin token."""

from __future__ import annotations

from pathlib import Path

from controller.client import find_token


def test_bgctl_token_comes_first(tmp_path: Path) -> None:
    (tmp_path / "admin.token").write_text("from-the-file\n")
    env = {"BGCTL_TOKEN": " given ", "BGCTL_STATE_DIR": str(tmp_path)}
    assert find_token(env) == "given"


def test_the_admin_token_of_the_state_directory_is_the_fallback(
    tmp_path: Path,
) -> None:
    (tmp_path / "admin.token").write_text("from-the-file\n")
    assert find_token({"BGCTL_STATE_DIR": str(tmp_path)}) == "from-the-file"


def test_no_token_anywhere_sends_none(tmp_path: Path) -> None:
    assert find_token({"BGCTL_STATE_DIR": str(tmp_path / "missing")}) is None
    (tmp_path / "admin.token").mkdir()
    assert find_token({"BGCTL_STATE_DIR": str(tmp_path)}) is None
