"""Operator queues as a waiting caller experiences them, on the simulated clock."""

import datetime as dt

import pytest
from flowkit import build as build_flow
from flowkit import call, hangup, press, texts, wait

from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import MemoryChannel, Step
from ivr.testing.cases import DEFAULT_START

AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1}
  a2: {name: Boris, endpoint: user/a2}
  a3: {name: Carla, endpoint: user/a3}
"""

QUEUE_FLOW = """
flow: t
start: q
vars: {vip: false}
nodes:
  q:
    type: queue
    queue: help
    priority: "{{ 10 if vip else 0 }}"
    announce: {position: true, every: 45s}
    max_wait: 10m
    on_timeout: late
    keys: {1: voicemail}
  late: {type: hangup, prompt: "Nobody could take your call."}
  voicemail: {type: record, prompt: "Leave a message.", max: 1m}
"""


def build(tmp_path, flow: str = QUEUE_FLOW, strategy: str = "longest_idle"):
    queues = f"queues:\n  help: {{agents: [a1, a2, a3], ring_timeout: 15s, strategy: {strategy}}}\n"
    return build_flow(tmp_path, flow, **{"agents.yaml": AGENTS, "queues.yaml": queues})


def at(result, text: str) -> float:
    return next(e.at for e in result.transcript if e.text == text)


def since_start(record, moment: dt.datetime) -> float:
    return (moment - record.started_at).total_seconds()


ALL_BUSY = {"a1": "busy", "a2": "busy", "a3": "busy"}


def test_first_available_agent_in_queue_order_answers_after_two_seconds_of_ringing(tmp_path):
    result = call(build(tmp_path), wait(30), expect={"agent": "a1", "outcome": "answered"})
    assert result.failures == []
    rings = [t for t in texts(result) if t.startswith("rings ")]
    assert rings == ["rings user/a1 as '+15550001111' (caller hears local_stream://moh)"]
    ringing = at(result, "user/a1 answers; caller connected") - at(result, rings[0])
    assert ringing == pytest.approx(2.0)
    assert result.record.queue == "help"


def test_busy_and_logged_out_agents_are_skipped(tmp_path):
    agents = {"a1": "busy", "a2": "logged_out", "a3": "available"}
    result = call(build(tmp_path), wait(30), agents=agents)
    assert [t for t in texts(result) if t.startswith("rings ")] == [
        "rings user/a3 as '+15550001111' (caller hears local_stream://moh)"
    ]
    assert result.record.agent == "a3"
    assert result.record.outcome == "answered"


def test_agent_who_does_not_answer_rings_for_the_ring_timeout_then_the_next_is_tried(tmp_path):
    agents = {"a1": "no_answer", "a2": "available"}
    result = call(build(tmp_path), wait(60), agents=agents)
    rings = [e for e in result.transcript if e.text.startswith("rings ")]
    assert [e.text.split(" as ")[0] for e in rings] == ["rings user/a1", "rings user/a2"]
    assert at(result, "no answer within 15s") - rings[0].at == pytest.approx(15.0)
    assert rings[1].at - rings[0].at == pytest.approx(15.0)
    assert result.record.agent == "a2"
    answered = since_start(result.record, result.record.agent_answered_at)
    assert answered - rings[0].at == pytest.approx(17.0)


def test_ring_all_rings_every_free_agent_at_once(tmp_path):
    project = build(tmp_path, strategy="ring_all")
    result = call(project, wait(30), agents={"a2": "busy"})
    assert "rings user/a1, user/a3 as '+15550001111' (caller hears local_stream://moh)" in texts(
        result
    )
    assert result.record.agent == "a1"


def test_a_ten_minute_wait_reaches_on_timeout_at_ten_minutes_of_simulated_time(tmp_path):
    result = call(build(tmp_path), Step("hear", "Nobody could take"), agents=ALL_BUSY)
    assert result.failures == []
    assert result.record.path == ["q", "late"]
    late = result.record.visits[1]
    assert since_start(result.record, late.at) == pytest.approx(600.0)
    assert at(result, "-> late (hangup)") == pytest.approx(600.0)
    assert result.record.outcome == "completed"
    assert result.record.agent is None


def test_position_is_announced_on_entry_and_then_every_45_seconds(tmp_path):
    result = call(build(tmp_path), wait(100), hangup(), agents=ALL_BUSY)
    announced = [e.at for e in result.transcript if e.text == "says: You are number 1 in line."]
    assert len(announced) == 3
    assert announced[0] == 0.0
    gaps = [b - a for a, b in zip(announced, announced[1:], strict=False)]
    assert all(45.0 <= gap < 47.0 for gap in gaps)
    assert "plays hold music local_stream://moh" in texts(result)


def test_caller_who_hangs_up_while_waiting_is_counted_as_abandoned(tmp_path):
    result = call(build(tmp_path), wait(120), hangup(), agents=ALL_BUSY)
    record = result.record
    assert record.outcome == "abandoned"
    assert record.queue == "help"
    assert record.wait_seconds == pytest.approx(120.0, abs=3.0)
    assert record.ended_at is not None


def test_a_key_offered_while_waiting_takes_the_caller_where_the_queue_keys_say(tmp_path):
    result = call(build(tmp_path), wait(50), press("1"), wait(20), agents=ALL_BUSY)
    assert result.record.path == ["q", "voicemail"]
    assert result.record.inputs == [("q", "queue_key", "1")]
    assert result.record.outcome == "voicemail"


def test_a_key_that_is_not_offered_is_ignored_and_the_caller_keeps_waiting(tmp_path):
    result = call(build(tmp_path), wait(10), press("5"), wait(30), hangup(), agents=ALL_BUSY)
    assert "ignores 5 (not a key for this wait)" in texts(result)
    assert result.record.path == ["q"]
    assert result.record.outcome == "abandoned"


def test_when_empty_sends_the_caller_on_when_no_agent_is_logged_in(tmp_path):
    flow = QUEUE_FLOW.replace("on_timeout: late", "on_timeout: late\n    when_empty: closed")
    flow += '  closed: {type: hangup, prompt: "Nobody is working now."}\n'
    nobody = {"a1": "logged_out", "a2": "logged_out", "a3": "logged_out"}
    result = call(build(tmp_path, flow), agents=nobody)
    assert result.record.path == ["q", "closed"]
    assert result.record.queue is None
    assert "plays hold music local_stream://moh" not in texts(result)


def test_when_empty_is_not_taken_while_an_agent_is_logged_in_but_busy(tmp_path):
    flow = QUEUE_FLOW.replace("on_timeout: late", "on_timeout: late\n    when_empty: closed")
    flow += '  closed: {type: hangup, prompt: "Nobody is working now."}\n'
    agents = {"a1": "busy", "a2": "logged_out", "a3": "logged_out"}
    result = call(build(tmp_path, flow), wait(30), hangup(), agents=agents)
    assert result.record.path == ["q"]
    assert result.record.outcome == "abandoned"


def test_caller_talks_to_the_agent_while_their_steps_are_waits(tmp_path):
    result = call(build(tmp_path), wait(300), hangup())
    record = result.record
    assert record.outcome == "answered"
    ringing = next(e.at for e in result.transcript if e.text.startswith("rings user/a1"))
    assert since_start(record, record.agent_answered_at) == pytest.approx(ringing + 2.0)
    assert record.talk_seconds == pytest.approx(300.0 - ringing - 2.0)
    assert since_start(record, record.ended_at) == pytest.approx(300.0)


def test_priority_that_is_not_a_whole_number_takes_the_nodes_error_edge(tmp_path):
    flow = QUEUE_FLOW.replace("{{ 10 if vip else 0 }}", "{{ 'high' }}").replace(
        "keys: {1: voicemail}", "keys: {1: voicemail}\n    on_error: late"
    )
    result = call(build(tmp_path, flow))
    assert result.record.path == ["q", "late"]
    assert "priority is not a whole number" in result.record.visits[0].detail


def _queued_behind_a_priority_5_caller(project, *steps: Step):
    services = CallServices(project)
    for agent in ("a1", "a2", "a3"):
        services.agents.set_state(agent, "busy")
    services.agents.enqueue("help", "earlier-caller", 5, DEFAULT_START - dt.timedelta(minutes=1))
    channel = MemoryChannel(CallInfo("c", "+15550002222"), start=DEFAULT_START, steps=[*steps])
    record = Call(services, project.flows["t"], channel).run()
    return record, channel


@pytest.mark.parametrize(("vip", "place"), [(True, 1), (False, 2)])
def test_priority_template_lets_a_vip_overtake_an_earlier_caller(tmp_path, vip, place):
    project = build(tmp_path, QUEUE_FLOW.replace("{vip: false}", f"{{vip: {str(vip).lower()}}}"))
    record, channel = _queued_behind_a_priority_5_caller(project, wait(5), hangup())
    said = [e.text for e in channel.transcript if e.text.startswith("says: ")]
    assert said[0] == f"says: You are number {place} in line."
    assert record.outcome == "abandoned"


def test_agent_rung_for_a_caller_who_hangs_up_during_ringing_is_free_for_the_next_caller(
    tmp_path,
):
    project = build(tmp_path)
    services = CallServices(project)
    flow = project.flows["t"]

    def one_call(call_id, steps):
        info = CallInfo(call_id, "+15550003333")
        channel = MemoryChannel(info, start=DEFAULT_START, steps=steps)
        return Call(services, flow, channel).run()

    first = one_call("first", [wait(1), hangup()])
    assert first.outcome == "abandoned"
    assert services.agents.agents["a1"].state == "available"
    second = one_call("second", [wait(30)])
    assert second.agent == "a1"


def test_wait_time_announcement_uses_the_singular_for_one_minute(tmp_path):
    flow = QUEUE_FLOW.replace("announce: {position: true", "announce: {wait_time: true")
    project = build(tmp_path, flow)
    services = CallServices(project)
    for agent in ("a1", "a2", "a3"):
        services.agents.set_state(agent, "busy", DEFAULT_START)
    # Three agents taking calls of three minutes on average: the next caller waits a minute.
    services.agents.handle_times.extend("help", [150.0, 180.0, 210.0])
    info = CallInfo("c", "+15550002222")
    channel = MemoryChannel(info, start=DEFAULT_START, steps=[wait(5), hangup()])
    Call(services, project.flows["t"], channel).run()
    said = [e.text for e in channel.transcript if e.text.startswith("says: Your expected wait")]
    assert said[0] == "says: Your expected wait is about one minute."
