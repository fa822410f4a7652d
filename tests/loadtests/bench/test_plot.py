"""The flip-under-load picture is drawn to a PNG file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loadtests.bench.plot import plot_flips
from loadtests.bench.samples import Sample

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = 1_800_000_000.0


def synthetic_run() -> list[Sample]:
    """Two targets for ten seconds; nginx fails and slows briefly at 4 s."""
    samples = []
    for step in range(1000):
        at = step * 0.01
        for target in ("haproxy", "nginx"):
            trouble = target == "nginx" and 4.0 <= at < 4.3
            ms = 2.0 + step % 7 + (40.0 if trouble else 0.0)
            samples.append(Sample(t=T0 + at, target=target, ms=ms, ok=not trouble))
    return samples


def test_a_run_with_failures_and_flips_becomes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "flips.png"
    flips = {"haproxy": [T0 + 2.0, T0 + 7.0], "nginx": [T0 + 4.0]}
    plot_flips(synthetic_run(), flips, path, "Flip under load")
    picture = path.read_bytes()
    assert picture.startswith(PNG_SIGNATURE)
    assert len(picture) > 10_000


def test_a_run_without_failures_or_flips_still_draws(tmp_path: Path) -> None:
    path = tmp_path / "quiet.png"
    samples = [Sample(t=T0 + n, target="direct", ms=1.0, ok=True) for n in range(5)]
    plot_flips(samples, {}, path, "Quiet")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_importing_the_pure_modules_pulls_in_neither_locust_nor_matplotlib() -> None:
    # Locust patches the standard library with gevent on import.
    check = (
        "import sys\n"
        "import loadtests.bench.plot, loadtests.bench.report\n"
        "print(sorted({'locust', 'matplotlib'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=Path(__file__).parents[3],  # the repository root
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
