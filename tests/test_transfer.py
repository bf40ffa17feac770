"""transfer: a blind hand-off, or an attempt with on_fail; scenarios assert the destination."""

from textwrap import dedent

import pytest

from ivr.cli import main
from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.runtime.memory import Step
from ivr.simulator import SimulatedFreeSWITCH

FLOW = """
flow: desk
start: menu
nodes:
  menu:
    type: menu
    prompt: "For sales press 1. For the front desk press 2."
    choices: {1: sales, 2: front_desk}
    on_fail: bye
  sales:
    type: transfer
    to: "2000"
    prompt: "Putting you through to sales."
    ring_timeout: 20s
    on_fail: sorry
  front_desk:
    type: transfer
    to: "{{ 2000 + 1 }}"
  sorry:
    type: hangup
    prompt: "Sales cannot take your call now. Please call again later."
  bye:
    type: hangup
"""
SCENARIO = """
flow: desk
cases:
  - name: sales answers and the call is theirs
    steps: [{press: "1"}, {hear: "putting you through"}, {wait: 30s}, {hangup: true}]
    expect: {outcome: transferred, transfer: "2000", path: [menu, sales]}
  - name: sales is busy, so the caller hears the apology at once
    destinations: {"2000": busy}
    steps: [{press: "1"}, {hear: "cannot take your call"}]
    expect: {outcome: completed, path: [menu, sales, sorry]}
  - name: nobody at sales answers within the ring timeout
    destinations: {"2000": no_answer}
    steps: [{press: "1"}, {wait: 19s}, {hear: "cannot take your call"}]
    expect: {outcome: completed, path: [menu, sales, sorry]}
  - name: sales' phone is not reachable
    destinations: {"2000": unreachable}
    steps: [{press: "1"}, {hear: "cannot take your call"}]
    expect: {path: [menu, sales, sorry]}
  - name: the front desk takes a blind transfer to a rendered destination
    steps: [{press: "2"}]
    expect: {outcome: transferred, transfer: "2001"}
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "desk.yaml").write_text(dedent(FLOW))
    (tmp_path / "desk.test.yaml").write_text(dedent(SCENARIO))
    return tmp_path


@pytest.mark.parametrize("via", [[], ["--via-esl"]], ids=["in memory", "simulated FreeSWITCH"])
def test_transfer_failure_edges_are_taken_when_the_destination_fails(folder, capsys, via):
    assert main(["test", *via, str(folder / "desk.test.yaml")]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.splitlines()[-1] == "5 passed, 0 failed"


def test_a_scenario_expecting_another_destination_fails_and_says_where_the_call_went(
    folder, capsys
):
    wrong = SCENARIO.replace('transfer: "2001"', 'transfer: "2002"')
    (folder / "desk.test.yaml").write_text(dedent(wrong))
    assert main(["test", str(folder / "desk.test.yaml")]) == 1
    out = capsys.readouterr().out
    assert "expected the call to be transferred to '2002', got '2001'" in out


def test_a_failed_transfer_is_not_counted_as_transferred(folder, capsys):
    wrong = SCENARIO.replace(
        "expect: {outcome: completed, path: [menu, sales, sorry]}",
        'expect: {transfer: "2000"}',
        1,
    )
    (folder / "desk.test.yaml").write_text(dedent(wrong))
    assert main(["test", str(folder / "desk.test.yaml")]) == 1
    assert "expected the call to be transferred to '2000', it was not" in capsys.readouterr().out


def test_an_unknown_destination_state_is_a_scenario_mistake(folder, capsys):
    wrong = SCENARIO.replace('{"2000": busy}', '{"2000": engaged}')
    (folder / "desk.test.yaml").write_text(dedent(wrong))
    assert main(["test", str(folder / "desk.test.yaml")]) == 1
    out = capsys.readouterr().out
    assert "'engaged' is not one of: available, busy, no_answer, unreachable" in out
    assert "desk.test.yaml:8:28: error:" in out


BLIND = """
flow: default
start: front_desk
nodes:
  front_desk:
    type: transfer
    to: "2000"
    prompt: "Putting you through."
"""


def test_a_call_transferred_blind_is_left_to_its_destination_not_hung_up(tmp_path):
    # FreeSWITCH runs a hangup the controller sends after a transfer on the transferred call
    # (the real one cut the caller off from the echo test so); the simulated one does too.
    (tmp_path / "default.yaml").write_text(dedent(BLIND))
    project = load_project(tmp_path)
    assert project.ok
    ended = []
    controller = Controller(
        project,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", tmp_path / "sounds"),
        on_call_end=ended.append,
        recordings_dir=tmp_path / "rec",
    )
    controller.start()
    try:
        freeswitch = SimulatedFreeSWITCH(controller.address, sounds_dir=tmp_path / "sounds")
        call = freeswitch.place_call([Step("wait", 5.0)], dialed="100")
        assert call.wait(timeout=20), "the call did not end"
    finally:
        controller.drain(timeout=5)

    [done] = ended
    assert done.record.outcome == "transferred"
    lines = [(event.who, event.text) for event in call.transcript]
    after = lines[lines.index(("ivr", "transfers the call to 2000")) :]
    assert ("ivr", "hangs up") not in after, call.transcript
    assert ("system", "2000 hangs up") in after, call.transcript
