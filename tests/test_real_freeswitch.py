"""The inbound client and the controller against a real FreeSWITCH; skipped unless one is named.

Run them where FreeSWITCH runs, with its stock (vanilla) dialplan and its event socket::

    pytest tests/test_real_freeswitch.py --fs-host 127.0.0.1:8021 --fs-password ClueCon

Every call is a loopback channel: no phone, no SIP account, no media file. The end-to-end test
starts the controller on a free port of 127.0.0.1 and has FreeSWITCH connect to it, so
FreeSWITCH must run on this machine.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from gevent.event import AsyncResult
from realfs import TonePrompts, events_of, is_loopback, next_event

from ivr.freeswitch import commands
from ivr.freeswitch.inbound import ESLAuthError, InboundClient
from ivr.freeswitch.server import Controller
from ivr.project import load_project

TONE = "tone_stream://%(1000,0,440)"
PARK_TEST = "loopback/9999/default"  # as in the recorded inbound_api trace
# The stock dialplan's echo test: it answers and stays until the other leg hangs up, so the
# caller's side of the loopback call lives exactly as long as the controller keeps the call.
ECHO_TEST = "9196"
CALL_TIMEOUT = 30.0

TONE_FLOW = """\
    flow: default
    description: Plays a one-second tone and hangs up
    start: tone
    nodes:
      tone:
        type: play
        prompt: {sound: tone}
        next: bye
      bye:
        type: hangup
"""


@pytest.fixture
def fs(freeswitch):
    client = InboundClient.connect(freeswitch.host, freeswitch.port, password=freeswitch.password)
    yield client
    client.close()


def test_the_inbound_client_logs_in_and_freeswitch_says_it_is_up(fs):
    assert fs.api("status").startswith("UP ")


def test_a_wrong_password_is_refused_with_esl_auth_error(freeswitch):
    with pytest.raises(ESLAuthError, match="refused the event-socket password"):
        InboundClient.connect(
            freeswitch.host, freeswitch.port, password=freeswitch.password + "-wrong"
        )


def test_an_originated_call_gets_a_uuid_that_uuid_kill_ends(fs):
    hangups = events_of(fs, "CHANNEL_HANGUP_COMPLETE")
    uuid = fs.originate(PARK_TEST, "&park", timeout=10)
    assert fs.api(f"uuid_exists {uuid}").strip() == "true"

    assert fs.uuid_kill(uuid) is True

    next_event(hangups, lambda m: m.unique_id == uuid, f"CHANNEL_HANGUP_COMPLETE for {uuid}")
    assert fs.api(f"uuid_exists {uuid}").strip() == "false"


def test_a_call_put_through_to_the_controller_plays_a_tone_and_ends_completed(
    freeswitch, fs, tmp_path: Path
):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "default.yaml").write_text(dedent(TONE_FLOW))
    project = load_project(tmp_path / "flows")
    assert project.ok, [d.render(project.sources) for d in project.diag.sorted()]
    ended = AsyncResult()
    controller = Controller(
        project,
        ("127.0.0.1", 0),
        TonePrompts(tmp_path / "prompts", tmp_path / "sounds"),
        on_call_end=ended.set,
        recordings_dir=tmp_path / "recordings",
    )
    controller.start()
    finished_apps = events_of(fs, "CHANNEL_EXECUTE_COMPLETE")
    caller = ""
    try:
        host, port = controller.address
        # The new channel answers when the echo test does, then runs the socket application,
        # which connects to the controller as the dialplan's `socket` does for a real caller.
        caller = fs.originate(
            f"loopback/{ECHO_TEST}/default", commands.socket_app(host, port), timeout=10
        )
        call = ended.get(timeout=CALL_TIMEOUT)
    finally:
        if caller:
            fs.uuid_kill(caller)  # leaves nothing up on a failure; False once the flow hung up
        controller.drain(timeout=5)

    assert call.record.call_id == caller
    assert call.record.path == ["tone", "bye"]
    assert call.record.outcome == "completed"
    playback = next_event(
        finished_apps,
        lambda m: m.unique_id == caller and m.get("Application") == "playback",
        "CHANNEL_EXECUTE_COMPLETE of the tone",
    )
    assert playback.get("Application-Data") == TONE
    assert playback.get("Application-Response") == "FILE PLAYED"


def test_a_call_socket_gets_only_the_events_the_controller_reads(freeswitch, fs):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    from gevent.server import StreamServer

    from ivr.freeswitch.session import READ_EVENTS, OutboundSession

    seen: list[str] = []
    played = AsyncResult()

    def handle(sock, address):
        session = OutboundSession(sock, f"{address[0]}:{address[1]}")
        try:
            session.start()
            session.on_event(lambda message: seen.append(message.event_name))
            session.execute("answer", wait=False)
            played.set(session.execute("playback", TONE))
            session.hangup("NORMAL_CLEARING")
        except Exception as exc:  # the test below says what went wrong
            played.set_exception(exc)
        finally:
            session.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    states = events_of(fs, "CHANNEL_STATE")
    caller = ""
    try:
        caller = fs.originate(
            f"loopback/{ECHO_TEST}/default", commands.socket_app(*server.address), timeout=10
        )
        done = played.get(timeout=CALL_TIMEOUT)
    finally:
        if caller:
            fs.uuid_kill(caller)
        server.stop()

    assert done.get("Application-Response") == "FILE PLAYED"
    # FreeSWITCH fired the channel's state changes, but not to the call's socket.
    next_event(states, lambda m: m.unique_id == caller, f"CHANNEL_STATE of {caller}")
    assert "CHANNEL_EXECUTE_COMPLETE" in seen
    assert set(seen) <= set(READ_EVENTS), seen
