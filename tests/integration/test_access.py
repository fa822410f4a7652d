"""Roles and the audit log on a real controller process."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import (
    Controller,
    controller_fixture,
    free_port,
    service_spec,
    unique_name,
)


@pytest.fixture
def fresh_controller() -> Iterator[Controller]:
    """A controller started with no token configured at all."""
    yield from controller_fixture(with_tokens=False)


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] and error["message"]
    return error


def test_each_role_may_do_only_what_it_allows(controller: Controller) -> None:
    name = unique_name()
    spec = service_spec(name)
    path = f"/api/v1/services/{name}"

    anonymous = controller.api("GET", "/api/v1/services", role=None)
    assert error_of(anonymous, 401)["required_role"] == "viewer"
    by_deployer = controller.api("PUT", path, role="deployer", json=spec)
    assert error_of(by_deployer, 403)["required_role"] == "admin"
    controller.register(spec)
    by_viewer = controller.api("POST", f"{path}/promote", role="viewer")
    assert error_of(by_viewer, 403)["required_role"] == "deployer"
    by_sre = controller.api("POST", f"{path}/releases", role="sre", json={})
    assert error_of(by_sre, 403)["required_role"] == "deployer"

    assert controller.api("GET", path, role="viewer").status_code == 200
    assert controller.api("GET", "/healthz", role=None).status_code == 200


def test_the_audit_log_names_the_token_and_the_release(
    controller: Controller,
) -> None:
    name = unique_name()
    path = f"/api/v1/services/{name}"
    controller.register(service_spec(name))
    created = controller.api(
        "POST", f"{path}/releases", role="deployer", json={"image": "v1"}
    )
    assert created.status_code == 202, created.text
    release = created.json()
    controller.wait_phase(release, {"AwaitingPromotion"})
    refused = controller.api("POST", f"{path}/promote", role="viewer")
    promoted = controller.api("POST", f"{path}/promote", role="deployer")
    assert (refused.status_code, promoted.status_code) == (403, 200)

    entries = controller.api("GET", f"/api/v1/audit?service={name}", role="viewer")
    assert [
        (e["actor"], e["method"], e["path"], e["status"], e["outcome"], e["release"])
        for e in entries.json()
    ] == [
        ("ci", "POST", f"{path}/promote", 200, "succeeded", release["id"]),
        ("grafana", "POST", f"{path}/promote", 403, "forbidden", None),
        ("ci", "POST", f"{path}/releases", 202, "succeeded", release["id"]),
        ("pytest", "PUT", path, 201, "succeeded", None),
    ]
    timeline = controller.wait_phase(release, {"Live"})["timeline"]
    assert {e["actor"] for e in timeline if e["phase"] == "Promoting"} == {"ci"}


def test_a_fresh_install_makes_a_private_admin_token_the_cli_reads(
    fresh_controller: Controller,
) -> None:
    token_file = fresh_controller.state_dir / "admin.token"
    secret = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert str(token_file) in fresh_controller.log_tail(200)
    assert secret not in fresh_controller.log_tail(200)

    anonymous = fresh_controller.api("GET", "/api/v1/services", role=None)
    assert anonymous.status_code == 401
    listed = fresh_controller.cli(
        "status", BGCTL_STATE_DIR=str(fresh_controller.state_dir)
    )
    assert (listed.returncode, listed.stdout) == (0, "no services registered\n")


def test_a_bad_tokens_file_stops_the_start_naming_the_line(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("admin pytest 0123456789abcdef0123\nviewer grafana\n")
    env = {
        "BGCTL_STATE_DIR": str(tmp_path / "state"),
        "BGCTL_API_PORT": str(free_port()),
        "BGCTL_TOKENS_FILE": str(tokens),
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "controller", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"BGCTL_TOKENS_FILE {tokens} line 2: expected" in result.stderr
    assert not (tmp_path / "state" / "admin.token").exists()
