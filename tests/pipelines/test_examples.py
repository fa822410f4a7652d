"""The pipeline examples parse, and each deploy stage ends in verify.sh."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

FOLDER = Path(__file__).parents[2] / "examples" / "pipelines"
VERIFY = "examples/pipelines/verify.sh"


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_the_workflow_parses_and_verifies_after_deploy_and_promote() -> None:
    workflow = yaml.safe_load((FOLDER / "github-actions.yml").read_text())
    runs = [step.get("run", "") for step in steps(workflow)]
    deploy = next(i for i, r in enumerate(runs) if "bgctl deploy" in r)
    promote = next(i for i, r in enumerate(runs) if "bgctl promote" in r)
    verify = next(i for i, r in enumerate(runs) if VERIFY in r)
    assert "--wait" in runs[deploy]
    assert deploy < promote < verify
    assert "docker build" in "".join(runs[:deploy])


def test_the_workflow_rolls_back_only_when_verification_failed() -> None:
    workflow = yaml.safe_load((FOLDER / "github-actions.yml").read_text())
    rollback = next(s for s in steps(workflow) if "bgctl rollback" in s.get("run", ""))
    assert "steps.verify.outcome == 'failure'" in rollback["if"]


def test_the_jenkinsfile_builds_deploys_and_verifies_in_order() -> None:
    text = (FOLDER / "Jenkinsfile").read_text()
    order = ["docker build", "bgctl deploy", "bgctl promote", VERIFY]
    positions = [text.index(step) for step in order]
    assert positions == sorted(positions)
    assert "--wait" in text


def test_the_verification_script_is_executable_posix_shell() -> None:
    script = FOLDER / "verify.sh"
    assert script.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(script)], check=True, timeout=10)
