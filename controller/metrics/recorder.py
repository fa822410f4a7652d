"""What the controller counts as it happens: flips and the verdicts of its gates.

These live in the process, so a restarted controller starts them at zero,
which Prometheus reads as a counter reset. Everything the store keeps is
read at scrape time instead (see ``collector``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram

from controller.analysis import Verdict

# A flip checks every replica of the new colour, changes the route through
# the proxy's runtime API and waits for three answers from the new colour.
FLIP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

GATES = ("analysis", "load_gate", "post_verify")
"""The gates whose verdicts are counted: the analysis window on preview,
the Locust gate on preview, and the post-verification window on live."""


class Recorder:
    """Counters and histograms for what happens in this process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        into = registry if registry is not None else CollectorRegistry()
        self.flips = Counter(
            "bgctl_flips",
            "Flips of a service's live frontend to another colour, by outcome "
            "(succeeded: live answers from the new colour; failed: it does not, "
            "or the colour was not ready to be flipped to).",
            ["service", "outcome"],
            registry=into,
        )
        self.flip_seconds = Histogram(
            "bgctl_flip_duration_seconds",
            "How long a successful flip took, from checking the new colour's "
            "replicas to live answering from it.",
            ["service"],
            buckets=FLIP_BUCKETS,
            registry=into,
        )
        self.verdicts = Counter(
            "bgctl_analysis_verdicts",
            "Verdicts of a release's gates (analysis, load_gate, post_verify), "
            "by verdict (passed, failed, inconclusive).",
            ["service", "gate", "verdict"],
            registry=into,
        )

    @contextmanager
    def flip(self, service: str) -> Iterator[None]:
        """Time the flip in the block; an exception counts it as failed."""
        started = time.monotonic()
        try:
            yield
        except Exception:
            self.flips.labels(service, "failed").inc()
            raise
        self.flips.labels(service, "succeeded").inc()
        self.flip_seconds.labels(service).observe(time.monotonic() - started)

    def judged(self, service: str, gate: str, verdict: Verdict) -> None:
        """Count one verdict of one of the ``GATES``."""
        if gate not in GATES:
            raise ValueError(f"gate must be one of {', '.join(GATES)}, got {gate!r}")
        self.verdicts.labels(service, gate, verdict.value).inc()
