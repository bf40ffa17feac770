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


def _wav(path, seconds: float) -> None:
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(2)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\1\0\2\0" * int(8000 * seconds))


def _journal_with_recordings(tmp_path) -> tuple[str, dict[str, object]]:
    """A journal of three recorded calls: one kept for ever, one past retention, one within."""
    from ivr.runtime.record import CallRecord, Recording
    from ivr.store import JournalEntry, SqliteJournal

    now = dt.datetime.now(dt.UTC)
    files = {name: tmp_path / "recordings" / f"{name}.wav" for name in ("kept", "old", "new")}
    keep = {"kept": None, "old": now - dt.timedelta(days=1), "new": now + dt.timedelta(days=1)}
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    entries = []
    for name, path in files.items():
        _wav(path, 1.0)
        started = now - dt.timedelta(days=30)
        recording = Recording(str(path), "tenant acme", "recorded", started, keep_until=keep[name])
        recording.seconds, recording.channels, recording.sha256 = seal(str(path))
        entries.append(
            JournalEntry(
                CallRecord(
                    call_id=name,
                    caller="1",
                    dialed="2",
                    flow="t",
                    tenant="acme",
                    started_at=started,
                    ended_at=started,
                    recordings=[recording],
                    outcome="completed",
                )
            )
        )
    journal.write(entries)
    journal.close()
    return str(tmp_path / "journal.sqlite"), files


def test_verify_finds_a_changed_and_a_deleted_recording(tmp_path, capsys):
    journal, files = _journal_with_recordings(tmp_path)
    assert main(["recordings", "verify", "--journal", journal]) == 0
    assert "3 recording(s) checked: 3 intact, 0 changed or missing" in capsys.readouterr().out
    with open(files["kept"], "r+b") as file:
        file.seek(100)
        file.write(b"\x7f\x7f")
    files["new"].unlink()
    assert main(["recordings", "verify", "--journal", journal]) == 1
    out = capsys.readouterr().out
    assert f"changed: {files['kept']} (call kept): sha256 " in out
    assert f"missing: {files['new']} (call new): the file is gone" in out
    assert "3 recording(s) checked: 1 intact, 2 changed or missing" in out


def test_purge_deletes_only_what_retention_lets_go_and_journals_it(tmp_path, capsys):
    journal, files = _journal_with_recordings(tmp_path)
    assert main(["recordings", "purge", "--journal", journal, "--dry-run"]) == 0
    assert f"would delete {files['old']}" in capsys.readouterr().out
    assert all(path.exists() for path in files.values())

    assert main(["recordings", "purge", "--journal", journal]) == 0
    assert "1 recording(s) past their retention deleted, 0 failed" in capsys.readouterr().out
    assert not files["old"].exists()
    assert files["kept"].exists() and files["new"].exists()
    assert main(["recordings", "list", "--journal", journal]) == 0
    listed = {line.split()[2]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert " deleted " in listed["old"] and " recorded " in listed["kept"]
    # A second purge finds nothing left to delete, and verify does not count the deleted one.
    assert main(["recordings", "purge", "--journal", journal]) == 0
    assert "0 recording(s) past their retention deleted" in capsys.readouterr().out
    assert main(["recordings", "verify", "--journal", journal]) == 0
    assert "2 recording(s) checked: 2 intact" in capsys.readouterr().out


def test_recordings_of_a_journal_that_is_not_there_is_a_clear_error(tmp_path, capsys):
    assert main(["recordings", "list", "--journal", str(tmp_path / "none.sqlite")]) == 2
    assert "ivr: --journal: " in capsys.readouterr().err


def test_the_html_report_plays_the_recordings_of_its_calls(tmp_path):
    journal, files = _journal_with_recordings(tmp_path)
    page = tmp_path / "report.html"
    assert main(["report", "--journal", journal, "--format", "html", "--output", str(page)]) == 0
    text = page.read_text()
    section = text[text.index('<section id="recordings">') :]
    for path in files.values():
        assert f'<audio controls preload="none" src="{path.as_uri()}"></audio>' in section


def test_prompts_build_renders_the_consent_prompts_of_flows_tenants_and_queues(tmp_path):
    from ivr.prompts.build import plan
    from ivr.prompts.files import PromptFiles

    flow = QUEUE_FLOW.replace("start: operator", 'start: operator\nrecord: {consent: "Flow says."}')
    tenants = 'tenants:\n  acme: {name: Acme, numbers: ["100"], flow: t, record: {consent: Hi.}}\n'
    project = build(
        tmp_path, flow, **{"queues.yaml": QUEUES, "agents.yaml": AGENTS, "tenants.yaml": tenants}
    )
    report = plan(project, PromptFiles(tmp_path / "cache", tmp_path / "sounds"))
    texts_planned = {job.text for job in report.jobs}
    assert {"Flow says.", "Hi.", "Your conversation with our agent is recorded."} <= (texts_planned)


def test_recordings_of_scenario_runs_are_listed_as_never_sealed_not_as_missing(tmp_path, capsys):
    (tmp_path / "flow.yaml").write_text(CARD_FLOW)
    (tmp_path / "flow.test.yaml").write_text(
        "flow: t\ncases:\n  - name: a card\n    steps:\n      - hear: card number\n"
        '      - press: "4111#"\n    expect: {outcome: completed}\n'
    )
    journal = str(tmp_path / "journal.sqlite")
    assert main(["test", str(tmp_path), "--journal", journal]) == 0
    capsys.readouterr()
    assert main(["recordings", "verify", "--journal", journal]) == 0
    out = capsys.readouterr().out
    assert "unsealed: " in out and "the file is not there" in out
    assert "1 recording(s) checked: 0 intact, 0 changed or missing, 1 never sealed" in out
