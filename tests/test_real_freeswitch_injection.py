"""Text from callers stays text on a real FreeSWITCH: nothing in it is expanded or run.

FreeSWITCH expands ``${...}`` in the arguments of applications, and ``${api(arguments)}`` runs
an API command, so a caller whose caller-ID name is ``${global_setvar(...)}`` would run commands
on the box if it reached an argument as it is. Each test sends such values the way the
controller does (``set``, a bridge's dial string, an originate) and checks both that they arrive
exactly as they were and that the probe command never ran (``global_getvar`` stays empty).
"""

from __future__ import annotations

import uuid as uuidlib

import gevent
import pytest
from gevent.event import AsyncResult
from hostile_text import call_socket, hostile
from realfs import is_loopback, started_center
from test_real_freeswitch_queue import ANSWERS, CALLER, IVR_NUMBER, QUEUE_FLOW, connected_agent
from test_real_freeswitch_queue import project as queue_project

from ivr.freeswitch import apps, commands
from ivr.freeswitch.inbound import InboundClient
from ivr.simulator.parsing import holds_variable

ECHO_TEST = "loopback/9196/default"
CALL_TIMEOUT = 30.0


@pytest.fixture
def fs(freeswitch):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    client = InboundClient.connect(freeswitch.host, freeswitch.port, password=freeswitch.password)
    yield client
    client.close()


def ran(fs: InboundClient, probe: str) -> str:
    """What the probe command set, if it ever ran (FreeSWITCH's global variable)."""
    value = fs.api(commands.global_getvar(probe)).strip()
    return "" if value == "-ERR no reply" else value  # what an unset variable answers


def test_the_probe_sets_its_variable_when_freeswitch_expands_it(fs):
    probe = f"ivr_probe_{uuidlib.uuid4().hex[:8]}"
    fs.api(f"expand eval ${{global_setvar({probe}=ran)}}")
    assert ran(fs, probe) == "ran"


def on_a_call(fs: InboundClient, work) -> object:
    """Run ``work(session)`` on a real call handed to us over the outbound socket."""
    with call_socket(work) as (server, result):
        caller = ""
        try:
            caller = fs.originate(ECHO_TEST, commands.socket_app(*server.address), timeout=10)
            return result.get(timeout=CALL_TIMEOUT)
        finally:
            if caller:
                fs.uuid_kill(caller)


def test_values_set_on_the_channel_arrive_exactly_and_run_nothing(fs):
    probe = f"ivr_probe_{uuidlib.uuid4().hex[:8]}"
    values = hostile(probe)

    def work(session):
        seen = []
        for value in values:
            done = session.execute("set", apps.set_var("ivr_probe_value", value))
            seen.append(done.get("variable_ivr_probe_value"))
        return seen

    assert on_a_call(fs, work) == values
    assert ran(fs, probe) == ""


def test_values_in_a_bridge_dial_string_reach_the_other_leg_as_they_were_and_run_nothing(fs):
    probe = f"ivr_probe_{uuidlib.uuid4().hex[:8]}"
    variables = {f"ivr_probe_{i}": value for i, value in enumerate(hostile(probe))}
    leg = str(uuidlib.uuid4())
    answered = AsyncResult()

    def on_answer(message):
        if message.unique_id == leg:
            answered.set(message)
            # The echo test never hangs up: the bridge ends when its leg does.
            gevent.spawn(fs.uuid_kill, leg)

    fs.subscribe(["CHANNEL_ANSWER"])
    fs.on_event("CHANNEL_ANSWER", on_answer)

    def work(session):
        dial = apps.dial_string([(ECHO_TEST, {"origination_uuid": leg})], variables)
        return session.execute("bridge", dial)

    on_a_call(fs, work)
    answer = answered.get(timeout=CALL_TIMEOUT)
    # FreeSWITCH does not set an originate's variable whose value holds ``${`` at all ("Invalid
    # data ... contains a variable"); every other value arrives as it was.
    assert {name: answer.get(f"variable_{name}") for name in variables} == {
        name: None if holds_variable(value) else value for name, value in variables.items()
    }
    assert ran(fs, probe) == ""


def agent_leg_created(center, agent_leg: str):
    """The CHANNEL_CREATE of the agent's leg (it came before the bridge)."""
    return next(
        m for m in center.history if m.event_name == "CHANNEL_CREATE" and m.unique_id == agent_leg
    )


def test_a_callers_name_reaches_the_agent_as_text_and_runs_nothing(freeswitch):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    probe = f"ivr_probe_{uuidlib.uuid4().hex[:8]}"
    name = f"Eve ${{global_setvar({probe}=ran)}} O'Brien, Jr"
    with started_center(freeswitch) as start:
        center = start(queue_project(QUEUE_FLOW, {"1001": ANSWERS}, wrap_up="5s"))
        # The originate that places the call carries the name as text too.
        call = center.call(IVR_NUMBER, caller=CALLER, caller_name=name)
        agent_leg = connected_agent(center, call)
        shown = agent_leg_created(center, agent_leg).get("Caller-Caller-ID-Name")
        assert shown == f"Acme Bank: {name}"
        assert ran(center.client, probe) == ""
        center.client.uuid_kill(agent_leg)
        assert center.journal_entry(call)["outcome"] == "answered"
        center.expect_no_leg_left()


def test_a_caller_name_with_an_unpaired_brace_rings_the_agent_and_nothing_else(freeswitch):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    name = "Mallory} error/user_busy,[x=y"
    with started_center(freeswitch) as start:
        center = start(queue_project(QUEUE_FLOW, {"1001": ANSWERS}, wrap_up="5s"))
        call = center.call(IVR_NUMBER, caller=CALLER, caller_name=name)
        agent_leg = connected_agent(center, call)
        # The whole name reached the agent: the brace did not end the dial string's variables
        # (which would have made ``error/user_busy`` an endpoint to ring).
        assert agent_leg_created(center, agent_leg).get("Caller-Caller-ID-Name") == (
            "Acme Bank: Mallory) error/user_busy,[x=y"
        )
        center.client.uuid_kill(agent_leg)
        assert center.journal_entry(call)["outcome"] == "answered"
        center.expect_no_leg_left()
