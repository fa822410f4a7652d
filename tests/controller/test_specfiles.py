"""Reading a folder of service specs: all checked first, each error named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.specfiles import SpecFileError, differences, read_specs


def spec(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {"live": 18080, "preview": 18081, "blue": 18082, "green": 18083},
    }
    return body | changes


def test_a_folder_yields_its_yaml_and_json_specs_sorted_by_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "b.json").write_text(json.dumps(spec("api")))
    (tmp_path / "a.yml").write_text(yaml.safe_dump(spec("web")))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec("jobs")))
    (tmp_path / "notes.txt").write_text("not a spec")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "d.yaml").write_text(yaml.safe_dump(spec("deep")))
    files = read_specs(tmp_path)
    assert [f.path.name for f in files] == ["a.yml", "b.json", "c.yaml"]
    assert [f.name for f in files] == ["web", "api", "jobs"]


def test_a_single_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "web.spec"
    path.write_text(yaml.safe_dump(spec("web")))
    assert [f.name for f in read_specs(path)] == ["web"]


def test_a_bad_field_names_the_file_the_field_and_the_value(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(spec("web")))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(spec("api", replicas="three")))
    with pytest.raises(SpecFileError) as caught:
        read_specs(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "b.yaml") in message
    assert "replicas" in message
    assert "'three'" in message


def test_a_file_that_is_no_mapping_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- just\n- a list\n")
    with pytest.raises(SpecFileError, match=r"a\.yaml: a spec must be a mapping"):
        read_specs(tmp_path)


def test_unparseable_text_names_the_file_and_position(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"name": "web",\n')
    with pytest.raises(SpecFileError, match=r"a\.json.*\(line 2"):
        read_specs(tmp_path)


def test_two_files_of_one_service_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(spec("web")))
    (tmp_path / "two.json").write_text(json.dumps(spec("web")))
    with pytest.raises(SpecFileError) as caught:
        read_specs(tmp_path)
    assert "one.yaml" in str(caught.value)
    assert "two.json" in str(caught.value)
    assert '"web"' in str(caught.value)


def test_an_empty_folder_or_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="holds no spec files"):
        read_specs(tmp_path)
    with pytest.raises(SpecFileError, match="neither a file nor a folder"):
        read_specs(tmp_path / "missing")


def test_differences_list_each_changed_field_with_old_and_new_values() -> None:
    held = {"replicas": 2, "env": {"A": "1"}, "smoke": [{"path": "/"}]}
    wanted = {"replicas": 3, "env": {"A": "1", "B": "2"}, "smoke": [{"path": "/v"}]}
    assert differences(held, wanted) == [
        'env.B: - -> "2"',
        "replicas: 2 -> 3",
        'smoke[0].path: "/" -> "/v"',
    ]
    assert differences(held, held) == []


def test_a_validated_spec_carries_its_defaults_for_comparison(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(spec("web", deploy_timeout="30s")))
    (file,) = read_specs(path)
    assert file.wanted()["deploy_timeout"] == 30.0
    assert file.wanted()["replicas"] == 1
    assert file.body["deploy_timeout"] == "30s"
