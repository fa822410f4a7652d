"""Reading HAProxy's answers: server states, stats, processes, command results."""

from __future__ import annotations

import pytest

from proxy.errors import ProxyUnavailable
from proxy.haproxy.cli import PROMPT
from proxy.haproxy.layout import ServerState, color_of
from proxy.haproxy.master import parse_show_proc
from proxy.haproxy.runtime import (
    parse_info,
    parse_servers_state,
    parse_stat,
    set_address,
    set_state,
)
from proxy.routes import Address, Color

SERVERS_STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight \
srv_iweight srv_time_since_last_change srv_check_status srv_check_result \
srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id \
srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr \
srv_agent_addr srv_agent_port
3 web_live 1 blue-1 127.0.0.1 2 0 1 1 4 15 3 3 6 0 0 0 - 19002 - 0 0 - - 0
3 web_live 2 green-1 127.0.0.1 2 12 1 1 0 1 0 2 6 0 0 0 - 19003 - 0 0 - - 0
3 web_live 3 green-2 127.0.0.1 0 5 1 1 0 1 0 2 6 0 0 0 - 1 - 0 0 - - 0
3 web_live 4 blue-2 127.0.0.1 0 4 1 1 0 1 0 2 6 0 0 0 - 19004 - 0 0 - - 0
"""

SHOW_PROC = """#<PID>          <type>          <reloads>       <uptime>        <version>
22449           master          4 [failed: 0]   0d00h00m40s     2.6.12-1+deb12u4
# workers
23024           worker          0               0d00h00m00s     2.6.12-1+deb12u4
# old workers
23017           worker          1               0d00h00m01s     2.6.12-1+deb12u4
# programs
"""


def test_server_states_read_the_admin_bits() -> None:
    servers = {s.server: s for s in parse_servers_state(SERVERS_STATE)}

    assert servers["blue-1"].state is ServerState.READY
    assert servers["blue-1"].address == Address("127.0.0.1", 19002)
    assert servers["green-1"].state is ServerState.DRAIN
    assert servers["green-2"].state is ServerState.MAINT


def test_a_server_readied_from_a_disabled_line_is_ready_but_may_be_down() -> None:
    blue_2 = parse_servers_state(SERVERS_STATE)[-1]

    assert blue_2.state is ServerState.READY
    assert not blue_2.is_up
    assert not blue_2.takes_new_requests


def test_show_proc_separates_current_and_old_workers() -> None:
    table = parse_show_proc(SHOW_PROC)

    assert (table.master, table.reloads, table.failed_reloads) == (22449, 4, 0)
    assert table.workers == (23024,)
    assert table.old_workers == (23017,)


def test_show_proc_without_a_master_is_unavailable() -> None:
    with pytest.raises(ProxyUnavailable, match="no master"):
        parse_show_proc("Unknown command.")


def test_stat_rows_are_keyed_by_the_csv_header() -> None:
    rows = parse_stat("# pxname,svname,qcur,qmax,scur\nweb_live,blue-1,0,0,3\n")

    assert rows == [
        {
            "pxname": "web_live",
            "svname": "blue-1",
            "qcur": "0",
            "qmax": "0",
            "scur": "3",
        }
    ]


def test_info_is_read_as_name_value_pairs() -> None:
    assert parse_info("Name: HAProxy\nPid: 42\n")["Pid"] == "42"


def test_a_state_change_succeeds_only_with_an_empty_answer() -> None:
    command = set_state("web_live", "blue-1", ServerState.DRAIN)

    assert command.text == "set server web_live/blue-1 state drain"
    assert command.is_accepted("")
    assert not command.is_accepted("No such server.")


def test_an_address_change_succeeds_when_haproxy_reports_the_change() -> None:
    command = set_address("web_live", "blue-1", Address("10.0.0.1", 80))

    assert command.is_accepted("IP changed from '127.0.0.1' to '10.0.0.1', ...")
    assert command.is_accepted("no need to change the addr, port changed from ...")
    assert not command.is_accepted("Invalid addr '10.0.0' by 'stats socket command'")


@pytest.mark.parametrize(
    ("answer", "prompt"),
    [(b"\n> ", b""), (b"No such server.\n\n> ", b""), (b"master> ", b"master")],
)
def test_prompts_end_answers_on_worker_and_master_sockets(
    answer: bytes, prompt: bytes
) -> None:
    found = PROMPT.search(answer)

    assert found is not None
    assert (found.group(1) or b"") == prompt


def test_a_failed_reload_prompt_is_still_a_prompt() -> None:
    assert PROMPT.search(b"# programs\n\nmaster[ReloadFailed]> ")


def test_server_names_carry_their_colour() -> None:
    assert color_of("green-3") is Color.GREEN
    assert color_of("BACKEND") is None
