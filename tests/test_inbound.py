"""The inbound event-socket client against a fake FreeSWITCH that answers as the traces show.

The fake speaks what ``tests/fs_traces`` recorded from FreeSWITCH 1.11.3 (inbound_api,
inbound_badauth): ``auth/request`` on connect, ``+OK accepted`` or ``-ERR invalid`` then the
final notice and the close, ``api/response`` bodies, ``+OK Job-UUID: ...`` then a BACKGROUND_JOB
event, the recorded channel events byte for byte, ``+OK bye`` on ``exit``. Like FreeSWITCH it
answers one connection's commands in order and sends only subscribed events.
"""

from __future__ import annotations

import json
import logging
import socket
from functools import cache
from pathlib import Path

import gevent
import pytest
from gevent.queue import Queue
from gevent.server import StreamServer

from ivr.freeswitch import esl
from ivr.freeswitch.inbound import (
    ESLAuthError,
    ESLConnectError,
    InboundClient,
    InboundClosed,
    OriginateError,
    originate_result,
)
from ivr.simulator import frames
from ivr.simulator.commands import ESLCommand, ESLCommandParser

# Recorded from a real FreeSWITCH, kept in the repository as the ground truth (see its README).
TRACES = Path(__file__).resolve().parent / "fs_traces"

# `api status` as inbound_api.run1 recorded it.
STATUS = (
    "UP 0 years, 0 days, 0 hours, 7 minutes, 28 seconds, 578 milliseconds, 210 microseconds\n"
    "FreeSWITCH (Version 1.11.3-dev git cc93a68 2026-08-21 14:10:14Z 64bit) is ready\n"
    "140 session(s) since startup\n"
    "0 session(s) - peak 6, last 5min 4 \n"
    "0 session(s) per Sec out of max 30, peak 6, last 5min 6 \n"
    "1000 session(s) max\n"
    "min idle cpu 0.00/98.90\n"
    "Current Stack Size/Max 240K/8192K\n"
)
ORIGINATED_UUID = "982014bc-aba2-4edd-9762-260c43e5230c"  # the a-leg of inbound_api.run1
NEVER = 3600.0


@cache
def recorded(name: str) -> list[dict]:
    lines = (TRACES / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def recorded_frames(name: str, event_names: set[str]) -> list[bytes]:
    """The exact bytes FreeSWITCH sent for the events of those names, in recorded order."""
    data = (TRACES / f"{name}.recv.bin").read_bytes()
    return [
        data[m["offset"] : m["offset"] + m["length"]]
        for m in recorded(name)
        if m.get("body_headers", {}).get("Event-Name") in event_names
    ]


def background_job(job_uuid: str, command: str, output: str) -> bytes:
    """A BACKGROUND_JOB event with the recorded headers, for our job and its output."""
    record = next(
        m
        for m in recorded("inbound_api.run1")
        if m.get("content_type") == "text/event-plain"
        and m["body_headers"]["Event-Name"] == "BACKGROUND_JOB"
    )
    name, _, argument = command.partition(" ")
    ours = {"Job-UUID": job_uuid, "Job-Command": name, "Job-Command-Arg": argument}
    headers = [
        (key, ours.get(key, value))
        for key, value in record["body_headers"].items()
        if key != "Content-Length"  # encode_event computes it from the output
    ]
    return frames.encode_event(headers, output)


class FakeFreeSWITCH:
    """FreeSWITCH's inbound event socket on a free loopback port.

    Args:
        greeting: What a new connection gets first (FreeSWITCH: ``auth/request``).
        api: Output of api commands by command line; a ``(seconds, output)`` pair answers
            after that delay, holding the later commands back as FreeSWITCH does.
        denied: Commands (``event``, ``bgapi``) refused as for a user whose event-socket
            permissions leave them out.
        port: where to listen (0: a free port).
    """

    def __init__(
        self,
        *,
        password: str = "ClueCon",
        greeting: bytes = frames.encode_auth_request(),
        api: dict[str, str | tuple[float, str]] | None = None,
        denied: frozenset[str] = frozenset(),
        port: int = 0,
    ) -> None:
        self.password = password
        self.denied = denied
        self.greeting = greeting
        self.api = {"status": STATUS, **(api or {})}
        self.originate_output = f"+OK {ORIGINATED_UUID}\n"
        self.hold_jobs = False
        self.held_jobs: list[bytes] = []
        self.commands: list[ESLCommand] = []
        self.subscribed: set[str] = set()
        self.connections: list[socket.socket] = []
        self.server = StreamServer(("127.0.0.1", port), self._serve)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    def stop(self) -> None:
        self.server.stop(timeout=1)

    def send(self, data: bytes) -> None:
        """Send raw bytes on the latest connection."""
        self.connections[-1].sendall(data)

    def drop(self) -> None:
        """Close the latest connection without a word, as a crashing FreeSWITCH would."""
        self.connections[-1].close()

    def release_jobs(self, order: list[int]) -> None:
        """Send the held BACKGROUND_JOB events, in that order of their starting."""
        for index in order:
            self.send(self.held_jobs[index])

    def line_sent(self, prefix: str) -> ESLCommand:
        return next(c for c in self.commands if c.line.startswith(prefix))

    def _serve(self, sock: socket.socket, address) -> None:
        self.connections.append(sock)
        if self.greeting:
            sock.sendall(self.greeting)
        parser = ESLCommandParser()
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            for command in parser.feed(data):
                self.commands.append(command)
                if not self._answer(sock, command):
                    sock.close()
                    return

    def _answer(self, sock: socket.socket, command: ESLCommand) -> bool:
        """Answer one command; False when FreeSWITCH would close the connection after it."""
        argument = command.argument
        if command.name in self.denied:
            sock.sendall(frames.encode_command_reply("-ERR permission denied"))
        elif command.name == "auth":
            if argument != self.password:
                sock.sendall(frames.encode_command_reply("-ERR invalid"))
                sock.sendall(frames.encode_disconnect_notice(None))
                return False
            sock.sendall(frames.encode_command_reply("+OK accepted"))
        elif command.name == "event":
            self.subscribed.update(argument.split()[1:])
            sock.sendall(frames.encode_command_reply("+OK event listener enabled plain"))
        elif command.name == "api":
            sock.sendall(frames.encode_api_response(self._run(argument)))
        elif command.name == "bgapi":
            job_uuid = command.headers["job-uuid"]
            reply = f"+OK Job-UUID: {job_uuid}"
            sock.sendall(frames.encode_command_reply(reply, [("Job-UUID", job_uuid)]))
            output = self.originate_output if argument.startswith("originate ") else "+OK\n"
            if "BACKGROUND_JOB" in self.subscribed:
                event = background_job(job_uuid, argument, output)
                if self.hold_jobs:
                    self.held_jobs.append(event)
                else:
                    sock.sendall(event)
        elif command.name == "exit":
            sock.sendall(frames.encode_command_reply("+OK bye"))
            sock.sendall(frames.encode_disconnect_notice(None))
            return False
        return True

    def _run(self, command: str) -> str:
        if command.startswith("eval "):
            return command.removeprefix("eval ")
        answer = self.api.get(command, f"-ERR {command.split()[0]} Command not found!\n")
        if isinstance(answer, tuple):
            delay, answer = answer
            gevent.sleep(delay)
        return answer


@pytest.fixture
def fake():
    server = FakeFreeSWITCH()
    yield server
    server.stop()


@pytest.fixture
def client(fake):
    connected = InboundClient.connect("127.0.0.1", fake.port, password="ClueCon", timeout=2)
    yield connected
    connected.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collect(client: InboundClient, name: str) -> Queue:
    received = Queue()
    client.on_event(name, received.put)
    return received


# ---------------------------------------------------------------- connecting


def test_connecting_logs_in_and_asks_for_background_job_results(fake, client):
    assert [c.line for c in fake.commands] == ["auth ClueCon", "event plain BACKGROUND_JOB"]
    assert not client.closed.is_set()


def test_wrong_password_gives_the_clear_error(fake, caplog):
    with pytest.raises(ESLAuthError) as refused:
        InboundClient.connect("127.0.0.1", fake.port, password="WrongPassword", timeout=2)
    assert str(refused.value) == (
        f"FreeSWITCH refused the event-socket password for 127.0.0.1:{fake.port} "
        "(check event_socket.conf.xml)"
    )
    assert caplog.records == []  # the exception says it all; no warning about a lost socket


def test_nothing_listening_gives_the_clear_error():
    port = free_port()
    with pytest.raises(ESLConnectError) as refused:
        InboundClient.connect("127.0.0.1", port, password="ClueCon", timeout=2)
    assert str(refused.value) == (
        f"nothing listens on 127.0.0.1:{port}: is FreeSWITCH running with mod_event_socket?"
    )


def test_a_peer_that_is_not_freeswitch_is_reported_with_the_protocol_error():
    web_server = FakeFreeSWITCH(greeting=b"HTTP/1.1 400 Bad Request\nConnection: close\n\n")
    try:
        with pytest.raises(ESLConnectError) as refused:
            InboundClient.connect("127.0.0.1", web_server.port, password="ClueCon", timeout=2)
    finally:
        web_server.stop()
    assert "is not FreeSWITCH's event socket" in str(refused.value)
    assert "malformed frame" in str(refused.value)
    assert isinstance(refused.value.__cause__.__cause__, esl.ESLProtocolError)


def test_a_peer_that_says_nothing_times_out_instead_of_hanging():
    silent = FakeFreeSWITCH(greeting=b"")
    try:
        with pytest.raises(ESLConnectError, match=r"sent no auth/request within 0\.2s"):
            InboundClient.connect("127.0.0.1", silent.port, password="ClueCon", timeout=0.2)
    finally:
        silent.stop()


def test_an_address_refused_by_the_acl_is_told_where_to_allow_it():
    rejection = (
        b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
    )
    guarded = FakeFreeSWITCH(greeting=rejection)
    try:
        with pytest.raises(ESLConnectError, match="Access Denied, go away.*apply-inbound-acl"):
            InboundClient.connect("127.0.0.1", guarded.port, password="ClueCon", timeout=2)
    finally:
        guarded.stop()


def test_a_login_that_gets_no_answer_times_out_without_showing_the_password():
    def greet_then_listen(sock, address):
        sock.sendall(frames.encode_auth_request())
        while sock.recv(65536):
            pass

    mute = StreamServer(("127.0.0.1", 0), greet_then_listen)
    mute.start()
    try:
        with pytest.raises(ESLConnectError) as failed:
            InboundClient.connect("127.0.0.1", mute.server_port, password="s3cret", timeout=0.2)
    finally:
        mute.stop(timeout=1)
    assert "did not answer 'auth' within 0.2s" in str(failed.value)
    assert "s3cret" not in f"{failed.value} {failed.value.__cause__}"


# ---------------------------------------------------------------- commands


def test_api_status_returns_the_body(client):
    assert client.api("status") == STATUS


def test_concurrent_api_calls_each_get_their_own_answer(client):
    calls = [gevent.spawn(client.api, f"eval {n}") for n in range(20)]
    gevent.joinall(calls, timeout=5, raise_error=True)
    assert [call.value for call in calls] == [str(n) for n in range(20)]


def test_a_slow_answer_times_out_and_the_next_command_still_gets_its_own():
    fake = FakeFreeSWITCH(api={"show calls": (0.3, "0 total.\n")})
    client = InboundClient.connect("127.0.0.1", fake.port, password="ClueCon", timeout=2)
    try:
        with pytest.raises(TimeoutError, match="'api show calls' within 0.1s"):
            client.api("show calls", timeout=0.1)
        assert client.api("status") == STATUS
    finally:
        client.close()
        fake.stop()


def test_an_originate_returns_the_uuid_from_the_background_job(fake, client):
    uuid = client.originate("loopback/9999/default", "&park")
    assert uuid == ORIGINATED_UUID
    sent = fake.line_sent("bgapi originate")
    assert sent.line == "bgapi originate {originate_timeout=60}loopback/9999/default &park"
    assert sent.headers["job-uuid"]


def test_an_originate_nobody_answers_raises_with_the_cause(fake, client):
    fake.originate_output = "-ERR NO_ANSWER\n"
    with pytest.raises(OriginateError) as failed:
        client.originate("user/1001", "&park", timeout=3)
    assert failed.value.cause == "NO_ANSWER"
    assert str(failed.value) == "originate user/1001 &park failed: NO_ANSWER"


def test_background_jobs_are_matched_by_job_uuid_whatever_order_they_finish_in(fake, client):
    fake.hold_jobs = True
    first = client.bgapi("originate loopback/1/default &park")
    fake.originate_output = "-ERR USER_BUSY\n"
    second = client.bgapi("originate loopback/2/default &park")
    fake.release_jobs([1, 0])
    assert second.result(timeout=2) == "-ERR USER_BUSY\n"
    assert first.result(timeout=2) == f"+OK {ORIGINATED_UUID}\n"


def test_waiting_for_a_job_leaves_the_callers_own_gevent_timeout_alone(fake, client):
    fake.hold_jobs = True
    job = client.bgapi("originate loopback/1/default &park")
    with pytest.raises(TimeoutError, match="did not finish 'originate"):
        job.result(timeout=0.05)
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.05):
        job.result()
    fake.release_jobs([0])
    assert job.result(timeout=2) == f"+OK {ORIGINATED_UUID}\n"


def test_uuid_kill_and_uuid_break_tell_whether_the_channel_was_there():
    fake = FakeFreeSWITCH(
        api={
            "uuid_kill abc NORMAL_CLEARING": "+OK\n",
            "uuid_kill gone NORMAL_CLEARING": "-ERR No such channel!\n",
            "uuid_break abc all": "+OK\n",
            "uuid_break gone all": "-ERR No such channel!\n",
        }
    )
    client = InboundClient.connect("127.0.0.1", fake.port, password="ClueCon", timeout=2)
    try:
        assert client.uuid_kill("abc") is True
        assert client.uuid_kill("gone") is False
        assert client.uuid_break("abc") is True
        assert client.uuid_break("gone") is False
    finally:
        client.close()
        fake.stop()


def test_a_refused_subscription_or_job_raises_with_freeswitchs_answer():
    fake = FakeFreeSWITCH(denied=frozenset({"bgapi"}))
    client = InboundClient.connect("127.0.0.1", fake.port, password="ClueCon", timeout=2)
    try:
        with pytest.raises(esl.ESLError, match="refused bgapi 'status': -ERR permission denied"):
            client.bgapi("status")
        fake.denied = frozenset({"event"})
        with pytest.raises(esl.ESLError, match="refused the events DTMF: -ERR permission denied"):
            client.subscribe(["DTMF"])
    finally:
        client.close()
        fake.stop()


def test_close_says_exit_and_later_commands_fail_clearly(fake, client):
    client.close()
    assert fake.commands[-1].line == "exit"
    assert client.closed.is_set()
    with pytest.raises(InboundClosed, match="closed by this client"):
        client.api("status")


# ---------------------------------------------------------------- events


def test_subscribed_events_reach_their_handlers_in_order(fake, client):
    client.subscribe(["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"])
    seen = Queue()
    for name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"):
        client.on_event(name, seen.put)
    names = {"CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"}
    for frame in recorded_frames("inbound_api.run1", names):
        fake.send(frame)
    got = [seen.get(timeout=2) for _ in range(6)]
    assert [(m.event_name, m.get("Channel-Name")) for m in got] == [
        ("CHANNEL_CREATE", "loopback/9999-a"),
        ("CHANNEL_CREATE", "loopback/9999-b"),
        ("CHANNEL_ANSWER", "loopback/9999-a"),
        ("CHANNEL_ANSWER", "loopback/9999-b"),
        ("CHANNEL_HANGUP_COMPLETE", "loopback/9999-b"),
        ("CHANNEL_HANGUP_COMPLETE", "loopback/9999-a"),
    ]
    assert fake.line_sent("event plain CHANNEL_CREATE").line == (
        "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE"
    )


def test_a_handler_that_raises_does_not_stop_later_events(fake, client, caplog):
    def broken(message):
        raise KeyError("variable_missing")

    client.subscribe(["CHANNEL_CREATE", "CHANNEL_ANSWER"])
    client.on_event("CHANNEL_CREATE", broken)
    created = collect(client, "CHANNEL_CREATE")
    answered = collect(client, "CHANNEL_ANSWER")
    for frame in recorded_frames("inbound_api.run1", {"CHANNEL_CREATE", "CHANNEL_ANSWER"}):
        fake.send(frame)
    assert created.get(timeout=2).get("Channel-Name") == "loopback/9999-a"
    assert created.get(timeout=2).get("Channel-Name") == "loopback/9999-b"
    assert answered.get(timeout=2).get("Channel-Name") == "loopback/9999-a"
    assert answered.get(timeout=2).get("Channel-Name") == "loopback/9999-b"
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2 and "KeyError: 'variable_missing'" in caplog.text
    assert client.api("status") == STATUS


def test_custom_events_reach_handlers_of_their_subclass(fake, client):
    client.subscribe(["CUSTOM", "sofia::register", "sofia::unregister"])
    registered = collect(client, "sofia::register")
    custom = collect(client, "CUSTOM")
    fake.send(
        frames.encode_event(
            [
                ("Event-Name", "CUSTOM"),
                ("Event-Subclass", "sofia::register"),
                ("profile-name", "internal"),
                ("from-user", "1001"),
                ("contact", '"1001" <sip:1001@192.0.2.10:5060>'),
            ]
        )
    )
    assert registered.get(timeout=2).get("from-user") == "1001"
    assert custom.get(timeout=2).get("Event-Subclass") == "sofia::register"
    assert fake.line_sent("event plain CUSTOM").line == (
        "event plain CUSTOM sofia::register sofia::unregister"
    )


def test_a_handler_waiting_for_freeswitch_gets_an_error_instead_of_a_deadlock(fake, client, caplog):
    client.subscribe(["CHANNEL_CREATE"])
    client.on_event("CHANNEL_CREATE", lambda message: client.api("status"))
    created = collect(client, "CHANNEL_CREATE")
    fake.send(recorded_frames("inbound_api.run1", {"CHANNEL_CREATE"})[0])
    created.get(timeout=2)
    assert "an event handler cannot wait for FreeSWITCH" in caplog.text
    assert client.api("status") == STATUS


# ---------------------------------------------------------------- losing the connection


def test_garbage_from_freeswitch_closes_the_client_with_an_error_not_a_hang():
    fake = FakeFreeSWITCH(api={"show calls": (NEVER, "")})
    client = InboundClient.connect("127.0.0.1", fake.port, password="ClueCon", timeout=2)
    try:
        waiting = gevent.spawn(client.api, "show calls")
        gevent.sleep(0.05)
        fake.send(b"this is not the event socket\n\n")
        with pytest.raises(InboundClosed, match="malformed frame") as lost:
            waiting.get(timeout=2)
        assert client.closed.is_set()
        assert isinstance(lost.value.__cause__, esl.ESLProtocolError)
    finally:
        client.close()
        fake.stop()


def test_a_lost_connection_fails_pending_calls_and_jobs_and_is_observable():
    fake = FakeFreeSWITCH(api={"show calls": (NEVER, "")})
    client = InboundClient.connect("127.0.0.1", fake.port, password="ClueCon", timeout=2)
    try:
        fake.hold_jobs = True
        job = client.bgapi("originate loopback/1/default &park")
        waiting = gevent.spawn(client.api, "show calls")
        gevent.sleep(0.05)
        fake.drop()
        assert client.closed.wait(timeout=2)
        assert client.close_reason == "FreeSWITCH closed the connection"
        with pytest.raises(InboundClosed, match="FreeSWITCH closed the connection"):
            waiting.get(timeout=2)
        with pytest.raises(InboundClosed):
            job.result(timeout=2)
    finally:
        client.close()
        fake.stop()


# ---------------------------------------------------------------- originate's arguments and output


def test_originate_ring_time_is_whole_seconds_given_once(client):
    with pytest.raises(ValueError, match="pass timeout="):
        client.originate("user/1001", "&park", variables={"originate_timeout": "5"})
    with pytest.raises(ValueError, match="whole seconds"):
        client.originate("user/1001", "&park", timeout=0.5)


@pytest.mark.parametrize(
    ("output", "cause"),
    [
        ("-ERR NO_ANSWER\n", "NO_ANSWER"),
        ("-ERR USER_BUSY\n", "USER_BUSY"),
        ("-USAGE: <call url> <exten>\n", "-USAGE: <call url> <exten>"),
        ("", "no output"),
        ("+OK \n", "+OK"),
    ],
)
def test_originate_output_other_than_ok_and_a_uuid_is_a_failure_with_its_cause(output, cause):
    with pytest.raises(OriginateError) as failed:
        originate_result(output, "originate user/1001 &park")
    assert failed.value.cause == cause


def test_originate_output_ok_gives_the_uuid():
    assert originate_result(f"+OK {ORIGINATED_UUID}\n", "originate") == ORIGINATED_UUID
