"""Callbacks as callers and agents live them: ask, confirm or enter the number, keep the place.

In memory (scenario runner), through the controller and the simulated FreeSWITCH (the agent's
call reaches the controller as ``originate ... &socket`` brings it), and the real dialer's
``originate`` against a fake FreeSWITCH event socket.
"""

import datetime as dt
from pathlib import Path

from flowkit import build, call, hangup, hear, press, said, texts, wait
from test_inbound import FakeFreeSWITCH, free_port

from ivr.acd import AgentRing, Callback, CallbackAttempt
from ivr.flow.config import AgentConfig
from ivr.freeswitch.callbacks import InboundDialer
from ivr.freeswitch.link import FreeSwitchLink
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import MemoryChannel
from ivr.testing.cases import DEFAULT_START
from ivr.testing.dialer import MemoryDialer
from ivr.testing.scenario import AgentSetup, Case, Scenario
from ivr.testing.via_esl import EslRunner

AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1}
  a2: {name: Boris, endpoint: user/a2}
"""
QUEUES = "queues:\n  help: {agents: [a1, a2], ring_timeout: 15s, wrap_up: 10s}\n"
TENANTS = 'tenants:\n  acme: {name: Acme Bank, numbers: ["18005550100"], flow: t}\n'
FLOW = """
flow: t
start: q
nodes:
  q:
    type: queue
    queue: help
    prompt: "Please hold."
    announce: {position: true, every: 45s}
    max_wait: 30m
    on_timeout: late
    callback: {offer_after: 1m, key: 1}
  late: {type: hangup, prompt: "Nobody could take your call."}
"""
BUSY_FOR_10M = {"a1": AgentSetup("busy", 600.0), "a2": "busy"}
ASK = [wait(61), hear("press 1"), press("1")]


def project(tmp_path, flow: str = FLOW):
    files = {"agents.yaml": AGENTS, "queues.yaml": QUEUES, "tenants.yaml": TENANTS}
    return build(tmp_path, flow, **files)


def test_the_callback_is_offered_after_offer_after_with_the_position(tmp_path):
    result = call(project(tmp_path), wait(100), hangup(), agents=BUSY_FOR_10M)
    spoken = said(result)
    assert spoken[:2] == ["Please hold.", "You are number 1 in line."]
    offer = "To be called back without losing your place in line, press 1."
    assert spoken[2:5] == ["You are number 1 in line.", "You are number 1 in line.", offer]
    at = next(e.at for e in result.transcript if e.text == f"says: {offer}")
    assert at >= 60


def test_a_key_before_the_offer_is_not_a_callback(tmp_path):
    result = call(project(tmp_path), wait(10), press("1"), wait(10), hangup(), agents=BUSY_FOR_10M)
    assert "ignores 1 (not a key for this wait)" in texts(result)
    assert result.record.outcome == "abandoned"


def test_a_confirmed_callback_is_made_by_the_first_free_agent_who_is_connected_first(tmp_path):
    steps = [*ASK, hear("We will call you back at plus one five five five"), press("1")]
    result = call(
        project(tmp_path),
        *steps,
        hear("Goodbye"),
        dialed="18005550100",
        agents=BUSY_FOR_10M,
        expect={"outcome": "callback"},
    )
    assert result.failures == []
    lines = texts(result)
    ring = lines.index("callback +15550001111: rings user/a1 as 'Acme Bank: callback +15550001111'")
    whisper = lines.index("agent hears: Callback for Acme Bank. Calling the customer now.")
    dial = next(i for i, t in enumerate(lines) if t.startswith("rings loopback/+15550001111"))
    assert ring < whisper < dial
    assert result.record.callback == "+15550001111"


def test_a_caller_without_a_number_enters_one_and_hears_it_read_back(tmp_path):
    steps = [*ASK, hear("Please enter the phone number"), press("0887123456#")]
    steps += [hear("call you back at zero eight eight seven one two three four five six")]
    result = call(
        project(tmp_path),
        *steps,
        press("1"),
        hear("Goodbye"),
        caller="anonymous",
        agents=BUSY_FOR_10M,
        expect={"outcome": "callback", "callback": {"number": "0887123456", "status": "answered"}},
    )
    assert result.failures == []
    assert ("q", "callback_number", "0887123456") in result.record.inputs


def test_a_caller_who_does_not_confirm_keeps_the_place_and_is_answered_later(tmp_path):
    result = call(
        project(tmp_path),
        *ASK,
        wait(30),
        hear("You keep your place in line. Please hold."),
        wait(900),
        agents=BUSY_FOR_10M,
    )
    assert result.record.outcome == "answered"
    assert result.record.callback is None


def test_a_callback_keeps_its_place_ahead_of_callers_who_came_later(tmp_path):
    proj = project(tmp_path)
    services = CallServices(proj)
    services.callbacks.dialer = MemoryDialer(services.callbacks, {}, "available", DEFAULT_START, [])
    for agent in ("a1", "a2"):
        services.agents.set_state(agent, "busy", DEFAULT_START)
    first = MemoryChannel(
        CallInfo("first", "+15550001111"),
        start=DEFAULT_START,
        steps=[*ASK, press("1"), hear("Goodbye")],
    )
    assert Call(services, proj.flows["t"], first).run().outcome == "callback"
    later = DEFAULT_START + dt.timedelta(minutes=5)
    second = MemoryChannel(
        CallInfo("second", "+15550002222"), start=later, steps=[wait(5), hangup()]
    )
    Call(services, proj.flows["t"], second).run()
    assert "says: You are number 2 in line." in [e.text for e in second.transcript]


def test_a_callback_through_the_controller_and_the_simulated_freeswitch(tmp_path):
    proj = project(tmp_path)
    scenario = Scenario(Path(tmp_path / "t.test.yaml"), "t", [])
    case = Case(
        name="callback via ESL",
        steps=[*ASK, hear("call you back at"), press("1"), hear("Goodbye")],
        dialed="18005550100",
        agents={"a1": AgentSetup("busy", 300.0), "a2": "no_answer"},
        expect={"outcome": "callback", "callback": {"status": "answered", "agent": "a1"}},
    )
    runner = EslRunner(proj)
    try:
        result = runner.run_case(scenario, case)
    finally:
        runner.close()
    assert result.failures == [], result.report()
    lines = [e.text for e in result.transcript]
    # Boris let the caller's calls ring out until he was put on a break; Anna calls back.
    assert result.record.agent is None
    assert "callback +15550001111: rings user/a1 as 'Acme Bank: callback +15550001111'" in lines
    assert any(t.startswith("agent hears: Callback for Acme Bank.") for t in lines)
    assert any("rings loopback/+15550001111/default as 'Acme Bank'" in t for t in lines)


def attempt() -> CallbackAttempt:
    callback = Callback("cb1", "+15550001111", "loopback/+15550001111/default")
    agent = AgentConfig("a1", "Anna", "user/a1")
    return CallbackAttempt(callback, agent, 15.0, "Acme Bank: callback +15550001111", DEFAULT_START)


def test_the_real_dialer_rings_the_agent_with_originate_into_the_controllers_socket():
    fake = FakeFreeSWITCH()
    try:
        link = FreeSwitchLink("127.0.0.1", fake.port, "ClueCon")
        link.start()
        ring = InboundDialer(link, ("127.0.0.1", 8084)).ring_agent(attempt())
        link.stop()
    finally:
        fake.stop()
    assert isinstance(ring, AgentRing) and ring.status == "answered"
    originate = next(c for c in fake.commands if c.line.startswith("bgapi originate"))
    assert "ivr_callback=cb1" in originate.line
    assert "origination_caller_id_name=Acme Bank: callback +15550001111," in originate.line
    assert originate.line.endswith("user/a1' '&socket(127.0.0.1:8084 async full)'")


def test_the_real_dialer_reports_a_busy_agent_as_busy_and_a_dead_socket_as_failed():
    fake = FakeFreeSWITCH()
    fake.originate_output = "-ERR USER_BUSY\n"
    try:
        link = FreeSwitchLink("127.0.0.1", fake.port, "ClueCon")
        link.start()
        assert InboundDialer(link, ("127.0.0.1", 8084)).ring_agent(attempt()).status == "busy"
        link.stop()
    finally:
        fake.stop()
    nowhere = FreeSwitchLink("127.0.0.1", free_port(), "ClueCon")
    nowhere.start()
    try:
        dialer = InboundDialer(nowhere, ("127.0.0.1", 8084), wait=0.5)
        assert dialer.ring_agent(attempt()).status == "failed"
    finally:
        nowhere.stop()


OFFER_NOW = FLOW.replace("offer_after: 1m", "offer_after: 0s")
OFFER = "To be called back without losing your place in line, press 1."


def after_the_offer(lines: list[str]) -> list[str]:
    """The transcript lines after the first announcement that offers the callback."""
    return lines[next(i for i, line in enumerate(lines) if OFFER in line) + 1 :]


def test_the_callback_key_pressed_over_the_offer_stops_it_and_asks_for_the_number(tmp_path):
    steps = [hear("press 1"), press("1"), hear("We will call you back at"), press("1")]
    result = call(
        project(tmp_path, OFFER_NOW),
        *steps,
        hear("Goodbye"),
        agents=BUSY_FOR_10M,
        expect={"outcome": "callback"},
    )
    assert result.failures == [], result.report()
    assert after_the_offer(texts(result))[:2] == ["presses 1", "prompt stopped by a key"]


def test_another_key_over_the_offer_is_not_heard_and_the_caller_keeps_waiting(tmp_path):
    result = call(
        project(tmp_path, OFFER_NOW),
        hear("press 1"),
        press("7"),
        wait(5),
        hangup(),
        agents=BUSY_FOR_10M,
    )
    lines = after_the_offer(texts(result))
    assert lines[:2] == ["presses 7", "ignores 7 (not a key for this prompt)"]
    assert result.record.outcome == "abandoned"
    assert result.record.inputs == []


def test_the_callback_key_over_the_offer_through_the_controller_and_the_simulated_freeswitch(
    tmp_path,
):
    scenario = Scenario(Path(tmp_path / "t.test.yaml"), "t", [])
    case = Case(
        name="callback key over the offer",
        steps=[hear("press 1"), press("1"), hear("call you back at"), press("1"), hear("Goodbye")],
        dialed="18005550100",
        agents=BUSY_FOR_10M,
        expect={"outcome": "callback"},
    )
    runner = EslRunner(project(tmp_path, OFFER_NOW))
    try:
        result = runner.run_case(scenario, case)
    finally:
        runner.close()
    assert result.failures == [], result.report()
    # The key stopped the offer: no hold music came between it and the question.
    lines = after_the_offer([e.text for e in result.transcript])
    assert lines[0] == "presses 1"
    assert lines[1].startswith("says: We will call you back at")


def test_a_callback_offered_at_once_is_in_the_first_announcement(tmp_path):
    result = call(project(tmp_path, OFFER_NOW), wait(30), hangup(), agents=BUSY_FOR_10M)
    assert said(result)[:3] == ["Please hold.", "You are number 1 in line.", OFFER]
    at = next(e.at for e in result.transcript if e.text == f"says: {OFFER}")
    assert at < 10
