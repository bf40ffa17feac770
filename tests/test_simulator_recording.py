"""The simulated FreeSWITCH records calls as the real one does, into WAVs a listener can check.

A tiny controller drives a simulated call over real ESL (``test_simulator``'s), records it
with ``uuid_record`` or ``record_session``, and the test then listens to the file with
``wavcheck``: which side holds which sound (``ivr.simulator.recording`` names the tones), where
it is silent, and how long it lasts.
"""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

from test_simulator import (
    ControllerSession,
    names,
    recorded,
    run_call,
    seconds_between,
    sequence,
    trace_sequence,
    variable,
)
from wavcheck import Recording, read_wav

from ivr.freeswitch import commands
from ivr.freeswitch.esl import ESLMessage
from ivr.runtime.memory import Step
from ivr.simulator.recording import (
    AGENT_VOICE_HZ,
    CALLER_VOICE_HZ,
    HOLD_MUSIC_HZ,
    KEY_TONE_SECONDS,
    PROMPT_VOICE_HZ,
    TURN_SECONDS,
)

LEFT, RIGHT = 0, 1
ROWS = [697.0, 770.0, 852.0, 941.0]
COLUMNS = [1209.0, 1336.0, 1477.0, 1633.0]
VOICES = [CALLER_VOICE_HZ, AGENT_VOICE_HZ, HOLD_MUSIC_HZ, PROMPT_VOICE_HZ, 440.0, 700.0, 2000.0]
AUDIBLE = 1000.0
"""RMS above which a span clearly holds a sound (the simulator's tones are about 5000)."""
EDGE = 0.02
"""Seconds left out at both ends of a span checked (a sound starts on a sample boundary)."""


def write_tone_wav(path: Path, hz: float, seconds: float, rate: int = 8000) -> Path:
    """A mono 16-bit WAV of a steady tone, as a prompt the caller would hear."""
    samples = array(
        "h",
        (round(8000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(round(seconds * rate))),
    )
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(samples.tobytes())
    path.with_suffix(".txt").write_text(f"a {hz:g} hertz tone")
    return path


def playable_seconds(path: Path) -> float:
    """How long a player would play the file now (0 when its header names no audio yet)."""
    try:
        return read_wav(path).seconds
    except (EOFError, wave.Error):
        return 0.0


def begin(s: ControllerSession, *, stereo: bool = True) -> str:
    """Connect, hear the recording events too (``myevents`` has none), answer; the uuid."""
    uuid = s.start().get("Unique-ID")
    assert s.command(commands.event_plain(["RECORD_START", "RECORD_STOP"])).ok
    s.execute("answer")
    if stereo:
        s.execute("set", "RECORD_STEREO=true")
    return uuid


def api(s: ControllerSession, command: str) -> str:
    return s.command(commands.api(command)).reply_text


def recording_event(s: ControllerSession, name: str, path: Path) -> ESLMessage:
    return s.wait_for(lambda m: m.event_name == name and m.get("Record-File-Path") == str(path))


def span(s: ControllerSession, start: ESLMessage, name: str, application: str) -> float:
    """Seconds into the recording at which the first ``name`` event of ``application`` fired."""
    event = next(
        m for m in s.messages if m.event_name == name and m.get("Application") == application
    )
    return seconds_between(start, event)


def quiet(recording: Recording, channel: int, start: float, end: float) -> bool:
    """Nothing on that side but the faint noise of an idle leg."""
    return recording.peak(channel, start + EDGE, end - EDGE) <= 1


def zeros(recording: Recording, channel: int, start: float, end: float) -> bool:
    """Digital silence, as only a mask writes."""
    return recording.peak(channel, start + EDGE, end - EDGE) == 0


def holds(recording: Recording, channel: int, start: float, end: float, hz: float) -> bool:
    """The span is loud and ``hz`` is the strongest of the simulator's voices in it."""
    start, end = start + EDGE, end - EDGE
    loud = recording.rms(channel, start, end) > AUDIBLE
    return loud and recording.dominant(channel, start, end, [*VOICES, hz]) == hz


def holds_key(recording: Recording, channel: int, at: float, key_hz: tuple[float, float]) -> bool:
    """A DTMF key sounded up to ``at`` (its DTMF event): row and column are strongest."""
    start, end = at - KEY_TONE_SECONDS + EDGE, at - EDGE
    row, column = key_hz
    return (
        recording.rms(channel, start, end) > AUDIBLE
        and recording.dominant(channel, start, end, ROWS) == row
        and recording.dominant(channel, start, end, COLUMNS) == column
    )


def test_uuid_record_and_record_session_give_the_traces_replies_and_events(tmp_path):
    """The commands of tests/fs_traces/record_call_recording.py, as its driver sent them."""
    first, second, third = (tmp_path / f"{n}.wav" for n in ("first", "second", "third"))

    def script(s: ControllerSession) -> None:
        uuid = s.command(commands.connect()).get("Unique-ID")
        s.command(commands.myevents())
        s.command(commands.event_plain(["RECORD_START", "RECORD_STOP"]))
        s.command(commands.linger())
        s.execute("answer")
        s.execute("set", "RECORD_STEREO=true")
        api(s, f"uuid_record {uuid} start {first}")
        s.execute("playback", "tone_stream://%(1000,0,440)")
        api(s, f"uuid_record {uuid} mask {first}")
        s.execute("playback", "tone_stream://%(1000,0,440)")
        api(s, f"uuid_record {uuid} unmask {first}")
        api(s, f"uuid_record {uuid} stop {first}")
        api(s, f"uuid_record {uuid} mask {first}")
        api(s, f"uuid_record {uuid} start {second}")
        s.execute("record_session", str(third))
        s.execute("playback", "tone_stream://%(500,0,440)")
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    call, session = run_call(script)
    assert sequence(session.messages) == trace_sequence("call_recording.run1")
    trace = recorded("call_recording.run1")
    for name in ("RECORD_START", "RECORD_STOP"):
        ours = [n for n in names(session.events(name)[0]) if not n.startswith("variable_")]
        theirs = next(m for m in trace if m.event_name == name)
        assert ours == [n for n in names(theirs) if not n.startswith("variable_")], name
    stop = next(m for m in trace if m.event_name == "RECORD_STOP")
    record_variables = {n for n in names(stop) if n.startswith("variable_record")}
    assert record_variables <= set(names(session.events("RECORD_STOP")[0]))
    causes = [m.get("Record-Completion-Cause") for m in session.events("RECORD_STOP")]
    assert causes == [
        m.get("Record-Completion-Cause") for m in trace if m.event_name == "RECORD_STOP"
    ]


def test_stereo_puts_prompts_on_the_right_and_the_callers_keys_on_the_left(tmp_path):
    path = tmp_path / "calls" / "stereo.wav"
    prompt = write_tone_wav(tmp_path / "prompt.wav", 700.0, 1.0, rate=16000)
    replies = []

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        replies.append(api(s, f"uuid_record {uuid} start {path}"))
        s.execute("playback", "tone_stream://%(1500,0,440)")
        s.execute("playback", str(prompt))
        s.execute("play_and_get_digits", r"1 1 1 5000 # silence_stream://250 silence digits \d")
        s.execute("playback", "silence_stream://500")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script, [Step("press", "5")], sounds_dir=tmp_path)
    assert replies == ["+OK Success\n"]
    start = recording_event(session, "RECORD_START", path)
    reply = next(m for m in session.messages if m.body == "+OK Success\n")
    assert session.messages.index(start) > session.messages.index(reply)
    key = seconds_between(start, session.events("DTMF")[0])
    recording = read_wav(path)
    table = recording.table()
    assert len(recording.channels) == 2, table
    assert holds(recording, RIGHT, 0.0, 1.5, 440.0), table
    assert quiet(recording, LEFT, 0.0, 1.5), table
    assert holds(recording, RIGHT, 1.5, 2.5, 700.0), table
    assert quiet(recording, LEFT, 1.5, 2.5), table
    assert holds_key(recording, LEFT, key, (770.0, 1336.0)), table
    assert quiet(recording, RIGHT, key - KEY_TONE_SECONDS, key), table


def test_a_prompt_known_only_by_its_words_sounds_as_the_prompt_voice(tmp_path):
    path = tmp_path / "words.wav"
    prompt = tmp_path / "welcome.wav"
    prompt.write_text("not audio")
    prompt.with_suffix(".txt").write_text("Welcome to Acme Bank, how can we help you today?")

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        s.execute("playback", str(prompt))
        s.execute("hangup")
        s.finish()

    call, session = run_call(script)
    start = recording_event(session, "RECORD_START", path)
    said = span(session, start, "CHANNEL_EXECUTE_COMPLETE", "playback")
    recording = read_wav(path)
    assert said > 1.0
    assert holds(recording, RIGHT, 0.0, said, PROMPT_VOICE_HZ), recording.table()
    assert quiet(recording, LEFT, 0.0, said), recording.table()


def test_stereo_swap_puts_what_the_caller_hears_on_the_left(tmp_path):
    path = tmp_path / "swapped.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s, stereo=False)
        s.execute("set", "RECORD_STEREO_SWAP=true")
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("hangup")
        s.finish()

    run_call(script)
    recording = read_wav(path)
    assert holds(recording, LEFT, 0.0, 1.0, 440.0), recording.table()
    assert quiet(recording, RIGHT, 0.0, 1.0), recording.table()


def test_stereo_given_with_the_start_itself_is_for_that_recording_only(tmp_path):
    stereo, mono = tmp_path / "stereo.wav", tmp_path / "mono.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s, stereo=False)
        started = api(s, f"uuid_record {uuid} start {stereo} 0 {{RECORD_STEREO=true}}")
        assert started == "+OK Success\n"
        assert api(s, f"uuid_record {uuid} start {mono}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        assert api(s, f"uuid_record {uuid} stop all") == "+OK Success\n"
        assert api(s, f"uuid_record {uuid} stop all") == "-ERR Cannot stop record session!\n"
        s.execute("hangup")
        s.finish()

    call, session = run_call(script)
    start = recording_event(session, "RECORD_START", stereo)
    assert start.get("Recording-Variable-RECORD_STEREO") == "true"
    assert len(read_wav(stereo).channels) == 2
    assert len(read_wav(mono).channels) == 1
    assert holds(read_wav(stereo), RIGHT, 0.0, 1.0, 440.0)


def test_a_masked_span_is_silent_on_both_sides_and_the_file_keeps_its_length(tmp_path):
    path = tmp_path / "masked.wav"
    replies = []

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(2000,0,440)")
        replies.append(api(s, f"uuid_record {uuid} mask {path}"))
        s.execute(
            "play_and_get_digits",
            r"4 4 1 5000 # tone_stream://%(1000,0,440) silence card \d+",
        )
        replies.append(api(s, f"uuid_record {uuid} unmask {path}"))
        s.execute("playback", "tone_stream://%(2000,0,440)")
        assert api(s, f"uuid_record {uuid} stop {path}") == "+OK Success\n"
        s.execute("hangup")
        s.finish()

    call, session = run_call(script, [Step("press", "1234")])
    assert replies == ["+OK Success\n", "+OK Success\n"]
    start = recording_event(session, "RECORD_START", path)
    stop = recording_event(session, "RECORD_STOP", path)
    masked = span(session, start, "CHANNEL_EXECUTE", "play_and_get_digits")
    unmasked = span(session, start, "CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits")
    keys = [seconds_between(start, m) for m in session.events("DTMF")]
    assert len(keys) == 4 and all(masked < at <= unmasked for at in keys)
    recording = read_wav(path)
    table = recording.table()
    assert recording.seconds == seconds_between(start, stop), table
    assert variable(stop, "record_ms") == str(round(recording.seconds * 1000))
    assert unmasked - masked > 1.0
    assert zeros(recording, LEFT, masked, unmasked), table
    assert zeros(recording, RIGHT, masked, unmasked), table
    # The quiet caller before the mask is an idle line, not the mask's digital silence.
    assert quiet(recording, LEFT, 0.0, masked) and not zeros(recording, LEFT, 0.0, masked), table
    assert holds(recording, RIGHT, 0.0, masked, 440.0), table
    assert holds(recording, RIGHT, unmasked, recording.seconds, 440.0), table


def test_a_paused_span_is_left_out_of_the_file(tmp_path):
    path = tmp_path / "paused.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        assert api(s, f"uuid_record {uuid} pause {path}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(3000,0,440)")
        assert api(s, f"uuid_record {uuid} resume {path}") == "+OK Success\n"
        s.execute("playback", "local_stream://moh")
        s.finish()

    run_call(script, [Step("wait", 6.0), Step("hangup", True)])
    recording = read_wav(path)
    table = recording.table()
    assert recording.seconds == 3.0, table
    assert holds(recording, RIGHT, 0.0, 1.0, 440.0), table
    assert holds(recording, RIGHT, 1.0, 3.0, HOLD_MUSIC_HZ), table


def test_stop_and_hang_up_both_close_their_recording_with_record_stop(tmp_path):
    stopped, hung_up = tmp_path / "stopped.wav", tmp_path / "calls" / "hung_up.wav"
    replies, while_recording = [], []

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        s.execute("record_session", str(stopped))
        assert api(s, f"uuid_record {uuid} start calls/hung_up.wav") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        # As FreeSWITCH's, the file is complete only once it is closed.
        while_recording.append(playable_seconds(stopped))
        s.execute("stop_record_session", str(stopped))
        replies.append(api(s, f"uuid_record {uuid} stop {stopped}"))
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script, sounds_dir=tmp_path)
    assert replies == ["-ERR Cannot stop record session!\n"]
    assert while_recording == [0.0]
    labels = sequence(session.messages)
    assert labels.count("RECORD_START") == 2 and labels.count("RECORD_STOP") == 2
    by_stop = recording_event(session, "RECORD_STOP", stopped)
    assert by_stop.get("Record-Completion-Cause") == "success-maxtime"
    assert variable(by_stop, "record_ms") == "1000"
    by_hangup = recording_event(session, "RECORD_STOP", hung_up)
    assert by_hangup.get("Record-Completion-Cause") == "success-silence"
    assert variable(by_hangup, "record_ms") == "2000"
    last_stop = len(labels) - 1 - labels[::-1].index("RECORD_STOP")
    assert labels.index("CHANNEL_HANGUP") < last_stop < labels.index("CHANNEL_HANGUP_COMPLETE")
    assert variable(by_stop, "record_file_size") == str(stopped.stat().st_size)
    assert read_wav(stopped).seconds == 1.0
    assert read_wav(hung_up).seconds == 2.0
    assert holds(read_wav(hung_up), RIGHT, 1.0, 2.0, 440.0)


def test_uuid_record_answers_mistakes_with_freeswitchs_errors(tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    path = tmp_path / "call.wav"
    replies = {}

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        replies["unknown uuid"] = api(s, f"uuid_record 00000000-no-such-call start {path}")
        replies["mask unrecorded"] = api(s, f"uuid_record {uuid} mask {path}")
        replies["unmask unrecorded"] = api(s, f"uuid_record {uuid} unmask {path}")
        replies["no path"] = api(s, f"uuid_record {uuid} start")
        replies["unknown action"] = api(s, f"uuid_record {uuid} rewind {path}")
        replies["folder is a file"] = api(s, f"uuid_record {uuid} start {blocked}/call.wav")
        replies["start"] = api(s, f"uuid_record {uuid} start {path}")
        replies["start again"] = api(s, f"uuid_record {uuid} start {path}")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script)
    usage = "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
    assert replies == {
        "unknown uuid": "-ERR Cannot locate session!\n",
        "mask unrecorded": "-ERR Cannot mask recording session!\n",
        "unmask unrecorded": "-ERR Cannot unmask recording session!\n",
        "no path": usage,
        "unknown action": usage,
        "folder is a file": "-ERR Cannot record session!\n",
        "start": "+OK Success\n",
        "start again": "+OK Success\n",
    }
    assert [m.get("Record-File-Path") for m in session.events("RECORD_START")] == [str(path)]


def test_the_agent_is_on_the_right_in_turns_and_the_whisper_is_in_no_recording(tmp_path):
    path = tmp_path / "bridged.wav"
    whisper = write_tone_wav(tmp_path / "whisper.wav", 2000.0, 1.5)

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        s.execute("set", "ringback=local_stream://moh")
        s.execute("set", "transfer_ringback=%(2000,4000,440,480)")
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        dial = (
            f"{{group_confirm_key=exec,group_confirm_file=playback {whisper},leg_timeout=15}}"
            "user/1001"
        )
        s.execute("bridge", dial)
        s.finish()

    call, session = run_call(
        script,
        [Step("wait", 12.0), Step("hangup", True)],
        agents={"user/1001": "available"},
        sounds_dir=tmp_path,
    )
    start = recording_event(session, "RECORD_START", path)
    bridged = seconds_between(start, session.events("CHANNEL_BRIDGE")[0])
    recording = read_wav(path)
    table = recording.table()
    assert bridged == 3.5, table
    # The answered caller hears transfer_ringback (not ringback: no hold music).
    assert holds(recording, RIGHT, 0.0, 2.0, 440.0), table
    # 2 to 3.5 s: ringback's pause, while only the agent hears the whisper.
    assert quiet(recording, RIGHT, 2.0, bridged), table
    assert quiet(recording, LEFT, 0.0, bridged), table
    agent_turn = (bridged, bridged + TURN_SECONDS)
    caller_turn = (bridged + TURN_SECONDS, bridged + 2 * TURN_SECONDS)
    assert holds(recording, RIGHT, *agent_turn, AGENT_VOICE_HZ), table
    assert quiet(recording, LEFT, *agent_turn), table
    assert holds(recording, LEFT, *caller_turn, CALLER_VOICE_HZ), table
    assert quiet(recording, RIGHT, *caller_turn), table


def test_a_mono_recording_is_the_mix_of_what_the_caller_says_and_hears(tmp_path):
    path = tmp_path / "mono.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s, stereo=False)
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("play_and_get_digits", r"1 1 1 5000 # silence_stream://250 silence digits \d")
        s.execute("playback", "silence_stream://500")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script, [Step("press", "9")])
    start = recording_event(session, "RECORD_START", path)
    key = seconds_between(start, session.events("DTMF")[0])
    recording = read_wav(path)
    assert len(recording.channels) == 1
    assert holds(recording, 0, 0.0, 1.0, 440.0), recording.table()
    assert holds_key(recording, 0, key, (852.0, 1477.0)), recording.table()


def test_a_minute_of_hold_music_is_recorded_in_simulated_time(tmp_path):
    path = tmp_path / "hold.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        assert api(s, f"uuid_record {uuid} start {path}") == "+OK Success\n"
        s.execute("set", "playback_timeout_sec=60")
        s.execute("playback", "local_stream://moh")
        s.execute("hangup")
        s.finish()

    run_call(script)
    recording = read_wav(path)
    assert recording.seconds == 60.0
    for second in (0.0, 29.0, 59.0):
        assert holds(recording, RIGHT, second, second + 1.0, HOLD_MUSIC_HZ), second
        assert quiet(recording, LEFT, second, second + 1.0), second


def test_a_recording_that_waits_for_the_bridge_holds_only_the_conversation(tmp_path):
    path, never = tmp_path / "agent.wav", tmp_path / "never.wav"
    whisper = write_tone_wav(tmp_path / "whisper.wav", 2000.0, 1.5)

    def script(s: ControllerSession) -> None:
        uuid = begin(s, stereo=False)
        waits = "0 {RECORD_STEREO=true,RECORD_BRIDGE_REQ=true}"
        assert api(s, f"uuid_record {uuid} start {path} {waits}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(2000,0,440)")
        s.execute("set", "hangup_after_bridge=false")
        s.execute(
            "bridge", f"{{group_confirm_key=exec,group_confirm_file=playback {whisper}}}user/1"
        )
        assert api(s, f"uuid_record {uuid} start {never} {waits}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script, [], agents={"user/1": "available"})
    bridged = seconds_between(
        session.events("CHANNEL_BRIDGE")[0], session.events("CHANNEL_UNBRIDGE")[0]
    )
    recording = read_wav(path)
    table = recording.table()
    assert recording.seconds == bridged, table
    assert holds(recording, RIGHT, 0.0, TURN_SECONDS, AGENT_VOICE_HZ), table
    assert holds(recording, LEFT, TURN_SECONDS, 2 * TURN_SECONDS, CALLER_VOICE_HZ), table
    never_bridged = recording_event(session, "RECORD_STOP", never)
    assert never_bridged.get("Record-Completion-Cause") == "empty-file"
    assert variable(never_bridged, "RECORD_DISCARDED") == "true"
    assert not never.exists()


def test_a_recording_with_a_limit_stops_by_itself_when_it_runs_out(tmp_path):
    by_api, by_app = tmp_path / "three.wav", tmp_path / "two.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        assert api(s, f"uuid_record {uuid} start {by_api} 3") == "+OK Success\n"
        s.execute("record_session", f"{by_app} +2")
        s.execute("playback", "tone_stream://%(5000,0,440)")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script)
    played = next(
        m for m in session.events("CHANNEL_EXECUTE_COMPLETE") if m.get("Application") == "playback"
    )
    for path, seconds in ((by_api, 3.0), (by_app, 2.0)):
        start = recording_event(session, "RECORD_START", path)
        stop = recording_event(session, "RECORD_STOP", path)
        assert seconds_between(start, stop) == seconds
        assert session.messages.index(stop) < session.messages.index(played)
        assert stop.get("Record-Completion-Cause") == "success-maxtime"
        assert read_wav(path).seconds == seconds
        assert holds(read_wav(path), RIGHT, 0.0, seconds, 440.0)


def test_the_record_application_keeps_what_the_caller_says_and_nothing_they_hear(tmp_path):
    voicemail, heard = tmp_path / "voicemail.wav", tmp_path / "heard.wav"

    def script(s: ControllerSession) -> None:
        uuid = begin(s)
        only_heard = "0 {RECORD_STEREO=false,RECORD_WRITE_ONLY=true}"
        assert api(s, f"uuid_record {uuid} start {heard} {only_heard}") == "+OK Success\n"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("record", f"{voicemail} 120 200 5")
        s.execute("hangup")
        s.finish()

    run_call(script, [Step("wait", 5.0)])
    message = read_wav(voicemail)
    assert len(message.channels) == 1 and message.seconds == 4.0, message.table()
    assert holds(message, 0, 0.0, 4.0, CALLER_VOICE_HZ), message.table()
    call_side = read_wav(heard)
    assert holds(call_side, 0, 0.0, 1.0, 440.0), call_side.table()
    assert quiet(call_side, 0, 1.0, call_side.seconds), call_side.table()
