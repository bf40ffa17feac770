"""The rest of the hold experience: overflow, messages, skills, estimates, music, event wake-ups."""

from pathlib import Path

import gevent
from flowkit import build, call, hangup, said, texts, wait

from ivr.acd.center import ContactCenter
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import CallServices
from ivr.simulator import SimulatedFreeSWITCH
from ivr.testing.scenario import AgentSetup, Case, Scenario
from ivr.testing.via_esl import EslRunner

AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1, skills: [en]}
  a2: {name: Boris, endpoint: user/a2, skills: [ru]}
  a3: {name: Dana, endpoint: user/a3, skills: [en, ru]}
"""
QUEUES = """
queues:
  help: {agents: [a1, a2], ring_timeout: 15s}
  backup: {agents: [a3], ring_timeout: 15s}
"""
TENANTS = """
tenants:
  acme: {name: Acme Bank, numbers: ["100"], flow: t, hold_music: "local_stream://acme"}
"""
FLOW = """
flow: t
start: q
nodes:
  q:
    type: queue
    queue: help
    announce: {position: true, wait_time: true, every: 45s}
    max_wait: 20m
    on_timeout: late
  late: {type: hangup, prompt: "Nobody could take your call."}
"""
DESIGN_EXAMPLE = """
flow: t
start: operator
vars: {acct: null}
nodes:
  operator:
    type: queue
    queue: help
    priority: "{{ 10 if acct and acct.vip else 0 }}"
    announce: {position: true, wait_time: true, every: 45s}
    max_wait: 10m
    on_timeout: voicemail
    callback: {offer_after: 2m, key: 1}
  voicemail: {type: record, prompt: "Please leave a message.", max: 1m}
"""


def project(tmp_path, flow: str = FLOW, **changes: str):
    for old, new in changes.items():
        flow = flow.replace(old, new)
    files = {"agents.yaml": AGENTS, "queues.yaml": QUEUES, "tenants.yaml": TENANTS}
    return build(tmp_path, flow, **files)


ALL_BUSY = {"a1": "busy", "a2": "busy", "a3": "logged_out"}


def test_overflow_moves_the_caller_to_another_queue_where_another_agent_answers(tmp_path):
    proj = project(
        tmp_path,
        **{"on_timeout: late": "on_timeout: late\n    overflow: {after: 3m, queue: backup}"},
    )
    result = call(proj, wait(600), agents={"a1": "busy", "a2": "busy"})
    record = result.record
    assert (record.outcome, record.agent, record.queue) == ("answered", "a3", "backup")
    assert result.transcript[-1].at > 180


def test_an_overflow_to_a_queue_that_does_not_exist_does_not_compile(tmp_path):
    flow = FLOW.replace(
        "on_timeout: late", "on_timeout: late\n    overflow: {after: 3m, queue: nope}"
    )
    (tmp_path / "flow.yaml").write_text(flow)
    (tmp_path / "queues.yaml").write_text(QUEUES)
    (tmp_path / "agents.yaml").write_text(AGENTS)
    from ivr.project import load_project

    errors = [d.message for d in load_project(tmp_path).diag.errors]
    assert any("queue 'nope' is not defined in queues.yaml" in e for e in errors)


def test_periodic_messages_play_in_turn_between_announcements(tmp_path):
    messages = 'messages: {every: 30s, prompts: ["Try our app.", "Visit acme.example."]}'
    proj = project(tmp_path, **{"max_wait: 20m": f"max_wait: 20m\n    {messages}"})
    spoken = said(call(proj, wait(100), hangup(), agents=ALL_BUSY))
    assert [s for s in spoken if s in ("Try our app.", "Visit acme.example.")] == [
        "Try our app.",
        "Visit acme.example.",
        "Try our app.",
    ]


def test_a_callers_skill_from_a_template_picks_the_agent_who_has_it(tmp_path):
    proj = project(tmp_path, **{"queue: help": 'queue: help\n    skills: "ru"'})
    assert call(proj, wait(30)).record.agent == "a2"


def test_when_empty_counts_only_agents_with_the_callers_skills(tmp_path):
    changes = {
        "queue: help": 'queue: help\n    skills: "ru"\n    when_empty: closed',
        "  late:": '  closed: {type: hangup, prompt: "Closed."}\n  late:',
    }
    result = call(project(tmp_path, **changes), agents={"a2": "logged_out"})
    assert result.record.path == ["q", "closed"]


def test_an_unsure_estimate_is_said_as_more_than_n_minutes(tmp_path):
    agents = {"a1": "busy", "a2": "on_break", "a3": "logged_out"}
    spoken = said(call(project(tmp_path), wait(5), hangup(), agents=agents))
    assert "Your expected wait is more than one minute." in spoken


def test_a_sure_estimate_comes_from_recent_handle_times_and_agents_taking_calls(tmp_path):
    from ivr.runtime.call import Call
    from ivr.runtime.channel import CallInfo
    from ivr.runtime.memory import MemoryChannel
    from ivr.testing.cases import DEFAULT_START

    proj = project(tmp_path)
    services = CallServices(proj)
    for agent in ("a1", "a2"):
        services.agents.set_state(agent, "busy", DEFAULT_START)
    services.agents.handle_times.extend("help", [200.0, 250.0, 300.0])
    services.agents.enqueue("help", "ahead", 0, DEFAULT_START)
    channel = MemoryChannel(CallInfo("c", "+1555"), start=DEFAULT_START, steps=[wait(5), hangup()])
    Call(services, proj.flows["t"], channel).run()
    # Second in line, two agents, 250 s a call: about 250 s, said as about 5 minutes.
    assert "says: Your expected wait is about 5 minutes." in [e.text for e in channel.transcript]


def test_the_tenants_hold_music_plays_when_the_queue_names_none(tmp_path):
    result = call(project(tmp_path), wait(10), hangup(), dialed="100", agents=ALL_BUSY)
    assert "plays hold music local_stream://acme" in texts(result)


def test_the_design_documents_example_node_compiles_and_offers_its_callback(tmp_path):
    proj = project(tmp_path, DESIGN_EXAMPLE)
    agents = {"a1": AgentSetup("busy", 600.0), "a2": "busy"}
    result = call(proj, wait(150), hangup(), agents=agents)
    assert "To be called back without losing your place in line, press 1." in said(result)


def test_an_agent_logging_in_stops_the_hold_music_and_rings_at_once_over_freeswitch(tmp_path):
    proj = project(tmp_path, **{"announce: {position: true, wait_time: true, every: 45s}": ""})
    center = ContactCenter(proj.agents, proj.queues)
    for agent_id in ("a1", "a2", "a3"):
        center.pool.logout(agent_id, center.clock())
    controller = Controller(
        proj,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", tmp_path),
        recordings_dir=tmp_path / "rec",
        center=center,
    )
    controller.start()
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=False, default_agent="busy")
    try:
        caller = sim.place_call(None, dialed="100")
        with gevent.Timeout(10):
            while not any("plays hold music" in e.text for e in caller.transcript):
                gevent.sleep(0.02)
        gevent.sleep(0.2)
        logged_in = len(caller.commands)
        center.pool.login("a1", center.clock())
        with gevent.Timeout(5):
            while not any(c.headers.get("execute-app-name") == "bridge" for c in caller.commands):
                gevent.sleep(0.005)
        # The login itself breaks the hold music and rings the agent: nothing plays in between.
        since_login = caller.commands[logged_in:]
        assert since_login[0].line.startswith("api uuid_break")
        apps = [c.headers.get("execute-app-name") for c in since_login[1:]]
        assert set(apps[: apps.index("bridge")]) == {"set"}
        caller.hangup()
        caller.wait(10)
    finally:
        sim.close()
        controller.drain(timeout=5)


MISSING_MUSIC_QUEUES = "queues:\n  help: {agents: [a1], hold_music: /nonexistent/hold.wav}\n"


def test_hold_music_that_cannot_be_played_gives_way_to_the_default_music(tmp_path):
    proj = build(
        tmp_path,
        "flow: t\nstart: q\nnodes:\n  q: {type: queue, queue: help}\n",
        **{"agents.yaml": "agents:\n  a1: {name: Anna, endpoint: user/a1}\n"},
        **{"queues.yaml": MISSING_MUSIC_QUEUES},
    )
    scenario = Scenario(Path(tmp_path / "t.test.yaml"), "t", [])
    case = Case(name="missing music", steps=[wait(30), hangup()], agents={"a1": "busy"})
    runner = EslRunner(proj)
    try:
        result = runner.run_case(scenario, case)
    finally:
        runner.close()
    assert result.failures == [], result.report()
    lines = [e.text for e in result.transcript]
    missing = lines.index("cannot play /nonexistent/hold.wav: file not found")
    # Once: the default music plays for the rest of the wait, not the missing file again.
    assert lines[missing + 1 :] == ["plays hold music local_stream://moh", "hangs up"]
    assert result.record.outcome == "abandoned"


def test_the_default_music_stays_the_ringback_when_an_agent_is_rung_after_it(tmp_path):
    proj = build(
        tmp_path,
        "flow: t\nstart: q\nnodes:\n  q: {type: queue, queue: help}\n",
        **{"agents.yaml": "agents:\n  a1: {name: Anna, endpoint: user/a1}\n"},
        **{"queues.yaml": MISSING_MUSIC_QUEUES},
    )
    scenario = Scenario(Path(tmp_path / "t.test.yaml"), "t", [])
    case = Case(
        name="missing music, then an agent",
        steps=[wait(10)],
        agents={"a1": AgentSetup("busy", 5.0)},
        expect={"outcome": "answered"},
    )
    runner = EslRunner(proj)
    try:
        result = runner.run_case(scenario, case)
    finally:
        runner.close()
    assert result.failures == [], result.report()
    rings = [e.text for e in result.transcript if e.text.startswith("rings user/a1")]
    assert rings and all(r.endswith("(caller hears local_stream://moh)") for r in rings), rings
