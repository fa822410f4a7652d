"""A fault-injecting HTTP proxy, one process per traffic fault.

The controller splices it into a colour's route by pointing HAProxy's
servers for the chosen replicas at its ports; ``launch`` starts and stops
it, ``config`` is its command-line contract.
"""

from chaos.faultproxy.config import (
    ConfigInvalid,
    FaultKind,
    FaultParams,
    NotReady,
    ProxyConfig,
    Upstream,
)

__all__ = [
    "ConfigInvalid",
    "FaultKind",
    "FaultParams",
    "NotReady",
    "ProxyConfig",
    "Upstream",
]
