"""BENCHMARKS.md, rendered from the results of one benchmark run.

``render`` takes the plain, JSON-able results dict: ``date``, ``command``,
``machine``, ``settings``, ``flip``, ``overhead``, ``deploy``, ``api``,
``plot`` and ``notes``. A section whose key is absent is left out; a figure
that is None or absent shows as a dash.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DASH = "\N{EN DASH}"  # what a missing figure shows
PROXIES = ("haproxy", "nginx")  # listed first, in this order
MACHINE_LABELS = {
    "host": "host",
    "cpus": "CPUs",
    "cpu_model": "CPU model",
    "memory_gb": "memory (GB)",
    "kernel": "kernel",
    "os": "OS",
    "docker": "Docker",
    "haproxy": "HAProxy",
    "nginx": "nginx",
    "python": "Python",
    "locust": "Locust",
}

Results = Mapping[str, Any]


def render(results: Results) -> str:
    """The Markdown of BENCHMARKS.md for ``results``."""
    sections = (
        _intro(results),
        _rerun(results),
        _machine(results),
        _settings(results),
        _flip(results),
        _overhead(results),
        _deploy(results),
        _api(results),
        _notes(results),
    )
    return "\n\n".join(section for section in sections if section) + "\n"


def _intro(results: Results) -> str:
    when = f", on {results['date']}" if "date" in results else ""
    return "# Benchmarks\n\n" + _paragraph(
        "What bgctl costs and how it behaves under load: serving through a flip, "
        "the latency the proxy adds, how long a deploy takes beyond the app's own "
        "start-up, and how fast the controller's API answers. Every figure comes "
        f"from one run on the machine below{when}; another machine or run will "
        "differ."
    )


def _rerun(results: Results) -> str:
    if "command" not in results:
        return ""
    return f"## How to rerun\n\n```sh\n{results['command']}\n```"


def _machine(results: Results) -> str:
    if "machine" not in results:
        return ""
    machine: Mapping[str, Any] = results["machine"]
    rows = [
        (MACHINE_LABELS.get(key, key), _plain(value)) for key, value in machine.items()
    ]
    return "## Machine\n\n" + _table(("item", "value"), rows)


def _settings(results: Results) -> str:
    if "settings" not in results:
        return ""
    settings: Mapping[str, Any] = results["settings"]
    rows = [(key, _plain(value)) for key, value in settings.items()]
    return "## Settings\n\n" + _table(("setting", "value"), rows)


def _flip(results: Results) -> str:
    if "flip" not in results:
        return ""
    head = (
        "proxy", "flips", "requests", "failures", "failure share (%)",
        "p50 (ms)", "p99 (ms)", "max (ms)",
        "p50 near a flip (ms)", "p99 near a flip (ms)", "max near a flip (ms)",
        "flip p50 (ms)", "flip p99 (ms)",
    )  # fmt: skip
    rows = [_flip_row(proxy, figures) for proxy, figures in _by_proxy(results["flip"])]
    about = _paragraph(
        "Steady load through each proxy while the controller flips the service "
        "from one colour to the other and back. Near a flip means a request that "
        "started within ±0.5 s of one. The flip time is how long each flip took "
        "as the controller's API saw it."
    )
    text = f"## 1. Flip under load\n\n{about}\n\n{_table(head, rows)}"
    if "plot" in results:
        picture = "Latency and request rate per proxy, each flip dashed"
        text += f"\n\n![{picture}]({results['plot']})"
    return text


def _flip_row(proxy: str, figures: Mapping[str, Any]) -> list[str]:
    overall, near = figures.get("overall", {}), figures.get("around_flips", {})
    flip = figures.get("flip_seconds", {})
    return [
        proxy,
        _plain(figures.get("flips")),
        _plain(overall.get("requests")),
        _plain(overall.get("failures")),
        _fixed(_share(overall), 3),
        *(_fixed(overall.get(key), 1) for key in ("p50", "p99", "max")),
        *(_fixed(near.get(key), 1) for key in ("p50", "p99", "max")),
        *(_fixed(_times(flip.get(key), 1000), 1) for key in ("p50", "p99")),
    ]


def _overhead(results: Results) -> str:
    if "overhead" not in results:
        return ""
    head = (
        "proxy", "connections", "mode",
        "direct p50 (ms)", "direct p99 (ms)", "proxied p50 (ms)", "proxied p99 (ms)",
        "added p50 (ms)", "added p99 (ms)", "direct req/s", "proxied req/s",
    )  # fmt: skip
    about = _paragraph(
        "The same load straight at one colour and through the proxy in front of "
        "it; added is proxied minus direct."
    )
    rows = [_overhead_row(row) for row in results["overhead"]]
    return f"## 2. Proxy overhead\n\n{about}\n\n{_table(head, rows)}"


def _overhead_row(row: Mapping[str, Any]) -> list[str]:
    direct, proxied = row.get("direct", {}), row.get("proxied", {})
    return [
        _plain(row.get("proxy")),
        _plain(row.get("connections")),
        _plain(row.get("mode")),
        *(
            _fixed(figures.get(key), 1)
            for figures in (direct, proxied)
            for key in ("p50", "p99")
        ),
        *(
            _fixed(_less(proxied.get(key), direct.get(key)), 1)
            for key in ("p50", "p99")
        ),
        _fixed(row.get("direct_rps"), 1),
        _fixed(row.get("proxied_rps"), 1),
    ]


def _deploy(results: Results) -> str:
    if "deploy" not in results:
        return ""
    head = (
        "proxy", "deploys", "total p50 (s)", "total p99 (s)",
        "app start-up delay (s)", "min_ready hold (s)", "own p50 (s)", "own p99 (s)",
    )  # fmt: skip
    rows = [
        _deploy_row(proxy, figures) for proxy, figures in _by_proxy(results["deploy"])
    ]
    about = _paragraph(
        "Whole deploys of a new image, timed end to end. The app waits out a set "
        "start-up delay and the controller holds each replica for min_ready; own "
        "is what the controller adds beyond both."
    )
    return f"## 3. Deploy overhead\n\n{about}\n\n{_table(head, rows)}"


def _deploy_row(proxy: str, figures: Mapping[str, Any]) -> list[str]:
    total, own = figures.get("total_seconds", {}), figures.get("own_seconds", {})
    return [
        proxy,
        _plain(figures.get("deploys")),
        *(_fixed(total.get(key), 2) for key in ("p50", "p99")),
        _fixed(figures.get("startup_delay"), 2),
        _fixed(figures.get("min_ready"), 2),
        *(_fixed(own.get(key), 2) for key in ("p50", "p99")),
    ]


def _api(results: Results) -> str:
    if "api" not in results:
        return ""
    head = (
        "proxy", "status p50 (ms)", "status p99 (ms)", "status max (ms)",
        "RSS min (MB)", "RSS max (MB)",
    )  # fmt: skip
    rows = [_api_row(proxy, figures) for proxy, figures in _by_proxy(results["api"])]
    about = _paragraph(
        "How fast the controller answers a service's status while it runs, and "
        "its resident memory over the run."
    )
    return f"## 4. Controller API\n\n{about}\n\n{_table(head, rows)}"


def _api_row(proxy: str, figures: Mapping[str, Any]) -> list[str]:
    status, rss = figures.get("status_ms", {}), figures.get("rss_mb", {})
    return [
        proxy,
        *(_fixed(status.get(key), 1) for key in ("p50", "p99", "max")),
        *(_fixed(rss.get(key), 1) for key in ("min", "max")),
    ]


def _notes(results: Results) -> str:
    if "notes" not in results:
        return ""
    return "## Notes\n\n" + "\n".join(f"- {note}" for note in results["notes"])


def _paragraph(text: str) -> str:
    """``text`` wrapped at 79 columns, never inside a word or a date."""
    return textwrap.fill(text, 79, break_long_words=False, break_on_hyphens=False)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; a pipe inside a cell is escaped."""
    lines = [head, ["---"] * len(head), *rows]
    return "\n".join(
        "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"
        for line in lines
    )


def _by_proxy(figures: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The figures per proxy, the known proxies first, then the rest by name."""
    known = [proxy for proxy in PROXIES if proxy in figures]
    others = sorted(proxy for proxy in figures if proxy not in PROXIES)
    return [(proxy, figures[proxy]) for proxy in (*known, *others)]


def _plain(value: Any) -> str:
    return DASH if value is None else str(value)


def _fixed(value: float | None, digits: int) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _share(figures: Mapping[str, Any]) -> float | None:
    """Failures as a percentage of requests; None with no request."""
    requests, failures = figures.get("requests"), figures.get("failures")
    if not requests or failures is None:
        return None
    return 100 * float(failures) / float(requests)


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _less(value: float | None, minus: float | None) -> float | None:
    return None if value is None or minus is None else value - minus
