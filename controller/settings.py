"""Controller settings, read once from the environment into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from controller.policy import parse_patterns
from controller.probes import local_host
from controller.tokens import Token, TokenError, distinct, parse_lines, parse_list

PREFIX = "BGCTL_"
PROXIES = ("haproxy", "nginx")  # the proxy drivers the controller can run
FLAGS = {"": False, "0": False, "false": False, "1": True, "true": True}


class SettingsError(Exception):
    """A setting is missing or has a bad value; names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the controller reads from its environment."""

    state_dir: Path
    api_host: str = "127.0.0.1"
    api_port: int = 7070
    proxy_bind: str = "127.0.0.1"
    proxy_host: str = "127.0.0.1"  # where the controller reaches the frontends
    publish_host: str = "127.0.0.1"
    network: str | None = None  # compose mode: replicas join this network
    fault_host: str | None = None  # where fault proxies listen; None: derived
    haproxy_bin: str = "haproxy"
    haproxy_attached: bool = False  # reload a master started elsewhere
    proxy: str = "haproxy"  # one of PROXIES
    nginx_bin: str = "nginx"
    stop_timeout: float = 10.0
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    allowed_images: tuple[str, ...] = ()  # repository patterns; empty: all
    tokens: tuple[Token, ...] = ()  # none: the state directory's admin token

    @property
    def database(self) -> Path:
        """The SQLite file holding services, releases and their timelines."""
        return self.state_dir / "bgctl.db"

    @property
    def api_url(self) -> str:
        """The URL clients reach the API at."""
        return f"http://{self.api_host}:{self.api_port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``BGCTL_*`` variables; raise SettingsError naming a bad one."""
        env = os.environ if environ is None else environ
        proxy_bind = env.get(PREFIX + "PROXY_BIND", "127.0.0.1")
        return cls(
            state_dir=Path(env.get(PREFIX + "STATE_DIR", ".bgctl")).absolute(),
            api_host=env.get(PREFIX + "API_HOST", "127.0.0.1"),
            api_port=_port(env, "API_PORT", 7070),
            proxy_bind=proxy_bind,
            proxy_host=env.get(PREFIX + "PROXY_HOST") or local_host(proxy_bind),
            publish_host=env.get(PREFIX + "PUBLISH_HOST", "127.0.0.1"),
            network=env.get(PREFIX + "NETWORK") or None,
            fault_host=env.get(PREFIX + "FAULT_HOST") or None,
            haproxy_bin=env.get(PREFIX + "HAPROXY_BIN", "haproxy"),
            haproxy_attached=_flag(env, "HAPROXY_ATTACHED"),
            proxy=_choice(env, "PROXY", PROXIES),
            nginx_bin=env.get(PREFIX + "NGINX_BIN", "nginx"),
            stop_timeout=_seconds(env, "STOP_TIMEOUT", 10.0),
            extra_labels=_labels(env, "EXTRA_LABELS"),
            allowed_images=_patterns(env, "ALLOWED_IMAGES"),
            tokens=_tokens(env, "TOKENS_FILE", "TOKENS"),
        )


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(PREFIX + key)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(
            f"{PREFIX}{key} must be a port from 1 to 65535, got {raw!r}"
        )
    return int(raw)


def _choice(env: Mapping[str, str], key: str, choices: tuple[str, ...]) -> str:
    raw = env.get(PREFIX + key, choices[0])
    if raw not in choices:
        raise SettingsError(
            f"{PREFIX}{key} must be one of {', '.join(choices)}, got {raw!r}"
        )
    return raw


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(PREFIX + key, "").strip().lower()
    if raw not in FLAGS:
        choices = ", ".join(sorted(filter(None, FLAGS)))
        raise SettingsError(
            f"{PREFIX}{key} must be one of {choices} or unset, got {raw!r}"
        )
    return FLAGS[raw]


def _seconds(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(PREFIX + key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise SettingsError(f"{PREFIX}{key} must be seconds >= 0, got {raw!r}")
    return value


def _labels(env: Mapping[str, str], key: str) -> dict[str, str]:
    """``k=v,k2=v2`` into a mapping; labels every container gets beside ours."""
    raw = env.get(PREFIX + key, "").strip()
    labels = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = pair.partition("=")
        if not sep or not name or name.startswith("bgctl.managed"):
            raise SettingsError(
                f"{PREFIX}{key} must be name=value pairs separated by commas, "
                f"got {pair!r}"
            )
        labels[name] = value
    return labels


def _patterns(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """Repository patterns; unset allows every repository."""
    raw = env.get(PREFIX + key)
    if raw is None:
        return ()
    try:
        return parse_patterns(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{key} {exc}") from exc


def _tokens(env: Mapping[str, str], file_key: str, list_key: str) -> tuple[Token, ...]:
    """Tokens from the file ``file_key`` names and the list in ``list_key``."""
    try:
        found = [
            *_token_file(env, file_key),
            *parse_list(env.get(PREFIX + list_key, ""), PREFIX + list_key),
        ]
        return tuple(distinct(found))
    except TokenError as exc:
        raise SettingsError(str(exc)) from exc


def _token_file(env: Mapping[str, str], key: str) -> list[Token]:
    raw = env.get(PREFIX + key, "").strip()
    if not raw:
        return []
    try:
        text = Path(raw).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{PREFIX}{key}: cannot read {raw!r}: {exc}") from exc
    found = parse_lines(text, f"{PREFIX}{key} {raw}")
    if not found:
        raise SettingsError(
            f"{PREFIX}{key}: {raw!r} holds no tokens; expected lines of "
            '"ROLE NAME TOKEN"'
        )
    return found
