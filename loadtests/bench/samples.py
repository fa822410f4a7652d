"""Samples: one line per request, as the load generator saw it.

A samples file is CSV with the header ``t,target,ms,ok``, one request a line:
the unix time it started (six decimals), the target it aimed at, its response
time in milliseconds (three decimals) and ``1`` or ``0`` for success. The
Locust recorder appends lines in this same format while a run goes on, so
``read_samples`` reads files that ``write_samples`` never saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HEADER = "t,target,ms,ok"
FLAGS = {"1": True, "0": False}


@dataclass(frozen=True, slots=True)
class Sample:
    """One request as the load generator saw it."""

    t: float  # unix time the request started
    target: str  # what it aimed at: "haproxy", "nginx", "direct", ...
    ms: float  # response time in milliseconds
    ok: bool  # False when the load generator counted the request as failed


def write_samples(path: Path, samples: Iterable[Sample]) -> None:
    """Write ``samples`` to ``path`` as CSV under ``HEADER``, replacing the file."""
    lines = [HEADER, *(format_sample(sample) for sample in samples)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def format_sample(sample: Sample) -> str:
    """One CSV line for ``sample``, without the line break."""
    if not sample.target or any(c in sample.target for c in ",\r\n"):
        raise ValueError(
            "a sample's target must be non-empty with no comma or line break, "
            f"got {sample.target!r}"
        )
    return f"{sample.t:.6f},{sample.target},{sample.ms:.3f},{int(sample.ok)}"


def read_samples(path: Path) -> list[Sample]:
    """Every sample in the CSV file at ``path``, sorted by start time.

    A missing file raises ``FileNotFoundError``; a wrong header or a line that
    does not parse raises ``ValueError`` naming the file, the line number and
    the line. Blank lines are skipped.
    """
    # Undecodable bytes become U+FFFD, so the line they spoil is the one named.
    with path.open(encoding="utf-8", errors="replace", newline="") as lines:
        header = next(lines, "").rstrip("\r\n")
        if header != HEADER:
            raise _bad_line(path, 1, header, f"expected the header {HEADER!r}")
        samples = [
            _parsed(path, number, line.rstrip("\r\n"))
            for number, line in enumerate(lines, start=2)
            if line.strip()
        ]
    samples.sort(key=lambda sample: sample.t)
    return samples


def _parsed(path: Path, number: int, line: str) -> Sample:
    fields = line.split(",")
    if len(fields) != 4:
        reason = f"expected 4 comma-separated fields, found {len(fields)}"
        raise _bad_line(path, number, line, reason)
    t, target, ms, ok = fields
    try:
        sample = Sample(t=_finite(t), target=target, ms=_finite(ms), ok=FLAGS[ok])
    except (ValueError, KeyError) as exc:
        reason = "expected a time, a target, milliseconds and 1 or 0"
        raise _bad_line(path, number, line, reason) from exc
    if not target or sample.ms < 0:
        reason = "expected a non-empty target and milliseconds of 0 or more"
        raise _bad_line(path, number, line, reason)
    return sample


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def _bad_line(path: Path, number: int, line: str, reason: str) -> ValueError:
    return ValueError(f"{path}: line {number}: {reason}, got {line!r}")
