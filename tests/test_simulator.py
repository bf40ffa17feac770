"""The simulated FreeSWITCH against recordings of a real one (``tests/fs_traces``).

A small fake controller, written here with the ESL codec's builders and parser, drives the
simulator over TCP the way the trace driver drove FreeSWITCH 1.11.3; the messages it receives
must have the same order, names and key headers as the recorded ones (timestamps and uuids
aside).
"""

from __future__ import annotations

import datetime as dt
import json
import socket as os_socket
import threading
import time
import uuid as uuidlib
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import gevent
import pytest
from gevent import socket
from gevent.event import Event as Flag
from gevent.server import StreamServer

from ivr.freeswitch import commands, esl
from ivr.freeswitch.esl import ESLMessage
from ivr.runtime.memory import Step
from ivr.simulator import SimulatedCall, SimulatedFreeSWITCH, frames

# Recorded from a real FreeSWITCH, kept in the repository as the ground truth (see its README).
TRACES = Path(__file__).resolve().parent / "fs_traces"
START = dt.datetime(2026, 11, 23, 10, 0, 0, tzinfo=dt.UTC)
TIMEOUT = 20.0


# ---------------------------------------------------------------- the fake controller


class ControllerSession:
    """One connection from the simulator, seen from a minimal controller."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.messages: list[ESLMessage] = []
        self.closed = False
        self.finished = Flag()
        self._arrived = Flag()
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        parser = esl.ESLParser()
        try:
            while data := self.sock.recv(65536):
                self.messages.extend(parser.feed(data))
                self._arrived.set()
        except OSError:
            pass  # closed by the test itself
        self.closed = True
        self._arrived.set()

    def wait_for(
        self, predicate: Callable[[ESLMessage], bool], start: int = 0, timeout: float = TIMEOUT
    ) -> ESLMessage:
        with gevent.Timeout(timeout, AssertionError("no such message from the simulator")):
            while True:
                self._arrived.clear()
                for message in self.messages[start:]:
                    if predicate(message):
                        return message
                if self.closed:
                    raise AssertionError("the simulator closed the connection first")
                self._arrived.wait()

    def wait_closed(self) -> None:
        with gevent.Timeout(TIMEOUT, AssertionError("the simulator did not close")):
            while not self.closed:
                self._arrived.clear()
                self._arrived.wait()

    def send(self, data: bytes) -> int:
        mark = len(self.messages)
        self.sock.sendall(data)
        return mark

    def command(self, data: bytes) -> ESLMessage:
        mark = self.send(data)
        return self.wait_for(
            lambda m: m.content_type in ("command/reply", "api/response"), start=mark
        )

    def start(self, *, linger: bool = True) -> ESLMessage:
        data = self.command(commands.connect())
        self.command(commands.myevents())
        if linger:
            self.command(commands.linger())
        return data

    def execute(
        self, app: str, arg: str | None = None, *, event_lock: bool = False, wait: bool = True
    ) -> ESLMessage | str:
        event_uuid = str(uuidlib.uuid4())
        reply = self.command(commands.sendmsg_execute(app, arg, event_uuid, event_lock=event_lock))
        assert reply.reply_text == "+OK"
        if not wait:
            return event_uuid
        return self.completion(event_uuid)

    def completion(self, event_uuid: str) -> ESLMessage:
        return self.wait_for(
            lambda m: (
                m.event_name == "CHANNEL_EXECUTE_COMPLETE" and m.application_uuid == event_uuid
            )
        )

    def finish(self) -> None:
        """After the hang-up: wait for the linger notice, then ``exit``."""
        self.wait_for(lambda m: m.headers.get("Content-Disposition") == "linger")
        self.wait_for(lambda m: m.event_name == "CHANNEL_HANGUP_COMPLETE")
        assert self.command(commands.exit_()).reply_text == "+OK bye"
        self.wait_closed()

    def events(self, name: str) -> list[ESLMessage]:
        return [m for m in self.messages if m.event_name == name]


@contextmanager
def controller(script: Callable[[ControllerSession], None]) -> Iterator[tuple]:
    """A controller on 127.0.0.1 running ``script`` for each call; yields (address, sessions)."""
    sessions: list[ControllerSession] = []
    failures: list[BaseException] = []

    def handle(sock, address) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = ControllerSession(sock)
        sessions.append(session)
        try:
            script(session)
        except BaseException as error:  # the test reports it
            failures.append(error)
            sock.close()
        finally:
            session.finished.set()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        yield server.address, sessions
    finally:
        server.stop()
    if failures:
        raise failures[0]


def run_call(
    script: Callable[[ControllerSession], None],
    steps: list[Step] | None = None,
    **options,
) -> tuple[SimulatedCall, ControllerSession]:
    """Place one call against ``script``; returns the finished call and the controller's view."""
    call_options = {
        k: options.pop(k) for k in ("caller", "caller_name", "dialed", "agents") if k in options
    }
    with controller(script) as (address, sessions):
        sim = SimulatedFreeSWITCH(address, **options)
        call = sim.place_call(steps if steps is not None else [], start=START, **call_options)
        assert call.wait(TIMEOUT), "the simulated call did not finish"
        assert sessions and sessions[0].finished.wait(TIMEOUT), "the controller did not finish"
    return call, sessions[0]


def run_live_call(
    script: Callable[[ControllerSession, SimulatedCall], None], **options
) -> tuple[SimulatedCall, ControllerSession]:
    """Like ``run_call`` with an interactive caller the script can drive."""
    calls: list[SimulatedCall] = []
    with controller(lambda s: script(s, calls[0])) as (address, sessions):
        sim = SimulatedFreeSWITCH(address, **options)
        calls.append(sim.place_call(start=START))
        assert calls[0].wait(TIMEOUT), "the simulated call did not finish"
        assert sessions and sessions[0].finished.wait(TIMEOUT), "the controller did not finish"
    return calls[0], sessions[0]


def started(s: ControllerSession, event_uuid: str) -> ESLMessage:
    return s.wait_for(
        lambda m: m.event_name == "CHANNEL_EXECUTE" and m.application_uuid == event_uuid
    )


def seconds_between(first: ESLMessage, second: ESLMessage) -> float:
    stamps = [int(m.get("Event-Date-Timestamp")) for m in (first, second)]
    return (stamps[1] - stamps[0]) / 1_000_000


def write_prompt(folder: Path, name: str, text: str, seconds: float) -> Path:
    """A WAV of ``seconds`` with its words beside it, as our TTS leaves them."""
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * int(seconds * 8000))
    path.with_suffix(".txt").write_text(text)
    return path


# ---------------------------------------------------------------- the traces


@cache
def trace(name: str) -> list[dict]:
    return [json.loads(line) for line in (TRACES / f"{name}.jsonl").read_text().splitlines()]


def _label(content_type: str, headers: dict, event: dict | None, body: str) -> str:
    if event is not None:
        return event["Event-Name"]
    if content_type == "command/reply":
        return "reply " + headers["Reply-Text"]
    if content_type == "api/response":
        return "api " + body
    return "notice " + headers.get("Content-Disposition", "")


def trace_sequence(name: str) -> list[str]:
    """What FreeSWITCH sent, one label per message, without the racy CHANNEL_PARK."""
    labels = []
    for record in trace(name):
        headers = record["headers"]
        event = record.get("body_headers") or (headers if "Event-Name" in headers else None)
        labels.append(_label(record["content_type"], headers, event, record.get("body", "")))
    return [label for label in labels if label != "CHANNEL_PARK"]


def sequence(messages: list[ESLMessage]) -> list[str]:
    labels = [
        _label(m.content_type, m.headers, m.event, m.body)
        for m in messages
        if m.event_name != "CHANNEL_PARK"
    ]
    return labels


def trace_events(name: str, event_name: str) -> list[dict]:
    found = []
    for record in trace(name):
        event = record.get("body_headers")
        if event and event["Event-Name"] == event_name:
            found.append(event)
    return found


def park_follows_first_sendmsg(messages: list[ESLMessage]) -> bool:
    labels = [_label(m.content_type, m.headers, m.event, m.body) for m in messages]
    return labels.index("CHANNEL_PARK") == labels.index("reply +OK") + 1


@cache
def recorded(name: str) -> list[ESLMessage]:
    """The messages of a trace, parsed from its raw bytes (repeated headers kept)."""
    return esl.ESLParser().feed((TRACES / f"{name}.recv.bin").read_bytes())


def names(message: ESLMessage) -> list[str]:
    return [name for name, _ in (message.event or message.headers).pairs()]


def completions(session: ControllerSession, app: str) -> list[ESLMessage]:
    return [m for m in session.events("CHANNEL_EXECUTE_COMPLETE") if m.get("Application") == app]


def variable(message: ESLMessage, name: str) -> str | None:
    return message.get(f"variable_{name}")


def answer_playback_script(s: ControllerSession) -> None:
    """What the driver of the answer_playback trace did."""
    s.start()
    s.execute("answer")
    s.execute("playback", "tone_stream://%(1000,0,440)")
    s.execute("playback", "/nonexistent.wav")
    s.execute("hangup", "NORMAL_CLEARING")
    s.finish()


# ---------------------------------------------------------------- tests


def test_answer_then_tone_then_missing_file_then_hangup_matches_the_trace():
    call, session = run_call(answer_playback_script)
    assert sequence(session.messages) == trace_sequence("answer_playback.run1")
    assert park_follows_first_sendmsg(session.messages)
    completions = session.events("CHANNEL_EXECUTE_COMPLETE")
    responses = [(m.get("Application"), m.get("Application-Response")) for m in completions]
    assert responses == [
        ("answer", "_none_"),
        ("playback", "FILE PLAYED"),
        ("playback", "FILE NOT FOUND"),
        ("hangup", "_none_"),
        ("socket", "_none_"),
    ]
    assert call.hangup_cause == "NORMAL_CLEARING"


def test_connect_reply_has_the_traces_headers_in_the_traces_order():
    def script(s: ControllerSession) -> None:
        s.start(linger=False)
        s.command(commands.exit_())
        s.wait_closed()

    _, session = run_call(
        script, caller="+15557770000", caller_name="Ann Smith", dialed="18005550199"
    )
    reply = session.messages[0]
    expected = recorded("answer_playback.run1")[0]
    assert names(reply) == names(expected)
    assert names(reply).index("Content-Type") == 105
    assert reply.get("Caller-Caller-ID-Number") == "+15557770000"
    assert reply.get("Channel-Caller-ID-Name") == "Ann Smith"
    assert reply.get("Caller-Destination-Number") == "18005550199"
    assert reply.get("Channel-Channel-Name") == "loopback/18005550199-b"
    assert reply.get("Caller-Channel-Created-Time") == str(int(START.timestamp() * 1_000_000))
    assert reply.get("Event-Date-GMT") == "Mon, 23 Nov 2026 10:00:00 GMT"
    assert (reply.get("Reply-Text"), reply.get("Socket-Mode"), reply.get("Control")) == (
        "+OK\n",
        "async",
        "full",
    )


def test_every_event_of_a_simple_call_has_the_traces_header_names():
    _, session = run_call(answer_playback_script)
    recorded_events = [m for m in recorded("answer_playback.run1") if m.event is not None]
    simulated_events = [m for m in session.messages if m.event is not None]
    assert [names(m) for m in simulated_events] == [names(m) for m in recorded_events]
    ids = session.events("CHANNEL_EXECUTE")
    assert all(m.get("Application-UUID") for m in ids)


def test_a_key_in_playback_terminators_stops_the_prompt_like_barge_in():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "playback_terminators=any")
        done = s.execute("playback", "tone_stream://%(5000,0,440)")
        assert done.get("Application-Response") == "FILE PLAYED"
        assert variable(done, "playback_terminator_used") == "5"
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    call, session = run_call(script, [Step("press", "5")])
    assert sequence(session.messages) == trace_sequence("barge_in.run2")
    assert [m.get("DTMF-Digit") for m in session.events("DTMF")] == ["5"]
    assert call.remaining_steps == []


def test_by_default_only_star_stops_a_playback_other_keys_are_reported():
    calls: list[SimulatedCall] = []

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        event_uuid = s.execute("playback", "tone_stream://%(5000,0,440)", wait=False)
        s.wait_for(lambda m: m.event_name == "CHANNEL_EXECUTE" and m.application_uuid == event_uuid)
        calls[0].press("5*")
        done = s.completion(event_uuid)
        assert variable(done, "playback_terminator_used") == "*"
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    with controller(script) as (address, sessions):
        sim = SimulatedFreeSWITCH(address, settle=0.25)
        calls.append(sim.place_call(start=START))
        assert calls[0].wait(TIMEOUT)
        assert sessions[0].finished.wait(TIMEOUT)
    assert sequence(sessions[0].messages) == trace_sequence("barge_in_default.run1")


def test_play_and_get_digits_results_are_variables_as_in_the_trace():
    prompt = "tone_stream://%(2000,0,350)"
    short = "tone_stream://%(500,0,350)"

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute(
            "play_and_get_digits",
            f"1 1 3 5000 # {prompt} silence_stream://250 menu_choice \\d 2000",
        )
        s.execute(
            "play_and_get_digits",
            f"4 6 3 5000 # {prompt} silence_stream://250 account_number \\d+ 3000",
        )
        s.execute(
            "play_and_get_digits", f"1 1 1 2000 # {short} silence_stream://250 menu_choice \\d 2000"
        )
        s.execute(
            "play_and_get_digits",
            f"1 1 2 3000 # {prompt} silence_stream://250 menu_choice2 [12] 2000",
        )
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    steps = [
        Step("press", "2"),
        Step("press", "1234#"),
        Step("wait", 4.5),  # from the first key of 1234#, past the next menu's timeout
        Step("press", "9"),
        Step("press", "1"),
    ]
    _, session = run_call(script, steps)
    assert sequence(session.messages) == trace_sequence("menu_dtmf.run1")
    wanted = (
        "menu_choice",
        "account_number",
        "read_result",
        "read_terminator_used",
        "menu_choice2",
        "menu_choice2_invalid",
    )
    simulated = [
        {n: variable(m, n) for n in wanted} for m in completions(session, "play_and_get_digits")
    ]
    expected = [
        {n: e.get(f"variable_{n}") for n in wanted}
        for e in trace_events("menu_dtmf.run1", "CHANNEL_EXECUTE_COMPLETE")
        if e.get("Application") == "play_and_get_digits"
    ]
    assert simulated == expected
    timed_out = completions(session, "play_and_get_digits")[2]
    assert variable(timed_out, "menu_choice") is None
    assert variable(timed_out, "read_terminator_used") == "#"


def test_uuid_break_on_the_socket_stops_hold_music_then_the_call_goes_on():
    def script(s: ControllerSession) -> None:
        uuid = s.start().get("Unique-ID")
        s.execute("answer")
        music = s.execute("playback", "local_stream://moh", wait=False)
        started(s, music)
        assert s.command(commands.api(commands.uuid_break(uuid))).body == "+OK\n"
        assert s.completion(music).get("Application-Response") == "FILE PLAYED"
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    _, session = run_call(script, settle=0.25)
    assert sequence(session.messages) == trace_sequence("moh_break.run1")


def test_caller_hanging_up_during_a_prompt_gives_the_traces_hangup_sequence():
    def script(s: ControllerSession, call: SimulatedCall) -> None:
        s.start()
        s.execute("answer")
        tone = s.execute("playback", "tone_stream://%(10000,0,440)", wait=False)
        started(s, tone)
        call.hangup()
        assert s.completion(tone).get("Application-Response") == "PLAYBACK ERROR"
        s.finish()

    call, session = run_live_call(script, settle=0.25)
    assert sequence(session.messages) == trace_sequence("caller_hangup.run1")
    socket_done = completions(session, "socket")[0]
    assert socket_done.get("Application-Response") == "PLAYBACK ERROR"
    complete = session.events("CHANNEL_HANGUP_COMPLETE")[0]
    assert complete.event.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    notice = next(m for m in session.messages if m.headers.get("Content-Disposition") == "linger")
    assert notice.headers.get("Linger-Time") == "-1"
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert ("caller", "hangs up") in [(e.who, e.text) for e in call.transcript]


def test_scripted_caller_hangs_up_while_waiting_on_hold_music():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        music = s.execute("playback", "local_stream://moh", wait=False)
        begun = started(s, music)
        done = s.completion(music)
        assert done.get("Application-Response") == "PLAYBACK ERROR"
        assert seconds_between(begun, done) == pytest.approx(30.0)
        s.finish()

    call, session = run_call(script, [Step("wait", 30.0), Step("hangup", True)])
    hangup = session.events("CHANNEL_HANGUP")[0]
    assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert call.remaining_steps == []


def test_without_linger_the_final_notice_follows_hangup_complete_and_the_socket_closes():
    def script(s: ControllerSession, call: SimulatedCall) -> None:
        s.start(linger=False)
        s.execute("answer")
        tone = s.execute("playback", "tone_stream://%(10000,0,440)", wait=False)
        started(s, tone)
        call.hangup()
        s.wait_closed()

    _, session = run_live_call(script, settle=0.25)
    assert sequence(session.messages) == trace_sequence("caller_hangup_nolinger.run1")
    assert session.messages[-1].body == frames.DISCONNECT_MESSAGE


def test_linger_with_seconds_closes_that_long_after_the_hangup_without_exit():
    def script(s: ControllerSession, call: SimulatedCall) -> None:
        s.start(linger=False)
        assert s.command(commands.linger(5)).reply_text == "+OK will linger 5 seconds"
        s.execute("answer")
        tone = s.execute("playback", "tone_stream://%(10000,0,440)", wait=False)
        started(s, tone)
        call.hangup()
        s.wait_closed()

    _, session = run_live_call(script)
    assert sequence(session.messages) == trace_sequence("caller_hangup_linger5.run1")
    notice = next(m for m in session.messages if m.headers.get("Content-Disposition") == "linger")
    assert notice.headers.get("Linger-Time") == "5"


def test_commands_after_the_hangup_get_ok_and_no_events_and_uuid_break_fails():
    def script(s: ControllerSession, call: SimulatedCall) -> None:
        uuid = s.start().get("Unique-ID")
        s.execute("answer")
        tone = s.execute("playback", "tone_stream://%(10000,0,440)", wait=False)
        started(s, tone)
        call.hangup()
        s.wait_for(lambda m: m.headers.get("Content-Disposition") == "linger")
        s.execute("playback", "tone_stream://%(1000,0,440)", wait=False)
        assert s.command(commands.api(commands.uuid_break(uuid))).body == "-ERR No such channel!\n"
        assert s.command(commands.exit_()).reply_text == "+OK bye"
        s.wait_closed()

    _, session = run_live_call(script, settle=0.25)
    assert sequence(session.messages) == trace_sequence("caller_hangup_late_cmd.run2")


def test_hangup_call_command_hangs_up_without_application_events():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        assert s.command(commands.sendmsg_hangup("NORMAL_CLEARING")).reply_text == "+OK"
        s.finish()

    _, session = run_call(script)
    assert sequence(session.messages) == trace_sequence("hangup_command.run1")


BRIDGE_AGENTS = {
    "loopback/agent_busy/default": "busy",
    "loopback/agent_noanswer/default": "no_answer",
    "user/1001@127.0.0.1": "logged_out",
    "loopback/agent_1001/default": "available",
}


def test_bridge_dispositions_are_the_traces_variables():
    targets = [
        "loopback/agent_busy/default",
        "{leg_timeout=3}loopback/agent_noanswer/default",
        "{originate_timeout=3}loopback/agent_noanswer/default",
        "loopback/no_such_agent/no_such_context",
        "user/1001@127.0.0.1",
        "loopback/agent_1001/default",
    ]

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        for setting in (
            "ringback=local_stream://moh",
            "transfer_ringback=local_stream://moh",
            "hangup_after_bridge=false",
            "continue_on_fail=true",
        ):
            s.execute("set", setting)
        for target in targets:
            s.execute("bridge", target)
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    call, session = run_call(script, agents=BRIDGE_AGENTS)
    assert sequence(session.messages) == trace_sequence("bridge_agent.run1")
    wanted = (
        "originate_disposition",
        "DIALSTATUS",
        "originate_failed_cause",
        "last_bridge_hangup_cause",
        "bridge_hangup_cause",
    )
    simulated = [{n: variable(m, n) for n in wanted} for m in completions(session, "bridge")]
    expected = [
        {n: e.get(f"variable_{n}") for n in wanted}
        for e in trace_events("bridge_agent.run1", "CHANNEL_EXECUTE_COMPLETE")
        if e.get("Application") == "bridge"
    ]
    assert simulated == expected
    assert {m.get("Application-Response") for m in completions(session, "bridge")} == {"_none_"}
    bridged = session.events("CHANNEL_BRIDGE")[0]
    recorded_bridge = next(
        m for m in recorded("bridge_agent.run1") if m.event_name == "CHANNEL_BRIDGE"
    )
    assert [n for n in names(bridged) if not n.startswith("variable_")] == [
        n for n in names(recorded_bridge) if not n.startswith("variable_")
    ]
    assert bridged.get("Other-Leg-Channel-Name") == "loopback/agent_1001-a"
    assert bridged.get("Other-Leg-Destination-Number") == "agent_1001"
    durations = [
        seconds_between(started(session, m.application_uuid), m)
        for m in completions(session, "bridge")
    ]
    assert durations[:5] == pytest.approx([0.0, 3.0, 3.0, 0.0, 0.0])


def test_a_failed_bridge_hangs_up_the_caller_unless_continue_on_fail():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        done = s.execute("bridge", "user/1002")
        assert variable(done, "originate_disposition") == "USER_BUSY"
        s.finish()

    call, session = run_call(script, agents={"user/1002": "busy"})
    hangup = session.events("CHANNEL_HANGUP")[0]
    assert hangup.get("Hangup-Cause") == "USER_BUSY"
    assert call.hangup_cause == "USER_BUSY"


@pytest.mark.parametrize(
    ("event_lock", "trace_name"),
    [(False, "nested_execute.run1"), (True, "nested_execute_eventlock.run1")],
)
def test_an_execute_sent_during_a_playback_nests_unless_event_lock(event_lock, trace_name):
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        outer = s.execute(
            "playback", "tone_stream://%(3000,0,440)", event_lock=event_lock, wait=False
        )
        begun = started(s, outer)
        inner = s.execute(
            "playback", "tone_stream://%(1000,0,600)", event_lock=event_lock, wait=False
        )
        inner_done = s.completion(inner)
        outer_done = s.completion(outer)
        # Nested, the outer playback pauses while the inner one plays: 4 s in all either way.
        assert seconds_between(begun, outer_done) == pytest.approx(3.0 if event_lock else 4.0)
        assert seconds_between(begun, inner_done) == pytest.approx(4.0 if event_lock else 1.0)
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    _, session = run_call(script, settle=0.25)
    assert sequence(session.messages) == trace_sequence(trace_name)


def test_ten_minutes_of_hold_music_with_playback_timeout_pass_in_simulated_time():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "playback_timeout_sec=600")
        music = s.execute("playback", "local_stream://moh", wait=False)
        begun = started(s, music)
        done = s.completion(music)
        assert seconds_between(begun, done) == pytest.approx(600.0)
        # FreeSWITCH reports a playback cut by its timeout as an error unless told otherwise.
        assert done.get("Application-Response") == "PLAYBACK ERROR"
        s.execute("set", "playback_timeout_as_success=true")
        again = s.execute("playback", "local_stream://moh")
        assert again.get("Application-Response") == "FILE PLAYED"
        assert variable(again, "playback_seconds") == "600"
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    call, _ = run_call(script)
    assert call.transcript[-1].at == pytest.approx(1200.0)


def test_caller_hears_the_words_of_each_file_and_presses_when_the_menu_ends(tmp_path):
    welcome = write_prompt(tmp_path, "welcome", "Welcome to Acme Bank.", 1.5)
    menu = write_prompt(tmp_path, "menu", "For your balance press 1.", 2.0)
    goodbye = write_prompt(tmp_path, "goodbye", "Goodbye.", 1.0)

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "playback_terminators=any")
        begun = s.execute("playback", f"file_string://{welcome}!{menu}!{goodbye}", wait=False)
        first = started(s, begun)
        done = s.completion(begun)
        assert variable(done, "playback_terminator_used") == "1"
        assert seconds_between(first, done) == pytest.approx(3.5)
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    steps = [Step("hear", "welcome to ACME   bank"), Step("hear", "balance"), Step("press", "1")]
    call, _ = run_call(script, steps)
    said = [(e.at, e.text) for e in call.transcript if e.who == "ivr" and "says" in e.text]
    assert said == [
        (0.0, f"says: Welcome to Acme Bank.  [file {welcome}]"),
        (1.5, f"says: For your balance press 1.  [file {menu}]"),
    ]
    assert ("caller", "presses 1") in [(e.who, e.text) for e in call.transcript]
    assert call.remaining_steps == []


def test_keys_wait_for_something_that_listens_for_them(tmp_path):
    notice = write_prompt(tmp_path, "notice", "Calls may be recorded.", 2.0)

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "playback_terminators=none")
        quiet = s.execute("playback", str(notice))
        assert variable(quiet, "playback_terminator_used") is None
        got = s.execute("play_and_get_digits", "1 1 1 5000 # silence_stream://250 x ivr_key \\d")
        assert variable(got, "ivr_key") == "7"
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    call, session = run_call(script, [Step("press", "7")])
    first_dtmf = session.events("DTMF")[0]
    # After the 2 s notice and the menu's 0.25 s of silence, a key takes the caller 0.3 s.
    assert seconds_between(session.messages[0], first_dtmf) == pytest.approx(2.55)
    assert call.remaining_steps == []


def test_caller_who_will_hang_up_does_so_before_the_next_prompt(tmp_path):
    first = write_prompt(tmp_path, "first", "First part.", 1.0)
    second = write_prompt(tmp_path, "second", "Second part.", 1.0)

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        done = s.execute("playback", f"file_string://{first}!{second}")
        assert done.get("Application-Response") == "PLAYBACK ERROR"
        s.finish()

    call, _ = run_call(script, [Step("hear", "first part"), Step("hangup", True)])
    lines = [(e.at, e.who, e.text) for e in call.transcript]
    assert (1.0, "caller", "hangs up") in lines
    assert not any("Second part" in text for _, _, text in lines)


def test_set_export_and_multiset_variables_show_in_later_events():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("set", "tenant=acme")
        s.execute("export", "agent_hint=vip customer")
        s.execute("multiset", "lang=en queue=retail")
        s.execute("set", "account=${tenant}-42")
        done = s.execute("set", "tenant=")
        assert variable(done, "tenant") is None
        assert variable(done, "account") == "acme-42"
        assert variable(done, "agent_hint") == "vip customer"
        assert variable(done, "export_vars") == "agent_hint"
        assert (variable(done, "lang"), variable(done, "queue")) == ("en", "retail")
        s.execute("hangup")
        s.finish()

    call, session = run_call(script)
    complete = session.events("CHANNEL_HANGUP_COMPLETE")[0]
    assert variable(complete, "queue") == "retail"
    assert call.variables["agent_hint"] == "vip customer"


def test_record_writes_a_wav_as_long_as_the_caller_talks(tmp_path):
    target = tmp_path / "voicemail" / "msg-1.wav"
    target.parent.mkdir()

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        done = s.execute("record", f"{target} 120 200 5")
        assert (variable(done, "record_seconds"), variable(done, "record_ms")) == ("12", "12000")
        s.execute("hangup")
        s.finish()

    run_call(script, [Step("wait", 12.0)])
    with wave.open(str(target), "rb") as audio:
        assert audio.getnframes() / audio.getframerate() == pytest.approx(12.0)


def test_record_into_a_folder_that_is_not_there_hangs_the_caller_up_as_freeswitch_does(tmp_path):
    # FreeSWITCH's record application cannot open the file and hangs up
    # (switch_ivr_record_file: DESTINATION_OUT_OF_ORDER); it creates no folder.
    target = tmp_path / "missing" / "msg-1.wav"

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("record", f"{target} 120 200 5")
        s.finish()

    _, session = run_call(script, [Step("wait", 12.0)])
    hangup = session.events("CHANNEL_HANGUP_COMPLETE")[0]
    assert hangup.get("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"
    assert not target.parent.exists()


def test_transfer_ends_the_socket_session_and_the_call_goes_on_elsewhere():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("transfer", "1001 XML default")
        s.wait_for(lambda m: m.event_name == "CHANNEL_UNPARK")
        s.wait_for(lambda m: m.get("Application") == "socket")
        s.finish()

    call, session = run_call(script, [Step("wait", 30.0), Step("hangup", True)])
    transferred = completions(session, "transfer")[0]
    after = session.messages[next(i for i, m in enumerate(session.messages) if m is transferred) :]
    assert [m.event_name for m in after if m.event is not None] == [
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_STATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP",
        "CHANNEL_STATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    states = [m.get("Channel-State") for m in session.events("CHANNEL_STATE")]
    assert states == ["CS_ROUTING", "CS_EXECUTE", "CS_HANGUP", "CS_REPORTING"]
    hangup = session.events("CHANNEL_HANGUP")[0]
    assert hangup.get("Caller-Destination-Number") == "1001"
    assert seconds_between(session.messages[0], hangup) == pytest.approx(30.0)
    assert call.remaining_steps == []


def test_agent_hears_the_whisper_then_talks_until_the_caller_hangs_up(tmp_path):
    whisper = write_prompt(tmp_path, "whisper", "Call for Acme Bank.", 1.5)
    leg = str(uuidlib.uuid4())

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "ringback=local_stream://moh")
        dial = (
            "{origination_caller_id_name='Acme: Test Caller',group_confirm_key=exec,"
            f"group_confirm_file=playback {whisper},leg_timeout=15}}"
            f"[origination_uuid={leg}]user/1001,user/1002"
        )
        begun = s.execute("bridge", dial, wait=False)
        first = started(s, begun)
        bridged = s.wait_for(lambda m: m.event_name == "CHANNEL_BRIDGE")
        assert bridged.get("Other-Leg-Unique-ID") == leg
        assert bridged.get("Other-Leg-Caller-ID-Name") == "Acme: Test Caller"
        assert seconds_between(first, bridged) == pytest.approx(3.5)
        s.wait_for(lambda m: m.event_name == "CHANNEL_HANGUP")
        done = s.completion(begun)
        assert variable(done, "bridge_hangup_cause") == "NORMAL_CLEARING"
        answered, rung = variable(done, "originate_causes").split("|:")
        assert (answered, rung.split(";")[1]) == (f"ARRAY::{leg};NONE", "LOSE_RACE")
        s.finish()

    call, session = run_call(
        script,
        [Step("wait", 100.0), Step("hangup", True)],
        agents={"user/1001": "available", "user/1002": "no_answer"},
    )
    labels = sequence(session.messages)
    assert labels.index("CHANNEL_HANGUP") < labels.index("CHANNEL_UNBRIDGE")
    lines = [(e.who, e.text) for e in call.transcript]
    assert ("agent", "hears whisper: Call for Acme Bank.") in lines
    assert ("agent", "user/1001 answers; caller connected") in lines
    assert lines[-1] == ("caller", "hangs up")
    assert any("caller hears local_stream://moh" in text for _, text in lines)


def test_agent_hangs_up_a_minute_after_the_caller_has_nothing_more_to_do():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "hangup_after_bridge=true")
        begun = s.execute("bridge", "user/1001", wait=False)
        bridged = s.wait_for(lambda m: m.event_name == "CHANNEL_BRIDGE")
        unbridged = s.wait_for(lambda m: m.event_name == "CHANNEL_UNBRIDGE")
        assert seconds_between(bridged, unbridged) == pytest.approx(60.0)
        s.completion(begun)
        s.finish()

    call, session = run_call(script, [], agents={"user/1001": "available"})
    labels = sequence(session.messages)
    assert labels.index("CHANNEL_UNBRIDGE") < labels.index("CHANNEL_HANGUP")
    assert ("agent", "user/1001 hangs up") in [(e.who, e.text) for e in call.transcript]


def test_an_application_freeswitch_lacks_hangs_the_call_up():
    def script(s: ControllerSession) -> None:
        s.start()
        assert s.command(commands.sendmsg_execute("no_such_app", None, "x-1")).reply_text == "+OK"
        s.finish()

    call, session = run_call(script)
    assert session.events("CHANNEL_EXECUTE") == []
    assert call.hangup_cause == "DESTINATION_OUT_OF_ORDER"


def test_bad_commands_get_freeswitchs_error_replies():
    def script(s: ControllerSession) -> None:
        uuid = s.start().get("Unique-ID")
        assert s.command(b"myevents\n\n").reply_text == "-ERR aready enabled."
        assert s.command(b"hello\n\n").reply_text == "-ERR command not found"
        assert s.command(b"auth ClueCon\n\n").reply_text == "-ERR command not found"
        assert s.command(b"event plain\n\n").reply_text == "-ERR no keywords supplied"
        assert s.command(b"event plain CHANNEL_ANSWER\n\n").reply_text == (
            "+OK event listener enabled plain"
        )
        assert s.command(b"api status\n\n").body == "-ERR status Command not found!\n"
        assert s.command(b"api uuid_break\n\n").body == "-USAGE: <uuid> [all]\n"
        assert s.command(b"api uuid_break 1234\n\n").body == "-ERR No such channel!\n"
        assert s.command(b"sendmsg 1234\ncall-command: hangup\n\n").reply_text == (
            "-ERR invalid session id [1234]"
        )
        assert s.command(b"getvar uuid\n\n").reply_text == uuid
        assert s.command(b"getvar nothing_here\n\n").reply_text == "-ERR command not found"
        assert s.command(b"nolinger\n\n").reply_text == "+OK will not linger"
        s.execute("hangup")
        s.wait_closed()

    run_call(script)


def test_a_misbehaving_controller_does_not_disturb_another_call():
    def script(s: ControllerSession) -> None:
        caller = s.start().get("Caller-Caller-ID-Number")
        if caller == "+15550000001":
            s.send(b"sendmsg\ncontent-length: lots\n\n")
            s.wait_closed()
            return
        s.execute("answer")
        s.execute("playback", "tone_stream://%(1000,0,440)")
        s.execute("hangup")
        s.finish()

    with controller(script) as (address, sessions):
        sim = SimulatedFreeSWITCH(address)
        rude = sim.place_call([], caller="+15550000001", start=START)
        fine = sim.place_call([], caller="+15550000002", start=START)
        assert rude.wait(TIMEOUT) and fine.wait(TIMEOUT)
        assert all(session.finished.wait(TIMEOUT) for session in sessions)
    assert any("malformed" in e.text for e in rude.transcript)
    assert fine.hangup_cause == "NORMAL_CLEARING"
    assert [e.text for e in fine.transcript][:2] == [
        "answers",
        "plays tone tone_stream://%(1000,0,440)",
    ]


def test_a_live_caller_sees_each_line_as_it_happens_and_keys_reach_a_menu():
    seen = []
    calls: list[SimulatedCall] = []

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        begun = s.execute(
            "play_and_get_digits", "2 2 1 5000 # silence_stream://60000 x pick \\d+", wait=False
        )
        started(s, begun)
        calls[0].press("42")
        assert variable(s.completion(begun), "pick") == "42"
        calls[0].hangup()
        s.finish()

    with controller(script) as (address, sessions):
        sim = SimulatedFreeSWITCH(address, virtual_time=False)
        calls.append(sim.place_call(start=START, on_event=seen.append))
        assert calls[0].wait(TIMEOUT)
        assert sessions[0].finished.wait(TIMEOUT)
    assert [(e.who, e.text) for e in seen][-3:] == [
        ("caller", "presses 4"),
        ("caller", "presses 2"),
        ("caller", "hangs up"),
    ]
    with pytest.raises(TypeError):
        SimulatedFreeSWITCH(("127.0.0.1", 1)).place_call([]).press("1")


def test_the_controller_must_be_on_loopback():
    with pytest.raises(ValueError, match="loopback"):
        SimulatedFreeSWITCH(("192.0.2.10", 8084))
    with pytest.raises(ValueError, match="phone behaviour"):
        SimulatedFreeSWITCH(("127.0.0.1", 8084), agents={"user/1001": "sleeping"})


def test_a_key_cuts_a_sleep_short_and_flush_dtmf_forgets_it():
    def script(s: ControllerSession, call: SimulatedCall) -> None:
        s.start()
        s.execute("answer")
        # Queued together with event-lock they run back to back, with no park in between
        # to drop the key.
        nap = s.execute("sleep", "5000", event_lock=True, wait=False)
        flush = s.execute("flush_dtmf", event_lock=True, wait=False)
        menu = s.execute(
            "play_and_get_digits",
            "1 1 1 2000 # silence_stream://250 x key \\d",
            event_lock=True,
            wait=False,
        )
        begun = started(s, nap)
        call.press("5")
        assert seconds_between(begun, s.completion(nap)) < 5.0
        s.completion(flush)
        assert variable(s.completion(menu), "read_result") == "failure"
        assert s.events("DTMF") == []
        s.execute("sleep", "2000")
        call.hangup()
        s.finish()

    _, session = run_live_call(script, settle=0.25)
    naps = [m for m in session.events("CHANNEL_EXECUTE") if m.get("Application") == "sleep"]
    assert seconds_between(naps[1], completions(session, "sleep")[1]) == pytest.approx(2.0)


def test_call_timeout_limits_how_long_a_bridge_rings():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "call_timeout=7")
        s.execute("set", "continue_on_fail=true")
        begun = s.execute("bridge", "user/1001,user/1002", wait=False)
        first = started(s, begun)
        done = s.completion(begun)
        assert seconds_between(first, done) == pytest.approx(7.0)
        assert (variable(done, "originate_disposition"), variable(done, "DIALSTATUS")) == (
            "NO_ANSWER",
            "NOANSWER",
        )
        s.execute("hangup")
        s.finish()

    call, _ = run_call(script, agents={"user/1001": "no_answer", "user/1002": "no_answer"})
    assert ("ivr", "no answer within 7s") in [(e.who, e.text) for e in call.transcript]


def test_a_scope_prefix_limits_playback_timeout_to_one_playback():
    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "playback_timeout_as_success=true")
        music = s.execute("playback", "%[playback_timeout_sec=3]local_stream://moh", wait=False)
        begun = started(s, music)
        assert begun.get("Application-Data") == "local_stream://moh"
        assert begun.get("scope_variable_playback_timeout_sec") == "3"
        done = s.completion(music)
        assert seconds_between(begun, done) == pytest.approx(3.0)
        tone = s.execute("playback", "tone_stream://%(5000,0,440)", wait=False)
        assert seconds_between(started(s, tone), s.completion(tone)) == pytest.approx(5.0)
        s.execute("hangup")
        s.finish()

    run_call(script)


def test_uuid_break_does_not_end_a_wait_for_digits_or_ringing():
    def script(s: ControllerSession) -> None:
        uuid = s.start().get("Unique-ID")
        s.execute("answer")
        menu = s.execute("play_and_get_digits", "1 1 1 3000 # silence x key \\d", wait=False)
        begun = started(s, menu)
        assert s.command(commands.api(commands.uuid_break(uuid))).body == "+OK\n"
        assert seconds_between(begun, s.completion(menu)) == pytest.approx(3.0)
        ring = s.execute("bridge", "{continue_on_fail=true}user/1001", wait=False)
        rung = started(s, ring)
        assert s.command(commands.api(commands.uuid_break(uuid))).body == "+OK\n"
        bridged = s.wait_for(lambda m: m.event_name == "CHANNEL_BRIDGE")
        assert seconds_between(rung, bridged) == pytest.approx(2.0)
        s.completion(ring)
        s.execute("hangup")
        s.finish()

    run_call(script, settle=0.25, agents={"user/1001": "available"})


def test_a_command_is_timed_when_it_reaches_the_simulator_not_when_a_busy_simulator_reads_it():
    # The controller (an OS thread) sends its first command 50 ms after the connect, while the
    # simulator's loop is blocked until 320 ms: the load generator's busy moments must not
    # count against the controller.
    listener = os_socket.create_server(("127.0.0.1", 0))

    def controller() -> None:
        connection, _ = listener.accept()
        with connection:
            time.sleep(0.05)
            connection.sendall(b"connect\n\n")
            connection.recv(65536)

    thread = threading.Thread(target=controller, daemon=True)
    thread.start()
    try:
        call = SimulatedFreeSWITCH(listener.getsockname()).place_call([], start=START)
        gevent.sleep(0.02)
        time.sleep(0.3)
        assert call.wait(TIMEOUT), "the simulated call did not finish"
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert 0.05 <= call.timings.setup < 0.25


def test_keys_typed_while_no_application_runs_are_dropped_as_in_the_trace():
    calls: list[SimulatedCall] = []
    digits = "1 2 1 2000 # silence_stream://250 silence_stream://1 typed ^\\d+$ 1000"

    def script(s: ControllerSession) -> None:
        s.start()
        s.execute("answer")
        s.execute("set", "playback_terminators=none")
        s.execute("playback", "tone_stream://%(500,0,440)")
        mark = len(s.messages)
        calls[0].press("12")
        s.wait_for(lambda m: m.event_name == "DTMF" and m.get("DTMF-Digit") == "2", start=mark)
        done = s.execute("play_and_get_digits", digits)
        assert variable(done, "typed") is None
        assert variable(done, "read_result") == "failure"
        s.execute("hangup", "NORMAL_CLEARING")
        s.finish()

    with controller(script) as (address, sessions):
        sim = SimulatedFreeSWITCH(address)
        calls.append(sim.place_call(start=START))
        assert calls[0].wait(TIMEOUT)
        assert sessions[0].finished.wait(TIMEOUT)
    assert sequence(sessions[0].messages) == trace_sequence("typed_ahead.run1")
    assert sequence(sessions[0].messages) == trace_sequence("typed_ahead.run2")
    recorded_keys = [e["DTMF-Digit"] for e in trace_events("typed_ahead.run1", "DTMF")]
    assert [m.get("DTMF-Digit") for m in sessions[0].events("DTMF")] == recorded_keys == ["1", "2"]
