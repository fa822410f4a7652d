"""The settings of compose mode: the network, the proxy's host, an attached HAProxy."""

from __future__ import annotations

import pytest

from controller.settings import Settings, SettingsError


def test_host_mode_is_the_default() -> None:
    settings = Settings.from_env({})
    assert settings.network is None
    assert settings.haproxy_attached is False
    assert settings.proxy_host == "127.0.0.1"


def test_the_proxy_host_follows_the_bind_address_unless_given() -> None:
    assert Settings.from_env({"BGCTL_PROXY_BIND": "0.0.0.0"}).proxy_host == "127.0.0.1"
    assert Settings.from_env({"BGCTL_PROXY_BIND": "127.0.0.2"}).proxy_host == (
        "127.0.0.2"
    )
    given = {"BGCTL_PROXY_BIND": "0.0.0.0", "BGCTL_PROXY_HOST": "haproxy"}
    assert Settings.from_env(given).proxy_host == "haproxy"


def test_compose_mode_reads_the_network_and_an_attached_haproxy() -> None:
    settings = Settings.from_env(
        {"BGCTL_NETWORK": "bgctl_stack", "BGCTL_HAPROXY_ATTACHED": "true"}
    )
    assert settings.network == "bgctl_stack"
    assert settings.haproxy_attached is True


def test_a_bad_flag_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="BGCTL_HAPROXY_ATTACHED must be one of"):
        Settings.from_env({"BGCTL_HAPROXY_ATTACHED": "yes please"})
