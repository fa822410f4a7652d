"""What the benchmarks ran on: hardware, kernel and the versions that matter."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def describe() -> dict[str, Any]:
    """The machine and software versions, as a flat mapping for the report."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": _memory_gb(),
        "kernel": platform.release(),
        "os": _os_name(),
        "docker": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
        "haproxy": _version_in(["haproxy", "-v"]),
        "nginx": _version_in(["nginx", "-v"]),
        "python": platform.python_version(),
        "locust": _package("locust"),
    }


def _cpu_model() -> str | None:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def _memory_gb() -> float | None:
    match = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    return round(int(match.group(1)) / 1024**2, 1) if match else None


def _os_name() -> str | None:
    match = re.search(r'PRETTY_NAME="([^"]+)"', _read("/etc/os-release"))
    return match.group(1) if match else None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _first_line(command: list[str]) -> str | None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=20, check=False
        )
    except OSError:
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def _version_in(command: list[str]) -> str | None:
    line = _first_line(command)
    match = re.search(r"(\d+\.\d+\.\d+)", line or "")
    return match.group(1) if match else None


def _package(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
