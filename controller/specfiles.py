"""Service specs kept as files: read a file or a folder, check it, compare it.

A folder of specs is the desired state of a controller's services, kept in
git next to the code. Every file is read and validated before anything is
sent, so one bad file stops the whole folder; each error names the file,
the field and the value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaos.errors import ExperimentInvalid
from chaos.experiment import as_json, invalid, read_document, shown
from controller.spec import ServiceSpec

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


class SpecFileError(Exception):
    """A spec file that cannot be read or does not validate."""


@dataclass(frozen=True)
class SpecFile:
    """One validated spec and the file it came from."""

    path: Path
    spec: ServiceSpec
    body: dict[str, Any]  # the document as JSON would carry it

    @property
    def name(self) -> str:
        """The service the file declares."""
        return self.spec.name

    def wanted(self) -> dict[str, Any]:
        """The spec with every default filled in, as the controller shows it."""
        return self.spec.model_dump(mode="json")


def spec_paths(path: Path) -> list[Path]:
    """The spec files at ``path``: the file itself, or a folder's, by name."""
    if path.is_dir():
        return sorted(
            child
            for child in path.iterdir()
            if child.suffix in SPEC_SUFFIXES and child.is_file()
        )
    if path.exists():
        return [path]
    raise SpecFileError(f"spec path {str(path)!r} is neither a file nor a folder")


def read_specs(path: Path) -> list[SpecFile]:
    """Read and validate every spec at ``path``; refuse two files of one service."""
    paths = spec_paths(path)
    if not paths:
        raise SpecFileError(
            f"folder {str(path)!r} holds no spec files "
            f"({', '.join('*' + s for s in SPEC_SUFFIXES)})"
        )
    files = [read_spec(p) for p in paths]
    seen: dict[str, SpecFile] = {}
    for file in files:
        if file.name in seen:
            raise SpecFileError(
                f'{seen[file.name].path} and {file.path} both declare service "'
                f'{file.name}"; a service must be declared once'
            )
        seen[file.name] = file
    return files


def read_spec(path: Path) -> SpecFile:
    """Read and validate one spec file; SpecFileError naming the file if bad."""
    try:
        document = read_document(path, "spec")
        if not isinstance(document, dict):
            raise SpecFileError(
                f"{path}: a spec must be a mapping of fields, got {shown(document)}"
            )
        # Validated as the API will see it: the JSON text the CLI sends.
        body = json.loads(as_json(document, "spec"))
        spec = ServiceSpec.model_validate(body)
    except ExperimentInvalid as exc:
        # A read error names the file already; a size error does not.
        named = str(path) in exc.message
        message = exc.message if named else f"{path}: {exc.message}"
        raise SpecFileError(message) from None
    except ValidationError as exc:
        raise SpecFileError(f"{path}: {invalid(exc).message}") from None
    return SpecFile(path, spec, body)


def differences(held: Any, wanted: Any, at: str = "") -> list[str]:
    """Each field that differs between two specs, as ``field: old -> new``."""
    if isinstance(held, dict) and isinstance(wanted, dict):
        found: list[str] = []
        for key in sorted(held.keys() | wanted.keys()):
            where = f"{at}.{key}" if at else str(key)
            found += differences(held.get(key), wanted.get(key), where)
        return found
    is_lists = isinstance(held, list) and isinstance(wanted, list)
    if is_lists and len(held) == len(wanted):
        found = []
        for index, (old, new) in enumerate(zip(held, wanted, strict=True)):
            found += differences(old, new, f"{at}[{index}]")
        return found
    if held == wanted:
        return []
    return [f"{at or 'spec'}: {_value(held)} -> {_value(wanted)}"]


def _value(value: Any) -> str:
    """A value in a difference line: JSON, cut short; a missing one is '-'."""
    if value is None:
        return "-"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."
