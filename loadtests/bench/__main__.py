"""Run the benchmark suite and write BENCHMARKS.md with its plot.

    python -m loadtests.bench [--flips 10] [--users 32] [--rate 10] ...

Every run's raw samples and Locust logs go to ``loadtests/results/bench-*``;
the report, its JSON and the plot go where ``--report`` and ``--figures``
say (the repository's ``BENCHMARKS.md`` and ``docs/benchmarks/`` by default).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.bench import machine
from loadtests.bench.figures import around, load_figures, summary
from loadtests.bench.flips import Record, prepare, run_flips
from loadtests.bench.load import ROOT, Load
from loadtests.bench.overhead import measure, probes
from loadtests.bench.plot import plot_flips
from loadtests.bench.report import render
from loadtests.bench.samples import Sample
from loadtests.bench.stack import MIN_READY, STARTUP_DELAY, Stack, bench_spec

log = logging.getLogger("bench")
PROXIES = ("haproxy", "nginx")
STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# flag, type, default, lowest, highest, what it sets
BOUNDED = [
    ("--flips", int, 10, 2, 100, "flips per proxy"),
    ("--users", int, 32, 1, 200, "keep-alive users on each target"),
    ("--rate", float, 10.0, 0.1, 200, "requests per second of each user"),
    ("--gap", float, 2.0, 1, 30, "seconds of quiet before and after a flip"),
    ("--seconds", float, 8.0, 2, 120, "seconds of each proxy overhead run"),
]
NOTES = [
    "Locust (one process), both controllers, both proxies and the replicas "
    "share the machine's CPUs; the load generator's own latency is in every "
    "figure, direct ones included.",
    "Flips alternate promote (v2 live) and rollback (v1 live again); v2 is "
    "staged again before each promotion, under the same load. A flip's time "
    "is the API call's: a promotion answers once live has moved and the "
    "watch has begun, a rollback once live has moved back.",
    "Direct loads one replica of the live colour on its published port; the "
    "proxy spreads the same load over both replicas.",
    "Throughput rows run Locust as fast as it can over the given "
    "connections, so they measure Locust and the proxy together.",
]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every figure bounded, so a run always ends."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmark flips under load, proxy and deploy overhead and "
        "the controller API; write the report, its plot and its figures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for flag, kind, default, low, high, text in BOUNDED:
        parser.add_argument(
            flag,
            type=_bounded(kind, low, high),
            default=default,
            help=f"{text}, {low:g} to {high:g}",
        )
    parser.add_argument(
        "--proxies",
        nargs="+",
        choices=PROXIES,
        default=list(PROXIES),
        help="the proxy drivers to compare",
    )
    parser.add_argument(
        "--report", type=Path, default=ROOT / "BENCHMARKS.md", help="the report"
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=ROOT / "docs" / "benchmarks",
        help="the folder for the plot and the figures as JSON",
    )
    return parser.parse_args(argv)


def _bounded(kind: type[Any], low: float, high: float) -> Any:
    def check(raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be {kind.__name__} {low:g} to {high:g}, got {raw!r}"
            )
        return value

    return check


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark; 0 when all ran (failed requests are reported)."""
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _check_outputs(args)
    stamp = datetime.now(UTC)
    raw_dir = ROOT / "loadtests" / "results" / f"bench-{stamp:%Y%m%dT%H%M%SZ}"
    raw_dir.mkdir(parents=True, exist_ok=True)
    # SIGTERM and SIGHUP (a closed terminal) stop the run as Ctrl-C does.
    for stop in STOPS[1:]:
        signal.signal(stop, _interrupt)
    stacks = {name: Stack(name) for name in args.proxies}
    try:
        results = _run(args, stacks, raw_dir)
    finally:
        # Closing may take seconds; a second signal must not cut it short.
        for stop in STOPS:
            signal.signal(stop, signal.SIG_IGN)
        for stack in stacks.values():
            stack.close()
    results["date"] = f"{stamp:%Y-%m-%dT%H:%M:%SZ}"
    _write(args, results, raw_dir)
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, a report or figures folder that cannot be written."""
    for folder in (args.report.parent, args.figures):
        if folder.exists() and not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise SystemExit(f"scripts/bench: {str(folder)!r} is not a writable folder")
    if not args.report.parent.exists():
        raise SystemExit(f"scripts/bench: no folder {str(args.report.parent)!r}")
    if args.report.is_dir():
        raise SystemExit(f"scripts/bench: --report {str(args.report)!r} is a folder")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def _run(
    args: argparse.Namespace, stacks: dict[str, Stack], raw_dir: Path
) -> dict[str, Any]:
    # 1. Every stack: v1 live, v2 staged.
    records = {name: Record() for name in stacks}
    for name, stack in stacks.items():
        log.info("preparing the %s stack", name)
        records[name].deploys.append(prepare(stack, bench_spec()))

    # 2. Flips under one load on every live frontend.
    live = {name: stack.status()["endpoints"]["live"] for name, stack in stacks.items()}
    seconds = args.flips * (3 * args.gap + 8) + 30
    load = Load(live, args.users, args.rate, seconds)
    log.info("flipping %s times under %s", args.flips, load)
    samples = run_flips(stacks, records, args.flips, args.gap, load, raw_dir)

    # 3. Overhead, with nothing else running.
    log.info("measuring proxy overhead")
    plan = probes(args.users, args.rate)
    overhead = measure(stacks, plan, args.seconds, raw_dir)

    results = _sections(samples, records)
    results.update(
        command=_command(args),
        machine=machine.describe(),
        settings=_settings(args),
        overhead=overhead,
    )
    plot_flips(
        samples, _moments(records), raw_dir / "flip-under-load.png", _title(args)
    )
    return results


def _sections(samples: list[Sample], records: dict[str, Record]) -> dict[str, Any]:
    flip, deploy, api, notes = {}, {}, {}, []
    for name, record in records.items():
        moments = [f.moment for f in record.flips]
        flip[name] = {
            "overall": load_figures(samples, name).as_dict(),
            "around_flips": around(samples, name, moments).as_dict(),
            "flip_seconds": summary([f.seconds for f in record.flips]).as_dict(),
            "flips": len(record.flips),
        }
        own = [d - STARTUP_DELAY - MIN_READY for d in record.deploys]
        deploy[name] = {
            "deploys": len(record.deploys),
            "total_seconds": summary(record.deploys).as_dict(),
            "startup_delay": STARTUP_DELAY,
            "min_ready": MIN_READY,
            "own_seconds": summary(own).as_dict(),
        }
        api[name] = {
            "status_ms": summary(record.status_ms).as_dict(),
            "rss_mb": {"min": min(record.rss_mb), "max": max(record.rss_mb)}
            if record.rss_mb
            else {"min": None, "max": None},
        }
        if record.error:
            notes.append(f"{name}: the flips stopped early: {record.error}")
    return {"flip": flip, "deploy": deploy, "api": api, "notes": notes + NOTES}


def _moments(records: dict[str, Record]) -> dict[str, list[float]]:
    return {name: [f.moment for f in r.flips] for name, r in records.items()}


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "flips": args.flips,
        "users": args.users,
        "rate": args.rate,
        "gap": args.gap,
        "overhead_seconds": args.seconds,
        "replicas": bench_spec()["replicas"],
    }


def _command(args: argparse.Namespace) -> str:
    command = (
        f"scripts/bench --flips {args.flips} --users {args.users} "
        f"--rate {args.rate:g} --gap {args.gap:g} --seconds {args.seconds:g}"
    )
    if list(args.proxies) != list(PROXIES):
        command += " --proxies " + " ".join(args.proxies)
    return command


def _title(args: argparse.Namespace) -> str:
    total = args.users * args.rate
    return f"{args.flips} flips per proxy under {total:g} req/s on each live port"


def _write(args: argparse.Namespace, results: dict[str, Any], raw_dir: Path) -> None:
    args.figures.mkdir(parents=True, exist_ok=True)
    plot = args.figures / "flip-under-load.png"
    plot.write_bytes((raw_dir / "flip-under-load.png").read_bytes())
    results["plot"] = _relative(plot, args.report.parent)
    (args.figures / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    args.report.write_text(render(results))
    log.info("wrote %s and %s (raw samples in %s)", args.report, plot, raw_dir)


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    log.info("benchmarks took %.0f s", time.monotonic() - started)
    raise SystemExit(code)
