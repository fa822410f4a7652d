"""bgctl apply on a folder: every file checked first, then each service synced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.harness import (
    Controller,
    free_port,
    service_spec,
    unique_name,
)

# Every test here only registers services, so one controller serves them all.


def apply(
    controller: Controller, *args: str, role: str = "admin"
) -> subprocess.CompletedProcess[str]:
    return controller.cli("apply", *args, BGCTL_TOKEN=controller.tokens[role])


def write(folder: Path, file: str, spec: dict[str, Any], track: Controller) -> None:
    track.services.add(spec["name"])  # so the fixture removes what it runs
    text = json.dumps(spec) if file.endswith(".json") else yaml.safe_dump(spec)
    (folder / file).write_text(text)


def test_a_folder_is_created_then_unchanged_then_updated_field_by_field(
    module_controller: Controller, tmp_path: Path
) -> None:
    web, api = service_spec(unique_name()), service_spec(unique_name(), replicas=1)
    write(tmp_path, "a-web.yaml", web, module_controller)
    write(tmp_path, "b-api.json", api, module_controller)
    first = apply(module_controller, str(tmp_path), "--json")
    assert first.returncode == 0, first.stderr
    assert [(r["service"], r["outcome"]) for r in json.loads(first.stdout)] == [
        (web["name"], "created"),
        (api["name"], "created"),
    ]
    again = apply(module_controller, str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("unchanged") == 2
    write(tmp_path, "b-api.json", api | {"replicas": 2}, module_controller)
    changed = apply(module_controller, str(tmp_path), "--json")
    results = {r["service"]: r for r in json.loads(changed.stdout)}
    assert results[web["name"]]["outcome"] == "unchanged"
    assert results[api["name"]]["outcome"] == "updated"
    assert results[api["name"]]["changes"] == ["replicas: 1 -> 2"]
    assert module_controller.status(api["name"])["spec"]["replicas"] == 2


def test_a_dry_run_reports_the_changes_and_applies_nothing(
    module_controller: Controller, tmp_path: Path
) -> None:
    spec = service_spec(unique_name())
    module_controller.register(spec)
    write(tmp_path, "web.yaml", spec | {"env": {"GREETING": "hi"}}, module_controller)
    new = service_spec(unique_name())
    write(tmp_path, "zz-new.yaml", new, module_controller)
    result = apply(module_controller, str(tmp_path), "--dry-run", role="viewer")
    assert result.returncode == 0, result.stderr
    assert 'env.GREETING: - -> "hi"' in result.stdout
    assert "created" in result.stdout
    assert "dry run: nothing was applied" in result.stdout
    assert module_controller.status(spec["name"])["spec"]["env"] == {}
    missing = module_controller.api("GET", f"/api/v1/services/{new['name']}")
    assert missing.status_code == 404


def test_one_bad_file_stops_the_whole_folder_before_any_request(
    module_controller: Controller, tmp_path: Path
) -> None:
    good = service_spec(unique_name())
    write(tmp_path, "a.yaml", good, module_controller)
    write(
        tmp_path, "b.yaml", service_spec(unique_name(), replicas=99), module_controller
    )
    result = apply(module_controller, str(tmp_path))
    assert result.returncode == 2
    assert "b.yaml" in result.stderr
    assert "replicas" in result.stderr and "99" in result.stderr
    assert (
        module_controller.api("GET", f"/api/v1/services/{good['name']}").status_code
        == 404
    )


def test_a_refused_service_exits_2_naming_its_file(
    module_controller: Controller, tmp_path: Path
) -> None:
    spec = service_spec(unique_name())
    write(tmp_path, "web.yaml", spec, module_controller)
    result = apply(module_controller, str(tmp_path), role="viewer")
    assert result.returncode == 2
    assert "web.yaml" in result.stderr


def test_an_unreachable_controller_exits_3(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(service_spec(unique_name())))
    env = dict(os.environ, BGCTL_URL=f"http://127.0.0.1:{free_port()}")
    result = subprocess.run(
        [sys.executable, "-m", "controller", "apply", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "web.yaml" in result.stderr and "cannot reach" in result.stderr
