"""The admin token a fresh install makes for itself, so it is never open.

When the settings name no token at all, the controller writes one admin
token to ``<state dir>/admin.token`` (mode 0600) at its first start and
reads it back at every later one. The local user, who owns the state
directory, can read it; the CLI does so by default. The token itself is
never logged, only where it is.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from controller.settings import Settings, SettingsError
from controller.tokens import Keyring, Role, Token, TokenError, issue

log = logging.getLogger(__name__)

FILE_NAME = "admin.token"
ADMIN_NAME = "admin"


def keyring_for(settings: Settings) -> Keyring:
    """The tokens the settings name, or else the state directory's admin token."""
    if settings.tokens:
        log.info("accepting %d bearer tokens from settings", len(settings.tokens))
        return Keyring(settings.tokens)
    return Keyring([admin_token(settings.state_dir)])


def admin_token(state_dir: Path) -> Token:
    """Read the admin token of ``state_dir``, writing a new one the first time."""
    path = state_dir / FILE_NAME
    try:
        secret = _read(path)
    except FileNotFoundError:
        secret = _create(path)
        log.info("no tokens configured; wrote a new admin token to %s", path)
    else:
        log.info("no tokens configured; using the admin token in %s", path)
    try:
        return issue(Role.ADMIN, ADMIN_NAME, secret, str(path))
    except TokenError as exc:
        raise SettingsError(
            f"{exc}; remove the file to have a new one made, or set BGCTL_TOKENS"
        ) from exc


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "the admin token in %s can be read by others (mode %o); chmod 600 it",
            path,
            mode,
        )
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the admin token in {path}: {exc}") from exc


def _create(path: Path) -> str:
    secret = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process made it between our look and our write: use theirs.
        return _read(path)
    except OSError as exc:
        raise SettingsError(f"cannot write an admin token to {path}: {exc}") from exc
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret
