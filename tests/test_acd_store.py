"""A controller restart loses no agent state and no scheduled callback; a crash's leftovers heal."""

import datetime as dt

from flowkit import build, hangup, hear, press, wait

from ivr.acd import SqliteAcdStore
from ivr.acd.center import ContactCenter
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import MemoryChannel
from ivr.testing.dialer import MemoryDialer

T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1}
  a2: {name: Boris, endpoint: user/a2}
"""
QUEUES = "queues:\n  help: {agents: [a1, a2], wrap_up: 10s}\n"
FLOW = """
flow: t
start: q
nodes:
  q:
    type: queue
    queue: help
    announce: {position: true, every: 45s}
    callback: {offer_after: 30s, key: 1}
"""


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def project_in(tmp_path):
    return build(tmp_path, FLOW, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})


def restarted(project, path, moment=T0) -> ContactCenter:
    return ContactCenter(
        project.agents, project.queues, store=SqliteAcdStore(path), clock=lambda: moment
    )


def test_agent_states_survive_a_restart(tmp_path):
    project = project_in(tmp_path)
    store = tmp_path / "acd.sqlite"
    before = restarted(project, store)
    before.pool.take_break("a1", at(1), until=at(900))
    before.pool.logout("a2", at(2))
    before.pool.agents["a1"].missed = 2
    before.pool._save(before.pool.agents["a1"])
    before.stop()
    after = restarted(project, store).pool
    a1, a2 = after.agents["a1"], after.agents["a2"]
    assert (a1.state, a1.since, a1.until, a1.missed) == ("on_break", at(1), at(900), 2)
    assert (a2.state, a2.since) == ("logged_out", at(2))
    after.advance(at(900))
    assert a1.state == "available"


def test_handle_times_survive_a_restart_so_estimates_stay_sure(tmp_path):
    project = project_in(tmp_path)
    store = tmp_path / "acd.sqlite"
    before = restarted(project, store)
    for n in range(3):
        entry = before.pool.enqueue("help", f"c{n}", 0, at(n * 200))
        before.pool.answered(entry, entry.offer[0], at(n * 200))
        before.pool.finish(entry.offer[0], at(n * 200 + 110), talk_seconds=110, queue="help")
        before.pool.advance(at(n * 200 + 120))
    before.stop()
    after = restarted(project, store).pool
    assert after.handle_times.recent("help") == [120.0, 120.0, 120.0]
    after.set_state("a1", "busy", at(1000))
    after.set_state("a2", "busy", at(1000))
    estimate = after.estimate(after.enqueue("help", "next", 0, at(1000)))
    assert estimate.sure and estimate.seconds == 60.0


def test_a_callback_scheduled_before_a_restart_keeps_its_place_and_is_made_after_it(tmp_path):
    project = project_in(tmp_path)
    store = tmp_path / "acd.sqlite"
    before = restarted(project, store)
    services = CallServices(project, agents=before.pool, callbacks=before.callbacks)
    before.callbacks.dialer = MemoryDialer(before.callbacks, {}, "available", T0, [])
    before.pool.set_state("a1", "busy", T0)
    before.pool.set_state("a2", "busy", T0)
    steps = [wait(40), hear("press 1"), press("1"), press("1"), hear("Goodbye")]
    channel = MemoryChannel(CallInfo("asked", "+15550001111"), start=T0, steps=steps)
    record = Call(services, project.flows["t"], channel).run()
    assert record.outcome == "callback"
    later = before.pool.enqueue("help", "later", 0, at(120))
    assert before.pool.position(later) == 2
    before.stop()  # the controller dies here

    after = restarted(project, store, at(600))
    line = after.pool.lines["help"]
    assert [e.call_id for e in line] == ["asked"]
    assert line[0].callback.number == "+15550001111"
    assert after.pool.position(after.pool.enqueue("help", "new", 0, at(600))) == 2
    transcript = []
    after.callbacks.dialer = MemoryDialer(after.callbacks, {}, "available", T0, transcript)
    after.pool.set_state("a1", "available", at(601))
    assert after.callbacks.wait_quiet(5)
    assert after.callbacks.results["asked"].status == "answered"
    assert after.callbacks.results["asked"].agent == "a1"
    assert "agent hears: Callback for a customer. Calling the customer now." in [
        line.text for line in transcript
    ]
    assert after.pool.callbacks == {}
    assert restarted(project, store).pool.callbacks == {}


def test_agents_left_ringing_or_talking_by_a_crash_are_repaired_when_the_controller_starts(
    tmp_path,
):
    project = project_in(tmp_path)
    store = tmp_path / "acd.sqlite"
    before = restarted(project, store)
    ringing = before.pool.enqueue("help", "c1", 0, T0)
    talking = before.pool.enqueue("help", "c2", 0, T0)
    before.pool.answered(talking, talking.offer[0], at(2))
    assert ringing.offer == ["a1"]
    before.stop()  # a crash: both calls die with the controller

    after = restarted(project, store, at(60))
    assert after.pool.agents["a1"].state == "ringing"
    after.start(lambda call_id: False)
    try:
        assert after.pool.agents["a1"].state == "available"
        assert after.pool.agents["a2"].state == "available"
        assert after.pool.agents["a2"].calls == 1
    finally:
        after.stop()


def test_a_caller_whose_call_dropped_is_removed_from_the_line_at_once(tmp_path):
    project = project_in(tmp_path)
    services = CallServices(project)
    services.agents.set_state("a1", "busy", T0)
    services.agents.set_state("a2", "busy", T0)
    channel = MemoryChannel(CallInfo("c1", "+1555"), start=T0, steps=[wait(70), hangup()])
    record = Call(services, project.flows["t"], channel).run()
    assert record.outcome == "abandoned"
    assert services.agents.lines["help"] == []
