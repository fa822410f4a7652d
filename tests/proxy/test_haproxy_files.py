"""The driver's files: where they live and how they are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.files import read_text, write_atomically
from proxy.haproxy.files import DriverFiles


def test_every_file_lives_in_the_driver_directory(tmp_path: Path) -> None:
    files = DriverFiles.under(tmp_path)

    assert {path.parent for path in vars(files).values()} == {tmp_path}


def test_a_directory_too_deep_for_a_socket_is_refused_with_its_path() -> None:
    deep = Path("/") / ("d" * 100)

    with pytest.raises(ValueError, match="d" * 100):
        DriverFiles.under(deep)


def test_an_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "haproxy.cfg"
    target.write_text("old and longer\n")

    write_atomically(target, "new\n")

    assert read_text(target) == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["haproxy.cfg"]


def test_reading_a_missing_file_gives_nothing(tmp_path: Path) -> None:
    assert read_text(tmp_path / "missing") is None
