"""Faults on the line, from a seed: each one alone, then a random mix over many calls.

Every call runs through the real controller and the simulated FreeSWITCH on a virtual clock, and
after every run the invariants (``ivr.testing.invariants``) must hold: one closed journal entry
per call, no agent stuck, no callback lost, no greenlet, socket or descriptor leaked.
"""

import datetime as dt
import logging
import random
import textwrap
from pathlib import Path

import pytest

from ivr.acd import AgentPool, Callback
from ivr.acd.center import ContactCenter
from ivr.cli import main
from ivr.flow.config import AgentConfig, QueueConfig
from ivr.freeswitch.server import Controller
from ivr.freeswitch.session import OutboundSession
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.runtime.memory import Step
from ivr.runtime.record import CallRecord
from ivr.simulator import Fault, FaultPlan, SimulatedFreeSWITCH
from ivr.simulator.faults import FaultError
from ivr.testing.invariants import Baseline, InvariantsBroken, assert_invariants, check

FLOWS = Path(__file__).parents[1] / "flows"
START = dt.datetime(2026, 11, 23, 10, 0)
BALANCE = [
    Step("hear", "Welcome to Acme Bank"),
    Step("press", "1"),
    Step("hear", "account number"),
    Step("press", "12345678#"),
    Step("hear", "Your balance is"),
    Step("hangup", True),
]
OPERATOR = [Step("press", "0"), Step("hear", "Please hold"), Step("wait", 60.0)]
RINGING_EVENTS = 26
"""Events the operator call sends before CHANNEL_BRIDGE: the agent's phone is ringing."""


@pytest.fixture(scope="module")
def project():
    project = load_project(FLOWS)
    assert project.ok
    return project


class Line:
    """A controller with a contact center, and simulated FreeSWITCHes placing calls to it."""

    def __init__(self, project, tmp_path: Path) -> None:
        self.ended = []
        self.center = ContactCenter(project.agents, project.queues)
        self.controller = Controller(
            project,
            ("127.0.0.1", 0),
            PromptFiles(tmp_path / "prompts", FLOWS),
            on_call_end=self.ended.append,
            recordings_dir=tmp_path / "rec",
            center=self.center,
        )
        self.controller.start()
        self.sims: list[SimulatedFreeSWITCH] = []

    def sim(self, plan: FaultPlan | None) -> SimulatedFreeSWITCH:
        sim = SimulatedFreeSWITCH(self.controller.address, faults=plan, default_agent="available")
        self.sims.append(sim)
        return sim

    def call(self, steps, faults=(), seed=1):
        """One call with ``faults``; its simulated call and its record once both ended."""
        sim = self.sim(FaultPlan(seed, faults))
        call = sim.place_call(list(steps), start=START)
        assert call.wait(60), "the simulated call did not end"
        self.controller.calls.join(timeout=30)
        [ended] = [c for c in self.ended if c.record.call_id == call.uuid]
        return call, ended.record

    def invariants(self, baseline: Baseline | None) -> list[str]:
        self.controller.calls.join(timeout=30)
        calls = [call for sim in self.sims for call in sim.calls]
        for sim in self.sims:
            sim.close()
        return check(
            calls=calls,
            records=self.ended,
            controller=self.controller,
            center=self.center,
            baseline=baseline,
        )

    def close(self) -> None:
        self.controller.drain(timeout=5)
        self.center.stop()


@pytest.fixture
def line(project, tmp_path):
    line = Line(project, tmp_path)
    # The controller's own greenlets and sockets are there before any call: not leaks.
    line.baseline = Baseline.take()
    yield line
    line.close()


@pytest.fixture
def quick_execute_timeout(monkeypatch):
    # A lost event must not hold the call for the production bound (hours) in a test.
    monkeypatch.setattr(OutboundSession, "execute_timeout", 1.0)


def texts(call) -> list[str]:
    return [event.text for event in call.transcript]


def said(call) -> list[str]:
    return [e.text.split("  [file")[0] for e in call.transcript if e.who == "ivr"]


# ------------------------------------------------------------ the plan itself


def test_the_same_seed_strikes_the_same_calls_at_the_same_places():
    mix = [
        Fault("drop_socket", calls=0.3),
        Fault("delay", calls=0.5, seconds=0.01),
        Fault("lose_execute_complete", calls=0.2),
    ]

    def draws(seed):
        plan = FaultPlan(seed, mix)
        return [
            [(s.fault.kind, s.after_events) for s in plan.for_call().strikes] for _ in range(50)
        ]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    struck = [kinds for kinds in draws(7) if kinds]
    assert 10 < len(struck) < 50, "shares below 1 strike some calls, not all"


@pytest.mark.parametrize(
    "values, message",
    [
        ({"kind": "drop_sockets"}, "unknown fault 'drop_sockets'"),
        ({"kind": "delay", "seconds": 0}, "delay: seconds must be above 0"),
        ({"kind": "flood", "count": 10**9}, "flood: count must be from 1 to 1,000,000"),
        ({"kind": "clock_jump", "seconds": 60}, "clock_jump: needs at"),
        ({"kind": "drop_socket", "calls": 1.5}, "calls must be a share from 0 to 1"),
        ({"kind": "drop_socket", "nth": 2}, "drop_socket takes after_events, at, calls, not nth"),
    ],
)
def test_a_fault_described_wrongly_is_refused_with_what_is_wrong(values, message):
    with pytest.raises(FaultError, match=message):
        Fault.from_mapping(values)


# ------------------------------------------------------------ each fault alone


def test_a_socket_dropped_while_the_agent_rings_ends_the_call_as_lost_and_frees_the_agent(line):
    call, record = line.call(OPERATOR, [Fault("drop_socket", after_events=RINGING_EVENTS)])
    assert call.faults.struck == [
        f"dropped the socket before CHANNEL_BRIDGE (event {RINGING_EVENTS + 1})"
    ]
    assert record.outcome == "error"
    assert "the connection to FreeSWITCH is closed" in record.error
    assert line.center.pool.agents["1001"].state not in ("ringing", "on_call")
    assert line.invariants(line.baseline) == []


def test_a_socket_dropped_in_the_menu_journals_the_call_with_the_reason(line):
    call, record = line.call(BALANCE, [Fault("drop_socket", after_events=8)])
    assert "the controller let go of the call; it ends" in texts(call)
    assert record.outcome == "error" and "FreeSWITCH" in record.error
    assert line.invariants(line.baseline) == []


def test_a_socket_dropped_at_a_call_time_breaks_at_the_first_event_after_it(line):
    call, record = line.call(BALANCE, [Fault("drop_socket", at=8.0)])
    [struck] = call.faults.struck
    assert struck.startswith("dropped the socket before ")
    assert [e.at for e in call.transcript if e.text == f"fault: {struck}"][0] >= 8.0
    assert record.outcome == "error" and "FreeSWITCH" in record.error
    assert line.invariants(line.baseline) == []


def test_a_lost_execute_complete_ends_the_call_with_an_apology_and_the_reason_logged(
    line, quick_execute_timeout, caplog
):
    with caplog.at_level(logging.WARNING, logger="ivr.freeswitch"):
        call, record = line.call(BALANCE, [Fault("lose_execute_complete", nth=3)])
    assert call.faults.struck == ["lost the CHANNEL_EXECUTE_COMPLETE of playback"]
    assert record.outcome == "error"
    assert record.error.startswith("channel: no CHANNEL_EXECUTE_COMPLETE for playback within 1s")
    assert "Sorry, we cannot take your call right now" in " ".join(said(call))
    assert call.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
    assert any("no CHANNEL_EXECUTE_COMPLETE for playback" in r.message for r in caplog.records)
    assert line.invariants(line.baseline) == []


def test_a_lost_execute_complete_of_a_bridge_frees_the_agent(line, quick_execute_timeout):
    # The 13th completion is the bridge's, once the agent hung up: the agent must not stay on
    # the call (nor in wrap-up for ever) when the controller never heard the bridge end.
    call, record = line.call(OPERATOR, [Fault("lose_execute_complete", nth=13)])
    assert call.faults.struck == ["lost the CHANNEL_EXECUTE_COMPLETE of bridge"]
    assert record.agent == "1001"
    assert line.center.pool.agents["1001"].state not in ("ringing", "on_call")
    assert line.invariants(line.baseline) == []


def test_events_held_back_in_order_leave_the_call_as_it_was(line):
    clean, clean_record = line.call(BALANCE)
    late, late_record = line.call(BALANCE, [Fault("delay", seconds=0.005, after_events=3)])
    assert late.faults.struck == ["holds each event 0.005s from event 4"]
    assert said(late) == said(clean)
    assert (late_record.outcome, late_record.goals) == (clean_record.outcome, clean_record.goals)
    assert line.invariants(line.baseline) == []


def test_a_flood_of_100000_events_is_read_through_and_the_call_goes_on(line):
    clean, clean_record = line.call(BALANCE)
    flooded, record = line.call(BALANCE, [Fault("flood", count=100_000, after_events=5)])
    assert flooded.faults.struck == ["floods 100,000 events before CHANNEL_EXECUTE_COMPLETE"]
    assert said(flooded) == said(clean)
    assert (record.outcome, record.goals) == ("ivr_hangup", clean_record.goals)
    # The reader dropped the flood as it read it: the resident memory is back near where it was.
    assert line.invariants(line.baseline) == []


@pytest.mark.parametrize("jump", [-3600.0, 3600.0, -30.0])
def test_a_clock_step_leaves_the_call_its_prompts_and_durations_that_never_run_back(line, jump):
    stepped, record = line.call(OPERATOR, [Fault("clock_jump", at=5.0, seconds=jump)])
    assert stepped.faults.struck == [f"the wall clock jumped by {jump:g}s"]
    assert "says: Please hold for the next available operator." in said(stepped)
    assert "user/1001 answers; caller connected" in texts(stepped)
    assert record.outcome == "answered" and record.agent == "1001"
    times = [record.started_at, record.queued_at, record.agent_answered_at, record.ended_at]
    assert times == sorted(times), "the call's times run back"
    assert record.talk_seconds > 0
    assert line.invariants(line.baseline) == []


def test_the_call_clock_goes_on_from_where_it_was_when_freeswitch_steps_back(line):
    # Regression: FreeSWITCH stamps events with the host's wall clock; stepped back an hour,
    # the call used to end 59 minutes before it began.
    _, record = line.call(BALANCE, [Fault("clock_jump", at=5.0, seconds=-3600.0)])
    assert record.ended_at >= record.started_at
    assert (record.ended_at - record.started_at).total_seconds() > 10


# ------------------------------------------------------------ a seeded mix


def test_a_seeded_mix_of_every_fault_over_forty_calls_loses_nothing(line, quick_execute_timeout):
    mix = [
        Fault("drop_socket", calls=0.2),
        Fault("delay", calls=0.2, seconds=0.002),
        Fault("lose_execute_complete", calls=0.2),
        Fault("flood", calls=0.1, count=5_000),
        Fault("clock_jump", calls=0.2, at=8.0, seconds=-600.0),
    ]
    sim = line.sim(FaultPlan(20261123, mix))
    scripts = random.Random(5)
    calls = []
    for _ in range(40):
        calls.append(sim.place_call(list(scripts.choice([BALANCE, OPERATOR])), start=START))
    assert all(call.wait(120) for call in calls)
    struck = {s.fault.kind for call in calls for s in call.faults.strikes if s.done}
    assert struck == {"drop_socket", "delay", "lose_execute_complete", "flood", "clock_jump"}
    assert line.invariants(line.baseline) == []
    assert len(line.ended) == 40


# ------------------------------------------------------------ the invariants can fail


AGENTS = {"a1": AgentConfig("a1", "Ann", "user/a1", ["en"])}
QUEUES = {"sales": QueueConfig("sales", ["a1"], "longest_idle", ring_timeout=15.0)}
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


class Services:
    def __init__(self, pool):
        from ivr.acd import CallbackService

        self.agents = pool
        self.callbacks = CallbackService(pool)


def record(call_id, outcome="completed", **kw):
    return CallRecord(call_id, "+1555", "100", "f", None, T0, ended_at=T0, outcome=outcome, **kw)


def test_the_invariants_name_a_call_journaled_twice_one_not_closed_and_a_bare_error():
    broken = check(
        records=[
            record("c1"),
            record("c1"),
            CallRecord("c2", "+1", "1", "f", None, T0, outcome="ivr_hangup"),
            record("c3", outcome="error"),
        ]
    )
    assert broken == [
        "call c1 has 2 journal entries, not one",
        "call c2 has a journal entry that is not closed",
        "call c3 ended as an error with no reason",
    ]


def test_the_invariants_name_an_agent_left_on_a_call_that_is_gone_and_a_caller_left_in_line():
    pool = AgentPool(AGENTS, QUEUES)
    entry = pool.enqueue("sales", "gone-1", 0, T0)
    pool.answered(entry, "a1", T0)
    pool.enqueue("sales", "gone-2", 0, T0)
    broken = check(center=Services(pool))
    assert "agent a1 is on_call for call gone-1, which is not running" in broken
    assert "call gone-2 still waits in queue sales after it ended" in broken


def test_the_invariants_name_a_callback_lost_and_one_kept_twice():
    pool = AgentPool(AGENTS, QUEUES)
    services = Services(pool)
    kept = pool.enqueue("sales", "c9", 0, T0)
    services.callbacks.schedule(
        kept, Callback("cb9", "+15550009999", "sofia/gateway/pstn/+15550009999"), T0
    )
    pool.lines["sales"].append(kept)
    broken = check(records=[record("c8", outcome="callback", callback="+1555")], center=services)
    assert "the callback call c8 asked for is lost" in broken
    assert "the callback of call c9 is in line 2 times" in broken


def test_the_invariants_name_a_leaked_greenlet_and_socket():
    import gevent
    from gevent import socket

    baseline = Baseline.take()
    stuck = gevent.spawn(gevent.sleep, 30)
    left_open = socket.socket()
    try:
        broken = check(baseline=baseline, settle=0.1)
    finally:
        stuck.kill()
        left_open.close()
    assert "1 greenlet(s) leaked" in broken
    assert "1 file descriptor(s) leaked (1 of them sockets)" in broken
    with pytest.raises(InvariantsBroken, match="2 invariant"):
        baseline = Baseline.take()
        stuck = gevent.spawn(gevent.sleep, 30)
        left_open = socket.socket()
        try:
            assert_invariants(baseline=baseline, settle=0.1)
        finally:
            stuck.kill()
            left_open.close()


def test_traced_memory_that_stays_allocated_is_named_a_leak():
    import tracemalloc

    started = not tracemalloc.is_tracing()
    baseline = Baseline.take(trace=True)
    kept = [bytes(1024) for _ in range(4096)]  # 4 MiB still referenced
    try:
        broken = check(baseline=baseline, settle=0)
    finally:
        del kept
        if started:
            tracemalloc.stop()
    assert any(b.startswith("memory grew by 4.") and "traced" in b for b in broken), broken


# ------------------------------------------------------------ scenario files and the load


SCENARIO = """
    flow: acme_bank
    faults:
      seed: 4
      inject:
        - delay: {hold: 2ms, after_events: 2}
        - flood: {count: 2000}
    cases:
      - name: balance, through a slow and noisy line
        at: "2026-11-23T10:00:00"
        steps:
          - press: "1"
          - press: "12345678#"
          - hear: "Your balance is one thousand two hundred thirty-four dollars"
          - hangup: true
        expect: {outcome: self_served, goals: [balance_told]}
      - name: the socket breaks in the menu
        at: "2026-11-23T10:00:00"
        faults: {inject: [{drop_socket: {after_events: 8}}]}
        steps: [{press: "1"}, {hangup: true}]
        expect: {outcome: error}
"""


def _scenario(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    for source in FLOWS.glob("*.yaml"):
        if not source.name.endswith(".test.yaml"):
            (folder / source.name).write_text(source.read_text())
    if (FLOWS / "data").is_dir():
        (folder / "data").symlink_to((FLOWS / "data").resolve())
    path = folder / "faults.test.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_scenario_files_faults_run_through_esl_with_the_invariants_checked(tmp_path, capsys):
    path = _scenario(tmp_path, SCENARIO)
    assert main(["test", "--via-esl", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "2 passed, 0 failed" in out


def test_a_scenario_with_faults_is_skipped_in_memory_with_the_reason(tmp_path, capsys):
    path = _scenario(tmp_path, SCENARIO)
    main(["test", str(path)])
    out = capsys.readouterr().out
    assert "it has faults:, which strike the line: run it with --via-esl" in out
    assert "2 skipped" in out


def test_mistakes_in_faults_are_reported_at_their_line_and_column(tmp_path, capsys):
    path = _scenario(
        tmp_path,
        """
        flow: acme_bank
        faults:
          seed: 3
          inject:
            - drop_sockt: {after_events: 3}
            - delay: {hold: 10ms, calls: 140}
            - clock_jump: {at: 5s, by: soon}
        cases:
          - name: x
            faults: {inject: [{lose_execute_complete: {nth: 0, when: 3}}]}
            steps: [{hangup: true}]
        """,
    )
    assert main(["validate", str(path.parent)]) == 1
    out = capsys.readouterr().out
    name = str(path)
    assert f"{name}:5:7: error: unknown fault 'drop_sockt'; did you mean 'drop_socket'?" in out
    assert f"{name}:6:34: error: 140 is too large: the most allowed is 100" in out
    assert f"{name}:7:32: error: bad duration 'soon'" in out
    assert f"{name}:10:53: error: 0 is too small: the least allowed is 1" in out
    assert f"{name}:10:56: error: unknown key 'when' (allowed here: nth, calls)" in out
    assert "Traceback" not in out


def test_the_load_generator_counts_the_calls_each_fault_struck(project, tmp_path):
    from gevent.event import Event

    from ivr.loadtest.generator import plans_from_scenarios, run_load
    from ivr.loadtest.report import build_report, render_table

    line = Line(project, tmp_path)
    baseline = Baseline.take()
    try:
        plans = plans_from_scenarios(project, [FLOWS / "acme_bank.test.yaml"])[:3]
        plan = FaultPlan(9, [Fault("drop_socket", calls=0.5, after_events=3)])
        result = run_load(
            line.controller.address,
            plans,
            cps=50,
            duration=10,
            max_calls=12,
            call_limit=3,
            drain_seconds=30,
            sample=lambda: None,
            stop=Event(),
            seed=1,
            faults=plan,
        )
        line.controller.calls.join(timeout=30)
        assert 0 < result.struck["drop_socket"] < 12
        assert result.struck_failed == result.struck["drop_socket"]
        assert result.failures == {}
        report = build_report(result, [], {})
        assert report["faults"]["struck"] == result.struck
        assert "calls struck by drop_socket" in render_table(report)
        assert check(calls=result.calls, records=line.ended, controller=line.controller) == []
        assert check(baseline=baseline) == []
    finally:
        line.close()


def test_a_load_generators_faults_file_with_mistakes_is_refused_before_any_call(tmp_path, capsys):
    path = tmp_path / "faults.yaml"
    path.write_text("faults:\n  seed: 1\n  inject:\n    - flood: {count: 0}\n")
    assert main(["loadtest", str(FLOWS), "--faults", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:4:22: error: 0 is too small: the least allowed is 1" in err
    assert "Traceback" not in err
