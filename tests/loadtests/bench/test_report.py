"""BENCHMARKS.md as rendered from a results dict."""

from __future__ import annotations

from typing import Any

from loadtests.bench.figures import LoadFigures, Spread
from loadtests.bench.report import DASH, render


def figures(requests: int, failures: int, p50: float, p99: float) -> dict[str, Any]:
    return LoadFigures(requests, failures, p50, p99, p99 * 2).as_dict()


def spread(p50: float, p99: float) -> dict[str, Any]:
    return Spread(count=10, p50=p50, p99=p99, max=p99).as_dict()


def results() -> dict[str, Any]:
    """A full set of results, the shape a benchmark run writes."""
    return {
        "date": "2026-12-04T21:40:00Z",
        "command": "scripts/bench --flips 10",
        "machine": {"host": "bench-1", "cpus": 2, "cpu_model": "Xeon | v4"},
        "settings": {"users": 32, "rate": 10.0, "flips": 10, "gap": 3.0},
        "flip": {
            "nginx": {
                "overall": figures(20000, 3, 2.04, 9.96),
                "around_flips": LoadFigures(0, 0, None, None, None).as_dict(),
                "flip_seconds": spread(0.0421, 0.09),
                "flips": 10,
            },
            "haproxy": {
                "overall": figures(40000, 0, 1.5, 8.24),
                "around_flips": figures(800, 0, 1.74, 12.5),
                "flip_seconds": spread(0.012, 0.03),
                "flips": 10,
            },
        },
        "overhead": [
            {
                "proxy": "haproxy",
                "connections": 1,
                "mode": "latency",
                "direct": figures(1000, 0, 0.5, 1.24),
                "proxied": figures(1000, 0, 0.74, 2.0),
                "direct_rps": 1900.44,
                "proxied_rps": 1400.0,
            }
        ],
        "deploy": {
            "haproxy": {
                "deploys": 5,
                "total_seconds": spread(3.5, 4.25),
                "startup_delay": 1.0,
                "min_ready": 0.5,
                "own_seconds": spread(2.0, 2.75),
            }
        },
        "api": {
            "haproxy": {
                "status_ms": spread(3.2, 9.8),
                "rss_mb": {"min": 61.0, "max": 64.5},
            }
        },
        "plot": "docs/benchmarks/flip-under-load.png",
        "notes": ["nginx: 3 connection resets during the fourth flip"],
    }


def rows(markdown: str, first_cell: str) -> list[str]:
    return [
        line for line in markdown.splitlines() if line.startswith(f"| {first_cell} |")
    ]


def test_every_section_appears_in_order() -> None:
    markdown = render(results())
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Benchmarks",
        "## How to rerun",
        "## Machine",
        "## Settings",
        "## 1. Flip under load",
        "## 2. Proxy overhead",
        "## 3. Deploy overhead",
        "## 4. Controller API",
        "## Notes",
    ]
    prose = " ".join(markdown.split())
    assert "one run on the machine below, on 2026-12-04T21:40:00Z;" in prose
    assert "```sh\nscripts/bench --flips 10\n```" in markdown
    assert markdown.endswith("- nginx: 3 connection resets during the fourth flip\n")


def test_flip_rows_put_haproxy_first_with_shares_latencies_and_flip_times() -> None:
    markdown = render(results())
    haproxy, nginx = rows(markdown, "haproxy")[0], rows(markdown, "nginx")[0]
    assert haproxy == (
        "| haproxy | 10 | 40000 | 0 | 0.000 | 1.5 | 8.2 | 16.5 "
        "| 1.7 | 12.5 | 25.0 | 12.0 | 30.0 |"
    )
    assert nginx.startswith("| nginx | 10 | 20000 | 3 | 0.015 | 2.0 | 10.0 | 19.9 ")
    assert nginx.endswith(f"| {DASH} | {DASH} | {DASH} | 42.1 | 90.0 |")
    assert markdown.index("| haproxy | 10 |") < markdown.index("| nginx | 10 |")
    assert "![" in markdown and "](docs/benchmarks/flip-under-load.png)" in markdown


def test_overhead_rows_show_what_the_proxy_adds() -> None:
    row = rows(render(results()), "haproxy")[1]
    assert row == (
        "| haproxy | 1 | latency | 0.5 | 1.2 | 0.7 | 2.0 "
        "| 0.2 | 0.8 | 1900.4 | 1400.0 |"
    )


def test_deploy_and_api_rows_carry_their_figures() -> None:
    deploy, api = rows(render(results()), "haproxy")[2:]
    assert deploy == "| haproxy | 5 | 3.50 | 4.25 | 1.00 | 0.50 | 2.00 | 2.75 |"
    assert api == "| haproxy | 3.2 | 9.8 | 9.8 | 61.0 | 64.5 |"


def test_machine_and_settings_are_tables_with_pipes_escaped() -> None:
    markdown = render(results())
    assert "| CPU model | Xeon \\| v4 |" in markdown
    assert "| CPUs | 2 |" in markdown
    assert "| rate | 10.0 |" in markdown


def test_a_missing_section_is_left_out_cleanly() -> None:
    partial = results()
    del partial["overhead"], partial["plot"], partial["notes"]
    markdown = render(partial)
    assert "Proxy overhead" not in markdown
    assert "![" not in markdown
    assert "## Notes" not in markdown
    assert "\n\n\n" not in markdown
    assert markdown.endswith("| haproxy | 3.2 | 9.8 | 9.8 | 61.0 | 64.5 |\n")


def test_only_a_title_and_the_paragraph_when_nothing_was_measured() -> None:
    markdown = render({})
    assert markdown.startswith("# Benchmarks\n\nWhat bgctl costs")
    assert markdown.count("##") == 0
