"""The CLI sends its token and turns 401 and 403 into exit code 2."""

from __future__ import annotations

from tests.harness import Controller, service_spec, unique_name


def test_the_cli_sends_the_token_in_bgctl_token(controller: Controller) -> None:
    name = unique_name()
    controller.register(service_spec(name))

    viewer = controller.cli("status", BGCTL_TOKEN=controller.tokens["viewer"])
    assert viewer.returncode == 0, viewer.stderr
    assert name in viewer.stdout

    refused = controller.cli("promote", name, BGCTL_TOKEN=controller.tokens["viewer"])
    assert refused.returncode == 2
    assert 'error: token "grafana" has role viewer' in refused.stderr
    assert "needs role deployer or admin" in refused.stderr


def test_the_cli_without_a_token_is_refused_with_exit_code_2(
    controller: Controller,
) -> None:
    missing = controller.cli("status")
    assert missing.returncode == 2
    assert "needs a bearer token of role viewer" in missing.stderr
    unknown = controller.cli("status", BGCTL_TOKEN="0123456789abcdef-unknown")
    assert unknown.returncode == 2
    assert "not one the controller issued" in unknown.stderr


def test_the_token_option_ships_a_release_and_the_audit_shows_it(
    controller: Controller,
) -> None:
    name = unique_name()
    controller.register(service_spec(name))
    deployer = controller.tokens["deployer"]

    shipped = controller.cli("deploy", name, "v1", "--wait", "--token", deployer)
    assert shipped.returncode == 0, shipped.stderr
    listed = controller.cli(
        "audit", "--service", name, BGCTL_TOKEN=controller.tokens["viewer"]
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert " ci " in lines[0] and " POST " in lines[0] and " 202 " in lines[0]
    assert " pytest " in lines[1] and " PUT " in lines[1]
