"""Samples files: written and read back, and read from another writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.bench.samples import HEADER, Sample, read_samples, write_samples


def test_written_samples_read_back_sorted_by_start(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    late = Sample(t=1_800_000_001.25, target="nginx", ms=3.5, ok=False)
    early = Sample(t=1_800_000_000.5, target="haproxy", ms=12.125, ok=True)
    write_samples(path, [late, early])
    assert path.read_text().splitlines() == [
        HEADER,
        "1800000001.250000,nginx,3.500,0",
        "1800000000.500000,haproxy,12.125,1",
    ]
    assert read_samples(path) == [early, late]


def test_a_file_from_another_writer_is_read(tmp_path: Path) -> None:
    path = tmp_path / "recorded.csv"
    path.write_text(f"{HEADER}\r\n1.5,direct,2,1\r\n\r\n1.0,direct,4.0,0\r\n")
    assert read_samples(path) == [
        Sample(t=1.0, target="direct", ms=4.0, ok=False),
        Sample(t=1.5, target="direct", ms=2.0, ok=True),
    ]


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_samples(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("t,ms\n", "line 1: expected the header 't,target,ms,ok', got 't,ms'"),
        ("", "line 1: expected the header"),
        (f"{HEADER}\n1.0,direct,2.0\n", "line 2: expected 4 comma-separated"),
        (f"{HEADER}\n1.0,direct,2.0,1\nsoon,direct,2.0,1\n", "line 3: expected a"),
        (f"{HEADER}\n1.0,direct,2.0,yes\n", "got '1.0,direct,2.0,yes'"),
        (f"{HEADER}\n1.0,direct,nan,1\n", "line 2: expected a time"),
        (f"{HEADER}\n1.0,,2.0,1\n", "line 2: expected a non-empty target"),
        (f"{HEADER}\n1.0,direct,-2.0,1\n", "milliseconds of 0 or more"),
    ],
)
def test_a_bad_line_is_named_with_file_number_and_text(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        read_samples(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)


def test_a_target_that_would_break_the_csv_is_refused(tmp_path: Path) -> None:
    odd = Sample(t=1.0, target="a,b", ms=1.0, ok=True)
    with pytest.raises(ValueError, match="no comma or line break, got 'a,b'"):
        write_samples(tmp_path / "samples.csv", [odd])
