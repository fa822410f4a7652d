"""Chaos runs and schedules as text for people: verdicts, plans, journals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_CELL = 60  # characters of a table cell; longer text is cut with "..."


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, one line per row."""
    cells = [[_cut(str(c)) for c in row] for row in [list(headers), *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def run_line(run: dict[str, Any]) -> str:
    """One line: the run, its experiment and its verdict."""
    deviated = ", deviated" if run["deviated"] else ""
    dry = " (dry run)" if run["dry_run"] else ""
    return (
        f"run {run['id']}{dry} of {run['title']!r} against {run['service']}: "
        f"{run['status']}{deviated}"
    )


def run_text(run: dict[str, Any]) -> str:
    """A run in full: verdict and reason, plan, and journal if it has one."""
    lines = [run_line(run)]
    if run["reason"]:
        lines.append(f"  reason: {run['reason']}")
    if run.get("aborted_at"):
        lines.append(f"  aborted at {run['aborted_at']}")
    lines.append("plan:")
    lines.extend(f"  {_step(step)}" for step in run["plan"])
    if not run["plan"]:
        lines.append("  (no faults)")
    journal = run.get("journal")
    if journal:
        lines.append("journal:")
        rows = [
            [
                a["stage"],
                a["name"] or a["type"],
                a["status"],
                a["ended_at"][11:23],
                a["error"] or _output(a["output"]),
            ]
            for a in journal
        ]
        headers = ["STAGE", "ACTIVITY", "STATUS", "ENDED", "DETAIL"]
        lines.extend(f"  {line}" for line in table(headers, rows).splitlines())
    return "\n".join(lines)


def _step(step: dict[str, Any]) -> str:
    where = f"route of {step['route']}" if step.get("route") else step.get("color")
    containers = ", ".join(
        f"{c['name']} ({c['id'][:12]})" for c in step.get("containers") or []
    )
    return f"[{step.get('activity')}] {step.get('kind')} on {where}: {containers}"


def _output(output: Any) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else str(output)


def schedule_text(schedule: dict[str, Any]) -> str:
    """A schedule: state, next and last run, and its history if given."""
    experiment = schedule["spec"]["experiment"]
    lines = [
        f"schedule {schedule['id']} ({schedule['name']}) is {schedule['state']}: "
        f"{experiment['title']!r} against {experiment['service']}",
        f"  next run: {schedule['next_run'] or '-'}",
        f"  last run: {schedule['last_run_id'] or '-'} "
        f"at {schedule['last_run_at'] or '-'}; skipped {schedule['skipped']}",
    ]
    events = schedule.get("events")
    if events:
        rows = [
            [e["at"][:19], e["kind"], e["run_id"] or "-", e["reason"]] for e in events
        ]
        lines.append("history:")
        headers = ["AT", "EVENT", "RUN", "REASON"]
        lines.extend(f"  {line}" for line in table(headers, rows).splitlines())
    return "\n".join(lines)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def runs_text(runs: list[dict[str, Any]]) -> str:
    """Runs as a table, newest first."""
    if not runs:
        return "no chaos runs"
    rows = [
        [
            r["id"],
            f"{r['status']} (dry run)" if r["dry_run"] else r["status"],
            "yes" if r["deviated"] else "no",
            r["service"],
            r["started_at"][:19],
            r["title"][:40],
        ]
        for r in runs
    ]
    return table(["RUN", "STATUS", "DEVIATED", "SERVICE", "STARTED", "TITLE"], rows)


def schedules_text(schedules: list[dict[str, Any]]) -> str:
    """Schedules as a table: state, next and last run, skips."""
    if not schedules:
        return "no schedules"
    rows = [
        [
            s["id"],
            s["name"],
            s["state"],
            (s["next_run"] or "-")[:19],
            s["last_run_id"] or "-",
            str(s["skipped"]),
        ]
        for s in schedules
    ]
    return table(["SCHEDULE", "NAME", "STATE", "NEXT RUN", "LAST RUN", "SKIPPED"], rows)


def faults_text(faults: list[dict[str, Any]]) -> str:
    """Open faults as a table, with their deadlines and containers."""
    if not faults:
        return "no open faults"
    rows = [
        [
            str(f["id"]),
            f["run_id"],
            f["kind"],
            f"{f['service']} {f['color']}",
            f["state"],
            f["deadline"][:19],
            ", ".join(target[:12] for target in f["targets"]),
        ]
        for f in faults
    ]
    headers = ["FAULT", "RUN", "KIND", "TARGET", "STATE", "DEADLINE", "CONTAINERS"]
    return table(headers, rows)
