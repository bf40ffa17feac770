"""Call recording on a real FreeSWITCH: what the recorded file holds; skipped unless one is named.

These pin what call recording relies on, measured on the real thing (docs/recording.md says
what else was measured):

- a stereo ``record_session`` started from the controller's own socket puts what the caller
  sends on the left and what the caller hears on the right;
- ``uuid_record <uuid> mask <path>`` writes digital silence on both channels until ``unmask``;
- once the caller is bridged to an agent the recording goes on with the agent on the right, and
  the whisper played to the agent before the bridge is not in it.

Every call is a loopback call handed to a socket of the test's own (the controller's end, as
in production); the far side of the loopback is the caller's (or the agent's) phone, made to
"speak" a tone with ``uuid_broadcast``. Each side has its own frequency, so which channel holds
whom is told by the dominant frequency. FreeSWITCH writes the file, so it must run on this
machine.
"""

from __future__ import annotations

import math
import uuid as uuidlib
import wave
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from gevent.event import AsyncResult
from hostile_text import call_socket
from realfs import events_of, next_event, readable_dir
from wavcheck import Recording, read_wav

from ivr.freeswitch import commands
from ivr.freeswitch.inbound import InboundClient
from ivr.freeswitch.session import OutboundSession

CALLER_HZ = 1000
"""The caller's voice."""
PROMPT_HZ = 440
"""What the IVR plays to the caller."""
AGENT_HZ = 600
"""The agent's voice."""
WHISPER_HZ = 1800
"""The whisper the agent hears before being connected."""
SPAN_MS = 1500
"""How long each played span lasts."""
PHONE = "loopback/^^!answer!park/default/inline"
"""A phone that answers and stays silent until told to play (``^^!``: ``!`` separates apps)."""
CALL_TIMEOUT = 30.0
"""Real seconds a whole recorded call may take."""
WINDOW = 0.1
"""Seconds of each window the file is judged by."""
LOUD = 1000.0
"""RMS above which a window holds a tone (the tones are about 7200; idle lines about 1)."""


def tone(hz: int, ms: int) -> str:
    """FreeSWITCH's tone generator playing ``hz`` for ``ms`` milliseconds."""
    return f"tone_stream://%({ms},0,{hz})"


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder FreeSWITCH's own user can write recordings into and read prompts from."""
    with readable_dir() as work:
        recordings = work / "recordings"
        recordings.mkdir()
        recordings.chmod(0o777)
        yield work


@contextmanager
def recorded_call(
    fs: InboundClient, work: Callable[[OutboundSession, str], object]
) -> Iterator[AsyncResult]:
    """A call handed to our socket, whose session runs ``work(session, phone_uuid)``.

    The phone is the loopback's far side: the caller. Yields the result of ``work`` (or what it
    raised); the call is hung up afterwards, whatever happened.
    """

    def with_phone(session: OutboundSession) -> object:
        phone = session.api(f"uuid_getvar {session.uuid} other_loopback_leg_uuid").strip()
        return work(session, phone)

    ivr_leg = str(uuidlib.uuid4())
    with call_socket(with_phone) as (server, result):
        try:
            fs.originate(
                PHONE,
                commands.socket_app(*server.address),
                variables={"origination_uuid": ivr_leg},
                timeout=10,
            )
            yield result
        finally:
            fs.uuid_kill(ivr_leg)


def start_stereo_recording(session: OutboundSession, path: Path) -> None:
    """Record the controller's leg in stereo, as call recording will."""
    session.execute("set", "RECORD_STEREO=true", wait=False)
    session.execute("record_session", str(path))


def stopped(events, path: Path) -> None:
    """Wait for FreeSWITCH's RECORD_STOP of ``path``: from then on the file is complete."""
    next_event(
        events,
        lambda m: m.get("Record-File-Path") == str(path),
        f"RECORD_STOP of {path}",
        timeout=CALL_TIMEOUT,
    )


def windows(recording: Recording) -> Iterator[tuple[float, float]]:
    """The file's spans of ``WINDOW`` seconds, as (start, end)."""
    for index in range(int(recording.seconds / WINDOW)):
        yield index * WINDOW, (index + 1) * WINDOW


def voices(recording: Recording, channel: int, candidates: list[int]) -> set[int]:
    """The frequencies that dominate the loud windows of ``channel``."""
    return {
        recording.dominant(channel, start, end, candidates)
        for start, end in windows(recording)
        if recording.rms(channel, start, end) > LOUD
    }


def test_a_stereo_recording_holds_the_caller_left_the_ivr_right_and_a_masked_span_silent(
    fs, folder
):
    path = folder / "recordings" / "call.wav"
    record_stops = events_of(fs, "RECORD_STOP")

    def work(session: OutboundSession, phone: str) -> dict[str, str]:
        start_stereo_recording(session, path)
        # The caller speaks all along; the IVR plays three spans, the middle one masked.
        session.api(f"uuid_broadcast {phone} {tone(CALLER_HZ, 4 * SPAN_MS)} aleg")
        session.execute("playback", tone(PROMPT_HZ, SPAN_MS))
        replies = {"mask": session.api(f"uuid_record {session.uuid} mask {path}")}
        session.execute("playback", tone(PROMPT_HZ, SPAN_MS))
        replies["unmask"] = session.api(f"uuid_record {session.uuid} unmask {path}")
        replies["mask elsewhere"] = session.api(
            f"uuid_record {session.uuid} mask {path.with_name('other.wav')}"
        )
        session.execute("playback", tone(PROMPT_HZ, SPAN_MS))
        replies["stop"] = session.api(f"uuid_record {session.uuid} stop {path}")
        return replies

    with recorded_call(fs, work) as result:
        replies = result.get(timeout=CALL_TIMEOUT)
        stopped(record_stops, path)

    assert {name: reply.strip() for name, reply in replies.items()} == {
        "mask": "+OK Success",
        "unmask": "+OK Success",
        "mask elsewhere": "-ERR Cannot mask recording session!",
        "stop": "+OK Success",
    }
    recording = read_wav(path)
    table = recording.table()
    assert len(recording.channels) == 2, table
    both = [CALLER_HZ, PROMPT_HZ]
    assert voices(recording, 0, both) == {CALLER_HZ}, table
    assert voices(recording, 1, both) == {PROMPT_HZ}, table
    masked = [
        (start, end)
        for start, end in windows(recording)
        if recording.peak(0, start, end) == 0 and recording.peak(1, start, end) == 0
    ]
    assert masked, f"no span is silent on both channels:\n{table}"
    first, last = masked[0][0], masked[-1][1]
    # One span, held about as long as the masked playback: digital silence on both sides.
    assert len(masked) == round((last - first) / WINDOW), table
    assert last - first >= 0.7 * SPAN_MS / 1000, table
    for channel in (0, 1):
        assert recording.peak(channel, first, last) == 0, table
        assert recording.rms(channel, 0, first) > LOUD, table
        assert recording.rms(channel, last, recording.seconds) > LOUD, table


def write_tone(path: Path, hz: int, ms: int) -> None:
    """A mono 8 kHz WAV file of a tone, readable by FreeSWITCH's user."""
    rate = 8000
    samples = array(
        "h", (int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(rate * ms // 1000))
    )
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    path.chmod(0o644)


def test_a_recording_goes_on_through_the_bridge_with_the_agent_right_and_no_whisper(fs, folder):
    path = folder / "recordings" / "call.wav"
    whisper = folder / "whisper.wav"
    write_tone(whisper, WHISPER_HZ, SPAN_MS)
    agent = str(uuidlib.uuid4())
    seen = events_of(fs, "RECORD_STOP", "CHANNEL_ANSWER", "CHANNEL_EXECUTE_COMPLETE")

    def work(session: OutboundSession, phone: str) -> str:
        start_stereo_recording(session, path)
        session.api(f"uuid_broadcast {phone} {tone(CALLER_HZ, 10 * SPAN_MS)} aleg")
        session.execute("set", "hangup_after_bridge=false", wait=False)
        # As the controller bridges: the agent's leg plays the whisper on answer.
        session.execute(
            "bridge",
            "{ignore_early_media=true,group_confirm_key=exec,"
            f"group_confirm_file=playback {whisper}}}[origination_uuid={agent}]{PHONE}",
        )
        return session.api(f"uuid_record {session.uuid} stop {path}")

    with recorded_call(fs, work) as result:
        next_event(
            seen,
            lambda m: m.event_name == "CHANNEL_ANSWER" and m.unique_id == agent,
            "the agent's answer",
            timeout=CALL_TIMEOUT,
        )
        agent_phone = fs.api(f"uuid_getvar {agent} other_loopback_leg_uuid").strip()
        fs.api(f"uuid_broadcast {agent_phone} {tone(AGENT_HZ, 3 * SPAN_MS)} aleg")
        whispered = next_event(
            seen,
            lambda m: m.unique_id == agent and m.get("Application") == "playback",
            "the whisper played to the agent",
            timeout=CALL_TIMEOUT,
        )
        next_event(
            seen,
            lambda m: m.unique_id == agent_phone and m.get("Application") == "playback",
            "the end of the agent's words",
            timeout=CALL_TIMEOUT,
        )
        fs.uuid_kill(agent_phone)
        assert result.get(timeout=CALL_TIMEOUT).strip() == "+OK Success"
        stopped(seen, path)

    assert whispered.get("Application-Response") == "FILE PLAYED"
    recording = read_wav(path)
    table = recording.table()
    assert len(recording.channels) == 2, table
    everyone = [CALLER_HZ, PROMPT_HZ, AGENT_HZ, WHISPER_HZ]
    assert voices(recording, 0, everyone) == {CALLER_HZ}, table
    assert voices(recording, 1, everyone) == {AGENT_HZ}, table
