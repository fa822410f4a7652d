"""Child processes that never outlive the process that started them.

Locust runs for minutes in a child of the controller (a release's load gate)
or of the CLI (``bgctl loadtest``). Should that parent die at once, by
SIGKILL or a signal Python does not catch, nothing would stop the child, and
it would go on loading live traffic for the rest of its run time. On Linux
the kernel can send the child a signal when its parent dies; ``Popen`` sets
that up with ``preexec_fn=die_with_parent``.

The parent, to the kernel, is the thread that started the child: start it
from a thread that waits for it, as ``subprocess.run`` and ``communicate`` do.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _load_prctl() -> Callable[..., Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., Any] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Looked up once here: between fork and exec a child should do no more than
# one plain call.
_PRCTL = _load_prctl()


def die_with_parent() -> None:
    """In a new child before exec: have the kernel kill it when its parent dies."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
