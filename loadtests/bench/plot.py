"""The flip-under-load picture: latency and request rate around each flip.

matplotlib is imported only when a picture is drawn, with the Agg backend, so
that the rest of the suite imports without it and draws without a display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests.bench.figures import Bucket, series
from loadtests.bench.samples import Sample

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BUCKET = 0.5  # seconds per point on both panels
SIZE = (12.0, 7.0)  # inches; at DPI, 1200 x 700 pixels
DPI = 100
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
FAILURE_MARKERS = ("x", "+", "1", "2", "3")


def plot_flips(
    samples: Sequence[Sample],
    flips: Mapping[str, Sequence[float]],
    path: Path,
    title: str,
) -> None:
    """Draw latency and rate per target, with each flip marked, as a PNG at ``path``.

    Time runs in seconds since the first sample; ``flips`` maps a target to
    the unix times at which it flipped.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, rate) = plt.subplots(
        2, 1, sharex=True, figsize=SIZE, dpi=DPI, height_ratios=(3, 2)
    )
    try:
        origin = min((s.t for s in samples), default=0.0)
        for index, target in enumerate(_targets(samples, flips)):
            buckets = series(samples, target, BUCKET)
            _draw_target(latency, rate, target, index, buckets, origin)
            moments = [moment - origin for moment in flips.get(target, ())]
            _draw_flips(latency, rate, target, index, moments)
        _label(latency, rate, title)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)


def _targets(
    samples: Sequence[Sample], flips: Mapping[str, Sequence[float]]
) -> list[str]:
    """Every target, sorted, so that a target keeps its colour from run to run."""
    return sorted({s.target for s in samples} | set(flips))


def _colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def _draw_target(
    latency: Axes,
    rate: Axes,
    target: str,
    index: int,
    buckets: Sequence[Bucket],
    origin: float,
) -> None:
    """Draw one target's p50 and p99 on top and its rate and failures below."""
    colour = _colour(index)
    times = [b.start - origin for b in buckets]
    p50 = [_gap(b.p50) for b in buckets]
    p99 = [_gap(b.p99) for b in buckets]
    latency.plot(times, p50, color=colour, linewidth=1.5, label=f"{target} p50")
    latency.plot(
        times, p99, color=colour, linewidth=0.8, alpha=0.6, label=f"{target} p99"
    )
    rate.plot(times, [b.rate for b in buckets], color=colour, label=f"{target} req/s")
    failed = [
        (t, b.failures / BUCKET)
        for t, b in zip(times, buckets, strict=True)
        if b.failures
    ]
    if failed:
        marker = FAILURE_MARKERS[index % len(FAILURE_MARKERS)]
        rate.scatter(
            [t for t, _ in failed],
            [per_second for _, per_second in failed],
            color="red",
            marker=marker,
            zorder=3,
            label=f"{target} failed/s",
        )


def _draw_flips(
    latency: Axes, rate: Axes, target: str, index: int, moments: Sequence[float]
) -> None:
    """Mark each of ``target``'s flips, in seconds since the start, on both panels."""
    colour = _colour(index)
    for number, at in enumerate(moments):
        # One legend entry per target is enough; "_" keeps the rest out.
        label = f"{target} flip" if number == 0 else "_flip"
        latency.axvline(at, color=colour, linestyle="--", alpha=0.8, label=label)
        rate.axvline(at, color=colour, linestyle="--", alpha=0.8)


def _label(latency: Axes, rate: Axes, title: str) -> None:
    """Title, axis names, scales and legends of both panels."""
    from matplotlib.ticker import StrMethodFormatter  # lazily, as in plot_flips

    latency.set_title(title)
    latency.set_ylabel("latency (ms)")
    latency.set_yscale("log")
    plain = StrMethodFormatter("{x:g}")  # 20 rather than 2 x 10^1
    latency.yaxis.set_major_formatter(plain)
    latency.yaxis.set_minor_formatter(plain)
    latency.grid(True, which="major", alpha=0.3)
    rate.set_ylabel("requests per second")
    rate.set_xlabel(f"seconds since the first request ({BUCKET} s buckets)")
    rate.set_ylim(bottom=0)
    rate.grid(True, alpha=0.3)
    for panel in (latency, rate):
        handles, labels = panel.get_legend_handles_labels()
        if handles:
            panel.legend(handles, labels, loc="upper right", fontsize="small")


def _gap(value: float | None) -> float:
    """A figure to plot, or NaN so that an empty bucket breaks the line."""
    return math.nan if value is None else value
