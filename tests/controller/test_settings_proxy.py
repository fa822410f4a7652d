"""Choosing the proxy driver through the environment."""

from __future__ import annotations

import pytest

from controller.settings import Settings, SettingsError


def test_haproxy_is_the_default_and_nginx_can_be_chosen() -> None:
    assert Settings.from_env({}).proxy == "haproxy"
    chosen = Settings.from_env({"BGCTL_PROXY": "nginx", "BGCTL_NGINX_BIN": "/x/nginx"})
    assert (chosen.proxy, chosen.nginx_bin) == ("nginx", "/x/nginx")


def test_an_unknown_proxy_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="BGCTL_PROXY must be one of"):
        Settings.from_env({"BGCTL_PROXY": "envoy"})
