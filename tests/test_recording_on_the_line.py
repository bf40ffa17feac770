"""A recorded call through the controller and the simulated FreeSWITCH: what a listener hears.

The caller enters a card number (a sensitive input) and is put through to an agent; the call is
recorded in stereo from the answer. The WAV the simulated FreeSWITCH wrote is read back with
the standard library: the span the journal says was masked is digital silence on both channels
(no key tone of the card number in it), the prompts before it are on the right, and while the
caller talks to the agent the right channel holds only the agent's voice and the left only the
caller's, with the whisper the agent heard on neither. The journal's seal matches the file.
"""

from __future__ import annotations

import hashlib

import pytest
from flowkit import hangup, hear, press, wait
from wavcheck import read_wav

from ivr.project import load_project
from ivr.simulator.recording import AGENT_VOICE_HZ, CALLER_VOICE_HZ, DTMF_HZ, HOLD_MUSIC_HZ
from ivr.testing.scenario import Case, Scenario
from ivr.testing.via_esl import EslRunner

FLOW = """\
flow: t
start: card
record: {stereo: true}
nodes:
  card:
    type: input
    prompt: "Please enter your card number, then press hash."
    digits: {min: 16, max: 16}
    terminator: "#"
    save_as: card
    sensitive: true
    next: operator
    on_fail: operator
  operator:
    type: queue
    queue: help
    prompt: "Please hold for an agent."
    max_wait: 5m
    on_timeout: bye
  bye: {type: hangup}
"""
FILES = {
    "queues.yaml": "queues:\n  help: {agents: [a1], ring_timeout: 15s}\n",
    "agents.yaml": "agents:\n  a1: {name: Anna, endpoint: user/a1}\n",
    "tenants.yaml": 'tenants:\n  acme: {name: Acme Bank, numbers: ["100"], flow: t}\n',
}
CARD = "4111111111111111"
QUIET = 50.0
"""Below this RMS a window holds nothing a listener would notice."""
KEY_HZ = sorted({hz for pair in DTMF_HZ.values() for hz in pair})


@pytest.fixture
def recorded_call(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flow.yaml").write_text(FLOW)
    for name, text in FILES.items():
        (flows / name).write_text(text)
    project = load_project(flows)
    assert project.ok
    runner = EslRunner(project, prompt_cache=tmp_path / "prompts")
    steps = [hear("card number"), press(CARD + "#"), hear("Please hold"), wait(12), hangup()]
    try:
        result = runner.run_case(
            Scenario(flows / "t.test.yaml", "t", []), Case("card", steps, dialed="100")
        )
        assert not result.failures, result.failures
        [recording] = result.record.recordings
        yield result.record, recording, read_wav(recording.path), open(recording.path, "rb").read()
    finally:
        runner.close()


def test_the_card_number_is_silent_on_both_channels_of_the_recording(recorded_call):
    record, recording, wav, _ = recorded_call
    assert len(wav.channels) == 2
    [(begun, ended)] = recording.masked
    assert ended - begun > 1.0  # the prompt and sixteen keys
    inner = (begun + 0.05, ended - 0.05)
    assert (wav.peak(0, *inner), wav.peak(1, *inner)) == (0, 0), wav.table()
    # Before the mask the caller heard the welcome of the call: the input's prompt is masked
    # with its keys, so what comes before is the start of the recording, and after it the
    # queue's prompt and hold music.
    after = wav.span(1, ended, ended + 3.0)
    assert max(abs(s) for s in after) > 1000, wav.table()
    assert record.inputs == [("card", "card", "*" * 16)]


def test_the_agents_side_holds_only_the_agent_and_the_callers_side_only_the_caller(recorded_call):
    record, recording, wav, _ = recorded_call
    bridged = (record.agent_answered_at - recording.started_at).total_seconds()
    heard = {"agent": 0, "caller": 0}
    start = bridged + 0.1
    candidates = [CALLER_VOICE_HZ, AGENT_VOICE_HZ, HOLD_MUSIC_HZ, 400.0, *KEY_HZ]
    while start + 0.5 <= wav.seconds:
        window = (start, start + 0.5)
        if wav.rms(1, *window) > QUIET:
            assert wav.dominant(1, *window, candidates) == AGENT_VOICE_HZ, (start, wav.table())
            heard["agent"] += 1
        if wav.rms(0, *window) > QUIET:
            assert wav.dominant(0, *window, candidates) == CALLER_VOICE_HZ, (start, wav.table())
            heard["caller"] += 1
        start += 0.5
    assert heard["agent"] >= 4 and heard["caller"] >= 4, wav.table()


def test_the_journal_seals_the_file_it_links(recorded_call):
    _, recording, wav, data = recorded_call
    assert recording.status == "recorded"
    assert recording.channels == 2
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert recording.seconds == pytest.approx(wav.seconds, abs=0.01)


def test_a_recording_from_the_agents_answer_that_no_agent_answered_is_journaled_as_discarded(
    tmp_path,
):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flow.yaml").write_text(
        "flow: t\nstart: operator\nnodes:\n"
        "  operator: {type: queue, queue: help, max_wait: 5m, on_timeout: bye}\n"
        "  bye: {type: hangup}\n"
    )
    (flows / "queues.yaml").write_text(
        "queues:\n  help: {agents: [a1], ring_timeout: 15s, record: {stereo: true}}\n"
    )
    (flows / "agents.yaml").write_text(FILES["agents.yaml"])
    project = load_project(flows)
    assert project.ok
    runner = EslRunner(project, prompt_cache=tmp_path / "prompts")
    try:
        result = runner.run_case(
            Scenario(flows / "t.test.yaml", "t", []),
            Case("nobody", [wait(40), hangup()], agents={"a1": "no_answer"}),
        )
    finally:
        runner.close()
    assert result.record.outcome == "abandoned"
    [recording] = result.record.recordings
    assert (recording.owner, recording.status) == ("queue help", "discarded")
