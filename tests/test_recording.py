"""Call recording as the flow drives it: consent, opt-out, masked sensitive entries, policies.

These run on the in-memory channel, which writes no file: what is asserted is what the caller
hears, when the recording starts, stops and is masked, and what the journal keeps of it. The
files themselves (stereo layout, silence where masked) are checked on the simulated and the
real FreeSWITCH.
"""

from __future__ import annotations

import datetime as dt

from flowkit import build, call, hangup, hear, press, texts, wait

from ivr.cli import main
from ivr.runtime.recording import seal
from ivr.testing.cases import DEFAULT_START

DAY = DEFAULT_START.strftime("%Y-%m-%d")

CARD_FLOW = """\
flow: t
start: card
record: {consent: "This call is recorded. Press 9 if you do not want that.", opt_out_key: "9",
         retention: 30d}
nodes:
  card:
    type: input
    prompt: "Please enter your card number."
    digits: {min: 4, max: 16}
    save_as: card
    sensitive: true
    next: thanks
    on_fail: bye
  thanks: {type: play, prompt: "Thank you.", next: bye}
  bye: {type: hangup}
"""


def test_a_recorded_call_tells_the_caller_first_and_masks_the_card_number(tmp_path):
    project = build(tmp_path, CARD_FLOW)
    result = call(project, hear("This call is recorded"), hear("card number"), press("4111#"))
    lines = texts(result)
    consent = lines.index("says: This call is recorded. Press 9 if you do not want that.")
    started = next(i for i, t in enumerate(lines) if t.startswith("records the call to "))
    masked = lines.index("masks the recording")
    asked = lines.index("says: Please enter your card number.")
    unmasked = lines.index("unmasks the recording")
    thanked = lines.index("says: Thank you.")
    assert consent < started < masked < asked < unmasked < thanked
    [recording] = result.record.recordings
    assert recording.status == "recorded"
    assert recording.owner == "flow t"
    assert recording.path.endswith(f"/none/{DAY}/{result.record.call_id}.wav")
    [(begun, ended)] = recording.masked
    assert 0 <= begun < ended
    assert recording.keep_until == recording.started_at + dt.timedelta(days=30)


def test_a_caller_who_presses_the_opt_out_key_is_not_recorded_and_the_journal_says_so(tmp_path):
    project = build(tmp_path, CARD_FLOW)
    result = call(project, press("9"), hear("card number"), press("4111#"))
    lines = texts(result)
    assert not any(t.startswith("records the call") for t in lines)
    assert "masks the recording" not in lines
    [recording] = result.record.recordings
    assert (recording.status, recording.path) == ("declined", "")


QUEUE_FLOW = """\
flow: t
start: operator
nodes:
  operator: {type: queue, queue: help, max_wait: 5m, on_timeout: bye}
  bye: {type: hangup}
"""
QUEUES = """\
queues:
  help:
    agents: [a1]
    record: {consent: "Your conversation with our agent is recorded."}
"""
AGENTS = "agents:\n  a1: {name: Anna, endpoint: user/a1}\n"


def test_a_queue_records_from_the_agents_answer_after_telling_the_caller_at_entry(tmp_path):
    project = build(tmp_path, QUEUE_FLOW, **{"queues.yaml": QUEUES, "agents.yaml": AGENTS})
    result = call(project, hear("is recorded"), wait(30), hangup())
    lines = texts(result)
    told = lines.index("says: Your conversation with our agent is recorded.")
    armed = next(i for i, t in enumerate(lines) if t.startswith("records the call from the"))
    assert told < armed
    assert result.record.outcome == "answered"
    [recording] = result.record.recordings
    assert (recording.owner, recording.status, recording.stereo) == ("queue help", "recorded", True)


def test_a_tenants_policy_wins_over_its_flows(tmp_path):
    flow = CARD_FLOW.replace(
        'record: {consent: "This call is recorded. Press 9 if you do not want that.", '
        'opt_out_key: "9",\n         retention: 30d}',
        "record: {stereo: false}",
    )
    tenants = """\
    tenants:
      acme: {name: Acme, numbers: ["100"], flow: t, record: {retention: 7d}}
    """
    project = build(tmp_path, flow, **{"tenants.yaml": tenants})
    result = call(project, hear("card number"), press("4111#"), dialed="100")
    [recording] = result.record.recordings
    assert recording.owner == "tenant acme"
    assert recording.path.endswith(f"/acme/{DAY}/{result.record.call_id}.wav")
    assert recording.keep_until - recording.started_at == dt.timedelta(days=7)


def _validate(tmp_path, capsys, flow: str, **files: str) -> str:
    (tmp_path / "flow.yaml").write_text(flow)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(["validate", str(tmp_path)]) == 1
    return capsys.readouterr().out


def test_mistakes_in_a_record_option_are_reported_where_they_are(tmp_path, capsys):
    flow = CARD_FLOW.replace(
        'record: {consent: "This call is recorded. Press 9 if you do not want that.", '
        'opt_out_key: "9",\n         retention: 30d}',
        'record: {from: agnet, path: "{tenant}/{caller}.mp3", retention: 30 days}',
    )
    out = _validate(tmp_path, capsys, flow)
    assert (
        "flow.yaml:3:16: error: 'agnet' is not one of: answer, agent; did you mean 'agent'?" in out
    )
    assert "flow.yaml:3:29: error: unknown field {caller} in the recording path" in out
    assert "flow.yaml:3:65: error: bad duration '30 days'" in out


def test_an_opt_out_key_without_consent_and_a_queue_recording_from_the_answer_are_refused(
    tmp_path, capsys
):
    flow = CARD_FLOW.replace(
        'record: {consent: "This call is recorded. Press 9 if you do not want that.", '
        'opt_out_key: "9",\n         retention: 30d}',
        'record: {opt_out_key: "9"}',
    )
    queues = "queues:\n  help:\n    agents: [a1]\n    record: {from: answer}\n"
    out = _validate(tmp_path, capsys, flow, **{"queues.yaml": queues, "agents.yaml": AGENTS})
    assert "flow.yaml:3:9: error: opt_out_key needs a consent prompt" in out
    assert "queues.yaml:4:13: error: a queue's recording starts when an agent answers" in out


def test_a_sealed_file_gives_its_length_channels_and_hash(tmp_path):
    import hashlib
    import wave

    path = tmp_path / "call.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(2)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0\0\0" * 12000)
    assert seal(str(path)) == (1.5, 2, hashlib.sha256(path.read_bytes()).hexdigest())
