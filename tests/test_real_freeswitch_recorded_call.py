"""A recorded call with a card number, through the controller and a real FreeSWITCH.

The flow records the call in stereo from the answer, asks for a card number (a sensitive
input) and puts the caller through to an agent, as tests/test_recording_on_the_line.py does on
the simulated FreeSWITCH. The caller's phone sends a steady tone (their voice), so every moment
of the file has sound on the caller's side unless it is masked. FreeSWITCH writes the file, so
it must run on this machine; skipped unless one is named (``IVR_FS_HOST``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import gevent
from realfs import live_ivr
from wavcheck import read_wav

CALLER_HZ = 600
CALLER_VOICE = f"&playback(tone_stream://%(600000,0,{CALLER_HZ}))"
"""The caller's phone: ten minutes of their voice."""
FLOW = """\
flow: default
record: {stereo: true}
start: welcome
nodes:
  welcome: {type: play, prompt: {sound: tone}, next: card}
  card:
    type: input
    prompt: {sound: tone}
    digits: {min: 16, max: 16}
    terminator: "#"
    timeout: 10s
    save_as: card
    sensitive: true
    next: operator
    on_fail: operator
  operator: {type: queue, queue: support, max_wait: 20s, on_timeout: bye}
  bye: {type: hangup}
"""
QUEUES = "queues:\n  support: {agents: [1001], ring_timeout: 5s, wrap_up: 1s}\n"
AGENTS = "agents:\n  1001: {name: Anna, endpoint: loopback/9196/default}\n"
"""The agent's phone: the echo test, which answers at once and stays."""
MARGIN = 0.3
"""Seconds at each end of a span left out of a check: FreeSWITCH starts writing a little after
the controller asks (the first 100-150 ms are not in the file)."""


def test_a_card_number_typed_into_a_recorded_call_is_silent_in_freeswitchs_stereo_file(
    fs, folder: Path
):
    files = {"default.yaml": FLOW, "queues.yaml": QUEUES, "agents.yaml": AGENTS}
    with live_ivr(fs, folder, files) as ivr:
        call = ivr.call(phone_app=CALLER_VOICE)
        started = call.next("RECORD_START")
        call.next("CHANNEL_EXECUTE", Application="play_and_get_digits")
        gevent.sleep(1.5)  # the caller takes a moment to find the card
        call.press("4111111111111111#")
        call.next("CHANNEL_BRIDGE")
        gevent.sleep(2.0)  # and talks to the agent
        call.hang_up()
        done = call.ended()

    [recording] = done.record.recordings
    assert started.get("Record-File-Path") == recording.path
    assert Path(recording.path).parent.parent.parent == folder / "recordings"
    wav = read_wav(recording.path)
    assert len(wav.channels) == 2
    [(begun, ended)] = recording.masked
    assert ended - begun > 1.5
    masked = (begun + MARGIN, ended - MARGIN)
    assert (wav.peak(0, *masked), wav.peak(1, *masked)) == (0, 0), wav.table(0.25)
    # Around the masked span the caller's voice is in the file (on the left).
    before, after = (0.0, begun - MARGIN), (ended + MARGIN, wav.seconds)
    for span in (before, after):
        assert wav.rms(0, *span) > 1000, (span, wav.table(0.25))
        assert wav.dominant(0, *span, [CALLER_HZ, 440]) == CALLER_HZ, wav.table(0.25)
    assert wav.dominant(1, *before, [CALLER_HZ, 440]) == 440  # the prompt, on the right
    assert done.record.inputs == [("card", "card", "*" * 16)]
    data = Path(recording.path).read_bytes()
    assert (recording.status, recording.channels) == ("recorded", 2)
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
