"""The runtime API of the serving HAProxy worker, over its admin socket.

Commands run one after another on one connection and every answer is
checked: a state change answers nothing, an address change answers with
what it changed, and anything else is an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import CommandFailed, ProxyUnavailable
from proxy.haproxy.cli import CliSession
from proxy.haproxy.layout import ServerState
from proxy.routes import Address

# Bits of ``srv_admin_state`` in ``show servers state``. Maintenance set by
# the configuration alone (0x04) stays set after the API readies a server,
# so it is not part of the mask.
ADMIN_MAINT = 0x01 | 0x02 | 0x20 | 0x40  # forced, inherited, resolver, hostname
ADMIN_DRAIN = 0x08 | 0x10  # forced, inherited

OP_STARTING = 1
OP_RUNNING = 2

ADDRESS_ACCEPTED = ("IP changed from", "no need to change the addr")


@dataclass(frozen=True)
class Command:
    """One runtime API command and the answers that mean it worked."""

    text: str
    accepted: tuple[str, ...] = ()  # prefixes of a good answer; none is good

    def is_accepted(self, answer: str) -> bool:
        """Whether ``answer`` says the command worked."""
        text = answer.strip()
        return not text or text.startswith(self.accepted)


def set_state(backend: str, server: str, state: ServerState) -> Command:
    """Put a server in ``ready``, ``drain`` or ``maint``."""
    return Command(f"set server {backend}/{server} state {state}")


def set_address(backend: str, server: str, address: Address) -> Command:
    """Point a server at another IP address and port."""
    return Command(
        f"set server {backend}/{server} addr {address.host} port {address.port}",
        ADDRESS_ACCEPTED,
    )


@dataclass(frozen=True)
class ServerStatus:
    """One server as ``show servers state`` reports it."""

    backend: str
    server: str
    address: Address
    admin: int  # srv_admin_state bits
    op: int  # srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping

    @property
    def state(self) -> ServerState:
        """The administrative state, as the runtime API names it."""
        if self.admin & ADMIN_MAINT:
            return ServerState.MAINT
        if self.admin & ADMIN_DRAIN:
            return ServerState.DRAIN
        return ServerState.READY

    @property
    def is_up(self) -> bool:
        """Whether health checks let the server take requests."""
        return self.op in (OP_STARTING, OP_RUNNING)

    @property
    def takes_new_requests(self) -> bool:
        """Ready and up: the load balancer may pick it."""
        return self.state is ServerState.READY and self.is_up


class RuntimeApi:
    """Commands and reports of the worker listening on ``socket_path``."""

    def __init__(self, socket_path: Path, *, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def session(self, patience: float = 2.0) -> CliSession:
        """A new interactive session with the admin socket."""
        return CliSession(self.socket_path, timeout=self.timeout, patience=patience)

    def run(self, commands: Sequence[Command]) -> None:
        """Run ``commands`` in order on one connection; stop at the first error."""
        if not commands:
            return
        with self.session() as cli:
            for command in commands:
                answer = cli.ask(command.text)
                if not command.is_accepted(answer):
                    raise CommandFailed(command.text, answer)

    def ask(self, command: str) -> str:
        """One command's raw answer."""
        with self.session() as cli:
            return cli.ask(command)

    def servers_state(self) -> str:
        """``show servers state`` as a server-state file wants it."""
        return self.ask("show servers state") + "\n"

    def servers(self) -> dict[tuple[str, str], ServerStatus]:
        """Every server, by backend and server name."""
        statuses = parse_servers_state(self.servers_state())
        return {(s.backend, s.server): s for s in statuses}

    def stats(self) -> list[dict[str, str]]:
        """``show stat`` as one dict per row."""
        return parse_stat(self.ask("show stat"))

    def worker_pid(self, patience: float = 2.0) -> int:
        """The process id of the worker answering on the admin socket."""
        with self.session(patience) as cli:
            info = parse_info(cli.ask("show info"))
        try:
            return int(info["Pid"])
        except (KeyError, ValueError) as exc:
            raise ProxyUnavailable(f"show info named no worker pid: {info}") from exc


def parse_servers_state(text: str) -> list[ServerStatus]:
    """Servers from ``show servers state``, read by its column header."""
    lines = text.splitlines()
    header = next((line for line in lines if line.startswith("# ")), None)
    if header is None:
        return []
    columns = header[2:].split()
    rows = [line.split() for line in lines if line[:1].isdigit() and " " in line]
    return [server_status(dict(zip(columns, row, strict=False))) for row in rows]


def server_status(row: dict[str, str]) -> ServerStatus:
    """One ``show servers state`` row as a ``ServerStatus``."""
    return ServerStatus(
        backend=row["be_name"],
        server=row["srv_name"],
        address=Address(row["srv_addr"], int(row["srv_port"])),
        admin=int(row["srv_admin_state"]),
        op=int(row["srv_op_state"]),
    )


def parse_stat(text: str) -> list[dict[str, str]]:
    """Rows of ``show stat``, a CSV whose header starts with ``# ``."""
    body = text.lstrip("# ")
    return [dict(row) for row in csv.DictReader(io.StringIO(body))]


def parse_info(text: str) -> dict[str, str]:
    """``show info`` as a dict of its ``Name: value`` lines."""
    pairs = (line.partition(":") for line in text.splitlines())
    return {key.strip(): value.strip() for key, _, value in pairs if key.strip()}
