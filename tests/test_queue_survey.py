"""A queue's post-call survey: callers opt in while waiting, are surveyed when the agent hangs up.

Each behaviour runs on the in-memory channel (``ivr test``) and, for the survey itself, through
the controller and the simulated FreeSWITCH (``ivr test --via-esl``), where the caller's line
outlives a bridge the agent ended.
"""

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
from flowkit import build, call, hangup, hear, press, said, wait

from ivr.cli import main
from ivr.testing.scenario import AgentSetup, Case, Scenario
from ivr.testing.via_esl import EslRunner

AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1}
"""
QUEUES = """
queues:
  help: {agents: [a1], ring_timeout: 15s}
"""
FLOW = """
flow: t
start: operator
nodes:
  operator:
    type: queue
    queue: help
    prompt: "Please hold."
    announce: {position: true, every: 45s}
    keys: {9: voicemail}
    survey: {offer: "To rate our service after your call, press 1.", next: csat}
  voicemail: {type: record, prompt: "Leave a message.", max: 1m}
  csat:
    type: survey
    question: satisfaction
    prompt: "How satisfied were you? Press 1 to 5."
    scale: 1-5
    next: bye
  bye: {type: hangup, prompt: "Goodbye."}
"""
OFFER = "To rate our service after your call, press 1."
ACCEPTED = "Thank you. Please stay on the line after your call for a short survey."
INTRO = "Thank you for staying on the line for our short survey."
QUESTION = "How satisfied were you? Press 1 to 5."
BUSY_FOR_2M = {"a1": AgentSetup("busy", 120.0)}


def project(tmp_path, flow: str = FLOW):
    return build(tmp_path, flow, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})


def queue_notes(result) -> dict:
    return result.record.visits[0].notes


def survey_notes(result) -> dict:
    return next(v.notes for v in result.record.visits if v.node == "csat")


def via_esl(proj, tmp_path, steps, **case):
    scenario = Scenario(Path(tmp_path / "t.test.yaml"), "t", [])
    runner = EslRunner(proj)
    try:
        return runner.run_case(scenario, Case(name="survey", steps=steps, **case))
    finally:
        runner.close()


OPTS_IN_AND_ANSWERS = [press("1"), wait(30), hear(INTRO), hear(QUESTION), press("4")]
OPTS_IN_AND_HANGS_UP = [press("1"), wait(30), hangup()]


def test_a_caller_who_opts_in_is_surveyed_when_the_agent_hangs_up_first(tmp_path):
    result = call(
        project(tmp_path),
        *OPTS_IN_AND_ANSWERS,
        expect={"agent": "a1", "outcome": "answered", "vars": {"satisfaction": 4}},
    )
    assert result.failures == [], result.report()
    assert said(result) == ["Please hold.", OFFER, ACCEPTED, INTRO, QUESTION, "Goodbye."]
    assert result.record.path == ["operator", "csat", "bye"]
    assert result.record.visits[0].result == "survey"
    assert queue_notes(result) == {"survey": "accepted"}
    assert survey_notes(result) == {"question": "satisfaction", "scale": "1-5", "answer": "4"}
    # The survey comes after the conversation: the talk time is the agent's alone.
    assert result.record.talk_seconds >= 30


def test_a_caller_who_opts_in_while_on_hold_is_surveyed_after_the_call(tmp_path):
    steps = [hear("You are number 1 in line"), press("1"), hear(ACCEPTED), wait(3 * 60)]
    result = call(
        project(tmp_path),
        *steps,
        hear(QUESTION),
        press("2"),
        agents=BUSY_FOR_2M,
        expect={"agent": "a1", "vars": {"satisfaction": 2}},
    )
    assert result.failures == [], result.report()
    assert result.record.path == ["operator", "csat", "bye"]
    assert ("operator", "queue_key", "1") in result.record.inputs


def test_a_caller_who_opts_in_but_hangs_up_on_the_agent_gets_no_survey(tmp_path):
    result = call(project(tmp_path), *OPTS_IN_AND_HANGS_UP)
    assert result.record.path == ["operator"]
    assert result.record.outcome == "answered"
    assert result.record.hung_up_by_caller
    assert queue_notes(result) == {"survey": "accepted"}
    assert INTRO not in said(result)


def test_a_caller_who_did_not_opt_in_is_hung_up_after_the_agent_as_before(tmp_path):
    result = call(project(tmp_path), wait(30))
    assert result.record.path == ["operator"]
    assert result.record.outcome == "answered"
    assert not result.record.hung_up_by_caller
    assert queue_notes(result) == {"survey": "offered"}
    assert said(result) == ["Please hold.", OFFER]
    assert result.transcript[-1].text == "hangs up"


def test_a_queue_key_pressed_over_the_survey_offer_still_leaves_the_queue(tmp_path):
    result = call(project(tmp_path), hear(OFFER), press("9"), wait(5), agents={"a1": "busy"})
    assert result.record.path == ["operator", "voicemail"]
    assert result.record.visits[0].result == "9"


def test_the_opt_in_and_the_intro_can_be_the_flows_own_prompts(tmp_path):
    flow = FLOW.replace(
        "next: csat}",
        'accepted: "Noted.", intro: "One question for you.", next: csat}',
    )
    result = call(project(tmp_path, flow), *OPTS_IN_AND_ANSWERS[:2], hear("One question"))
    assert said(result)[:5] == ["Please hold.", OFFER, "Noted.", "One question for you.", QUESTION]


def test_through_the_simulated_freeswitch_the_caller_stays_on_the_line_for_the_survey(tmp_path):
    result = via_esl(
        project(tmp_path),
        tmp_path,
        [*OPTS_IN_AND_ANSWERS, hear("Goodbye")],
        expect={"agent": "a1", "outcome": "answered", "vars": {"satisfaction": 4}},
    )
    assert result.failures == [], result.report()
    assert result.record.path == ["operator", "csat", "bye"]
    assert survey_notes(result)["answer"] == "4"


def test_through_the_simulated_freeswitch_a_caller_who_hangs_up_first_gets_no_survey(tmp_path):
    result = via_esl(project(tmp_path), tmp_path, OPTS_IN_AND_HANGS_UP)
    assert result.failures == [], result.report()
    assert result.record.path == ["operator"]
    assert result.record.outcome == "answered"


def test_through_the_simulated_freeswitch_a_caller_who_did_not_opt_in_is_not_surveyed(tmp_path):
    result = via_esl(project(tmp_path), tmp_path, [wait(30)])
    assert result.failures == [], result.report()
    assert result.record.path == ["operator"]
    assert result.record.outcome == "answered"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "next: csat}",
            "key: 9, next: csat}",
            "survey key 9 is also in keys:: give the survey its own",
        ),
        ("next: csat}", 'key: "12", next: csat}', "survey key '12' is not one key (0-9, * or #)"),
        ("next: csat}", "key: 1}", "missing required edge 'next'"),
    ],
)
def test_survey_option_mistakes_are_reported_at_their_line_and_column(
    tmp_path, capsys, old, new, message
):
    (tmp_path / "agents.yaml").write_text(textwrap.dedent(AGENTS))
    (tmp_path / "queues.yaml").write_text(textwrap.dedent(QUEUES))
    (tmp_path / "flow.yaml").write_text(textwrap.dedent(FLOW.replace(old, new)).lstrip())
    code = main(["validate", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"flow.yaml:10:13: error: {message}" in out, out


SCENARIO = """
flow: t
cases:
  - name: a caller rates the call 5 after the agent hangs up
    steps:
      - press: "1"
      - wait: 30s
      - hear: "How satisfied were you"
      - press: "5"
    expect: {outcome: answered, vars: {satisfaction: 5}}
  - name: a caller who did not opt in
    steps: [{wait: 30s}]
    expect: {outcome: answered}
"""


@pytest.mark.parametrize("via", [[], ["--via-esl"]])
def test_ivr_test_journal_keeps_the_answer_in_the_survey_visit_notes(tmp_path, capsys, via):
    project(tmp_path)
    scenario = tmp_path / "t.test.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO))
    journal = tmp_path / "journal.sqlite"
    code = main(["test", *via, "--journal", str(journal), str(scenario)])
    assert code == 0, capsys.readouterr().out
    db = sqlite3.connect(journal)
    rows = db.execute(
        "SELECT c.agent, c.queue, v.node, v.result, v.notes FROM visits v "
        "JOIN calls c ON c.id = v.call WHERE v.notes != '{}' ORDER BY c.started_at, v.seq"
    ).fetchall()
    db.close()
    notes = [
        (agent, queue, node, result, json.loads(text)) for agent, queue, node, result, text in rows
    ]
    assert sorted(notes, key=lambda row: (row[2], row[3] or "")) == [
        (
            "a1",
            "help",
            "csat",
            "answered",
            {"question": "satisfaction", "scale": "1-5", "answer": "5"},
        ),
        ("a1", "help", "operator", None, {"survey": "offered"}),
        ("a1", "help", "operator", "survey", {"survey": "accepted"}),
    ]
