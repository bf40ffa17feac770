"""Text from callers stays text: the simulated FreeSWITCH expands and splits commands as the real
one does (tests/test_real_freeswitch_injection.py shows the same on a real FreeSWITCH), and what
the controller sends arrives as it was, with nothing in it run.

The caller-ID name reaches the agent's phone through a bridge's dial string; what a lookup found
can reach ``set``; a callback's caller-ID goes into an originate. Each is checked with values that
would run ``global_setvar`` if FreeSWITCH expanded them, or that quoting could spoil.
"""

from __future__ import annotations

import gevent
import pytest
from hostile_text import call_socket, hostile

from ivr.freeswitch import apps, commands
from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.simulator import SimulatedFreeSWITCH
from ivr.simulator.events import Host
from ivr.simulator.parsing import (
    expand_variables,
    holds_variable,
    parse_dial_string,
    separate_string,
)

PROBE = "ivr_probe"
VALUES = hostile(PROBE)


def on_a_simulated_call(work) -> tuple[object, Host]:
    """Run ``work(session)`` on a simulated call handed to us over the outbound socket."""
    with call_socket(work) as (server, result):
        sim = SimulatedFreeSWITCH(server.address, virtual_time=True)
        try:
            sim.place_call(None)
            return result.get(timeout=10), sim.host
        finally:
            sim.close()


def test_the_probe_runs_when_the_simulator_expands_it_as_freeswitch_would():
    host = Host()
    assert expand_variables(f"${{global_setvar({PROBE}=ran)}}", {}.get, host.api) == ""
    assert host.global_variables == {PROBE: "ran"}
    assert host.api_log == [f"global_setvar {PROBE}=ran"]


def test_values_set_on_the_channel_arrive_exactly_and_run_nothing():
    def work(session):
        return [
            session.execute("set", apps.set_var("ivr_probe_value", value)).get(
                "variable_ivr_probe_value"
            )
            for value in VALUES
        ]

    seen, host = on_a_simulated_call(work)
    assert seen == VALUES
    assert host.api_log == [] and PROBE not in host.global_variables


@pytest.mark.parametrize("value", VALUES)
def test_a_value_in_a_bridge_dial_string_is_read_back_exactly_and_runs_nothing(value):
    host = Host()
    dial = apps.dial_string([("user/1001", {"origination_uuid": "u1"})], {"ivr_probe": value})
    # What FreeSWITCH reads: the argument as the session sends it, expanded, then parsed.
    expanded = expand_variables(apps.unexpanded(dial), {}.get, host.api)
    [[leg]] = parse_dial_string(expanded)
    assert leg.endpoint == "user/1001"
    assert leg.variables == {"ivr_probe": value, "origination_uuid": "u1"}
    assert host.api_log == []


@pytest.mark.parametrize("value", VALUES)
def test_a_value_in_an_originate_is_read_back_exactly(value):
    line = commands.originate("user/1001", "&park()", {"origination_caller_id_name": value})
    # An API command is not expanded; originate splits its arguments at spaces first.
    name, target, destination = separate_string(line, " ", limit=3)
    [[leg]] = parse_dial_string(target)
    assert (name, leg.endpoint, destination) == ("originate", "user/1001", "&park()")
    assert leg.variables == {"origination_caller_id_name": value}


@pytest.mark.parametrize(
    ("name", "agent_sees"),
    [
        ("Mallory} user/evil,[x=y", "Mallory) user/evil,[x=y"),
        ("Mallory{ user/evil", "Mallory( user/evil"),
        ("Bob {the builder}", "Bob {the builder}"),
    ],
)
def test_a_brace_that_does_not_pair_cannot_end_the_dial_strings_variables(name, agent_sees):
    dial = apps.dial_string([("user/1001", {})], {"origination_caller_id_name": name})
    [[leg]] = parse_dial_string(dial)
    assert leg.endpoint == "user/1001"
    assert leg.variables == {"origination_caller_id_name": agent_sees}


def test_freeswitch_does_not_set_an_originated_variable_holding_a_variable():
    assert holds_variable("a ${b}") and holds_variable("a $\\{b}") and holds_variable("$${b}")
    assert not holds_variable("$5 {b}") and not holds_variable("a $ {b}")


def test_a_queued_callers_name_rings_the_agent_as_text_and_runs_nothing(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "support.yaml").write_text(
        "flow: support\nstart: operator\nnodes:\n  operator: {type: queue, queue: help}\n"
    )
    (flows / "tenants.yaml").write_text(
        "tenants:\n  acme: {name: Acme Bank, numbers: ['18005550100'], flow: support}\n"
    )
    (flows / "queues.yaml").write_text("queues:\n  help: {agents: [a1]}\n")
    (flows / "agents.yaml").write_text("agents:\n  a1: {name: Anna, endpoint: user/a1}\n")
    project = load_project(flows)
    assert project.ok, [d.render(project.sources) for d in project.diag.sorted()]
    ctl = Controller(project, ("127.0.0.1", 0), PromptFiles(tmp_path / "prompts", flows))
    ctl.start()
    sim = SimulatedFreeSWITCH(ctl.address, virtual_time=True, default_agent="available")
    name = f"Eve ${{global_setvar({PROBE}=ran)}} O'Brien, Jr"
    lines: list[str] = []
    try:
        call = sim.place_call(
            None,
            caller_name=name,
            dialed="18005550100",
            on_event=lambda event: lines.append(event.text),
        )
        with gevent.Timeout(10):
            while not any(line.startswith("user/a1 answers") for line in lines):
                gevent.sleep(0.01)
        call.hangup()
        assert call.wait(timeout=10)
    finally:
        sim.close()
        ctl.drain(timeout=5)
    assert f"rings user/a1 as 'Acme Bank: {name}' (caller hears local_stream://moh)" in lines
    assert sim.host.api_log == [] and PROBE not in sim.host.global_variables
