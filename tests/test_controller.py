import datetime as dt
import logging
import uuid
from pathlib import Path

import gevent
import pytest
from gevent import socket

from ivr.freeswitch.server import Controller
from ivr.freeswitch.session import OutboundSession
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.runtime.channel import CallerHungUp
from ivr.runtime.memory import Step
from ivr.runtime.record import OUTCOMES
from ivr.simulator import SimulatedFreeSWITCH, frames
from ivr.simulator.commands import ESLCommand, ESLCommandParser

FLOWS = Path(__file__).parents[1] / "flows"
SHOP = "18005550199"
HAPPY = [
    Step("press", "100200#"),
    Step("hear", "should arrive on Friday, November twenty-seventh"),
    Step("hangup", True),
]


@pytest.fixture(scope="module")
def project():
    project = load_project(FLOWS)
    assert project.ok
    return project


@pytest.fixture
def controller(project, tmp_path):
    calls = []
    ctl = Controller(
        project,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", FLOWS),
        on_call_end=calls.append,
        recordings_dir=tmp_path / "rec",
    )
    ctl.start()
    ctl.finished = calls
    yield ctl
    ctl.drain(timeout=5)


def _misbehaving_peer(address, behaviour: str) -> str:
    """A 'FreeSWITCH' that starts a call properly, then breaks the way ``behaviour`` says."""
    call_uuid = str(uuid.uuid4())
    sock = socket.create_connection(address)
    parser = ESLCommandParser()

    def next_command() -> ESLCommand:
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("controller closed")
            commands = parser.feed(data)
            if commands:
                return commands[0]

    assert next_command().name == "connect"
    sock.sendall(
        frames.encode_connect_reply(
            [
                ("Event-Name", "CHANNEL_DATA"),
                ("Unique-ID", call_uuid),
                ("Caller-Caller-ID-Number", "+15559990000"),
                ("Caller-Destination-Number", SHOP),
            ]
        )
    )
    for expected in ("myevents", "nixevent", "linger"):
        assert next_command().name == expected
        sock.sendall(frames.encode_command_reply("+OK"))
    assert next_command().name == "sendmsg"  # the first application: answer
    if behaviour == "garbage":
        sock.sendall(b"+OK this is not an ESL frame\nno colon here\n\n")
    elif behaviour == "truncated":
        frame = frames.encode_event([("Event-Name", "CHANNEL_EXECUTE"), ("Unique-ID", call_uuid)])
        sock.sendall(frame[: len(frame) // 2])
    sock.close()
    return call_uuid


def test_fifty_calls_go_on_while_peers_send_garbage_truncate_frames_or_vanish(controller, caplog):
    caplog.set_level(logging.INFO, logger="ivr")
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=True, default_agent="available")
    calls = [sim.place_call(list(HAPPY), dialed=SHOP, caller=f"+1555000{n:04d}") for n in range(50)]
    bad = [
        gevent.spawn(_misbehaving_peer, controller.address, how)
        for how in ("garbage", "truncated", "disconnect")
    ]
    gevent.joinall(bad, raise_error=True, timeout=30)
    assert all(call.wait(timeout=60) for call in calls)
    sim.close()
    with gevent.Timeout(10):
        while len(controller.finished) < 53:
            gevent.sleep(0.05)
    records = {c.record.call_id: c.record for c in controller.finished}
    good = [records[call.uuid] for call in calls]
    assert [r.outcome for r in good] == ["self_served"] * 50
    assert all(r.goals == ["order_status_told"] for r in good)
    for peer in bad:
        record = records[peer.value]
        assert record.ended_at is not None
        assert record.outcome in OUTCOMES
        assert record.path == ["greet"]
        assert record.outcome == "error"
    assert any(bad[0].value in m and "malformed frame" in m for m in caplog.messages)
    assert any(bad[1].value in m and "inside a frame" in m for m in caplog.messages)


def _hangup_event(name: str) -> bytes:
    return frames.encode_event(
        [("Event-Name", name), ("Unique-ID", "u1"), ("Hangup-Cause", "NORMAL_CLEARING")]
    )


def _freeswitch_peer(theirs, answer, seen: list[str] | None = None) -> gevent.Greenlet:
    """A FreeSWITCH end of an outbound socket: replies to ``connect``, hands the rest to answer.

    ``seen`` gets each command's name (``call-command`` for a sendmsg) as it arrives.
    """

    def serve() -> None:
        parser = ESLCommandParser()
        while True:
            data = theirs.recv(65536)
            if not data:
                return
            for command in parser.feed(data):
                if seen is not None:
                    seen.append(command.headers.get("call-command") or command.name)
                if command.name == "connect":
                    reply = [("Event-Name", "CHANNEL_DATA"), ("Unique-ID", "u1")]
                    theirs.sendall(frames.encode_connect_reply(reply))
                else:
                    answer(command)

    return gevent.spawn(serve)


def test_hanging_up_returns_only_once_the_channel_is_down():
    # FreeSWITCH accepts a hangup at once and hangs up a moment later; an exit sent in between
    # would hand the live call back to the dialplan (socket_resume: the fallback operators).
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours)
    received: list[str] = []

    hung_up: list[str] = []

    def answer(command) -> None:
        theirs.sendall(frames.encode_command_reply("+OK"))
        if command.headers.get("call-command") == "hangup":
            gevent.sleep(0.3)
            hung_up.append("CHANNEL_HANGUP")
            theirs.sendall(_hangup_event("CHANNEL_HANGUP"))

    peer = _freeswitch_peer(theirs, answer, received)
    session.start()
    session.hangup("NORMAL_CLEARING")
    assert hung_up == ["CHANNEL_HANGUP"]  # hangup() returned only once FreeSWITCH had hung up
    assert session.hungup.is_set() and session.hangup_cause == "NORMAL_CLEARING"
    session.close()
    peer.join(timeout=5)
    assert received == ["connect", "myevents", "nixevent", "linger", "hangup", "exit"]


def test_an_event_hook_that_raises_is_logged_with_the_calls_uuid_and_the_call_goes_on(caplog):
    caplog.set_level(logging.ERROR, logger="ivr")
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours)
    seen: list[str] = []

    def broken(message) -> None:
        raise KeyError("variable_missing")

    session.on_event(broken)
    session.on_event(lambda message: seen.append(message.event_name))

    def answer(command) -> None:
        theirs.sendall(frames.encode_command_reply("+OK"))
        if command.headers.get("call-command") == "hangup":
            theirs.sendall(_hangup_event("CHANNEL_HANGUP"))

    peer = _freeswitch_peer(theirs, answer)
    session.start()
    session.hangup("NORMAL_CLEARING")
    session.close()
    peer.join(timeout=5)
    assert seen == ["CHANNEL_HANGUP"]  # the hook after the broken one still got the event
    assert session.hangup_cause == "NORMAL_CLEARING"
    (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.getMessage().startswith("[u1] ") and "CHANNEL_HANGUP u1" in failure.getMessage()
    assert "KeyError: 'variable_missing'" in caplog.text


def test_an_application_sent_as_the_caller_hangs_up_ends_the_call_instead_of_waiting_forever():
    # FreeSWITCH answers +OK to a sendmsg that reaches a channel already down and never runs it
    # (fs-traces caller_hangup_late_cmd); with linger it keeps the socket open. Under load the
    # command and the hang-up cross: the call must end, not wait for a completion never sent.
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours)

    def answer(command) -> None:
        if command.headers.get("call-command") == "execute":
            # The caller hung up just before this command was read.
            theirs.sendall(
                _hangup_event("CHANNEL_HANGUP") + _hangup_event("CHANNEL_HANGUP_COMPLETE")
            )
            theirs.sendall(frames.encode_linger_notice("u1", "sofia/internal/1001"))
        theirs.sendall(frames.encode_command_reply("+OK"))

    peer = _freeswitch_peer(theirs, answer)
    session.start()
    with gevent.Timeout(5, AssertionError("the call waited for a completion never sent")):
        with pytest.raises(CallerHungUp):
            session.execute("playback", "/sounds/welcome.wav")
    assert session.hungup.is_set() and session.hangup_cause == "NORMAL_CLEARING"
    session.close()
    peer.join(timeout=5)


def test_calls_beyond_the_limit_are_refused_and_the_others_go_on(project, tmp_path):
    ctl = Controller(
        project, ("127.0.0.1", 0), PromptFiles(tmp_path / "prompts", FLOWS), max_calls=1
    )
    ctl.start()
    sim = SimulatedFreeSWITCH(ctl.address, virtual_time=False, default_agent="available")
    first = sim.place_call(None, dialed=SHOP)  # an interactive caller who stays on the line
    with gevent.Timeout(10):
        while ctl.served < 1:
            gevent.sleep(0.01)
    second = sim.place_call(list(HAPPY), dialed=SHOP)
    assert second.wait(timeout=10)
    assert ctl.refused == 1
    assert not first.done
    first.hangup()
    assert first.wait(timeout=10)
    sim.close()
    ctl.drain(timeout=5)


def test_draining_refuses_new_calls_and_lets_running_calls_finish(controller):
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=False, default_agent="available")
    running = sim.place_call(None, dialed=SHOP)
    with gevent.Timeout(10):
        while controller.served < 1:
            gevent.sleep(0.01)
    drain = gevent.spawn(controller.drain)
    gevent.sleep(0.2)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(controller.address, timeout=2)
    assert not drain.dead
    running.hangup()
    assert running.wait(timeout=10)
    drain.join(timeout=10)
    assert drain.dead
    assert controller.finished[0].record.outcome == "ivr_hangup"
    sim.close()


def test_a_number_without_a_flow_is_refused_so_freeswitch_can_fail_over(controller, caplog):
    caplog.set_level(logging.ERROR, logger="ivr")
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=True, default_agent="available")
    call = sim.place_call([Step("wait", 5.0)], dialed="18009999999")
    assert call.wait(timeout=10)
    assert any("no flow for dialed number '18009999999'" in m for m in caplog.messages)
    assert controller.served == 0
    sim.close()


def test_ivr_serve_drains_on_sigterm_and_exits_when_the_last_call_ends(tmp_path):
    import signal
    import sys

    from gevent import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ivr.cli",
            "serve",
            str(FLOWS),
            "--listen",
            f"127.0.0.1:{port}",
            "--prompt-cache",
            str(tmp_path / "prompts"),
            "--recordings",
            str(tmp_path / "rec"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving " in server.stdout.readline()
        sim = SimulatedFreeSWITCH(("127.0.0.1", port), virtual_time=False)
        call = sim.place_call(None, dialed=SHOP)
        with gevent.Timeout(10):
            while not any("says:" in e.text for e in call.transcript):
                gevent.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        assert "draining 1 call(s)" in server.stdout.readline()
        gevent.sleep(0.5)
        assert server.poll() is None  # still serving the call in progress
        call.hangup()
        assert server.wait(timeout=10) == 0
        assert "stopped after 1 call(s)" in server.stdout.read()
        sim.close()
    finally:
        if server.poll() is None:
            server.kill()


QUEUE_FLOW = """\
flow: default
start: operator
nodes:
  operator: {type: queue, queue: help, max_wait: 1h, on_timeout: bye}
  bye: {type: hangup}
"""


@pytest.fixture
def queue_controller(tmp_path):
    """A controller whose only flow queues the caller for one agent, whose phone is busy."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "default.yaml").write_text(QUEUE_FLOW)
    (flows / "queues.yaml").write_text("queues:\n  help: {agents: [a1], ring_timeout: 5s}\n")
    (flows / "agents.yaml").write_text("agents:\n  a1: {name: Anna, endpoint: user/a1}\n")
    project = load_project(flows)
    assert project.ok, project.diag.sorted()
    calls = []
    ctl = Controller(
        project,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", flows),
        on_call_end=calls.append,
    )
    ctl.start()
    ctl.finished = calls
    sim = SimulatedFreeSWITCH(ctl.address, virtual_time=False, agents={"user/a1": "busy"})
    yield ctl, sim
    sim.close()
    ctl.drain(timeout=5)


def _line(ctl: Controller) -> list[dict]:
    return ctl.services.agents.status(dt.datetime.now(dt.UTC))["queues"]["help"]["line"]


def _queued(ctl: Controller, sim: SimulatedFreeSWITCH):
    call = sim.place_call(None)
    with gevent.Timeout(10):
        while not _line(ctl):
            gevent.sleep(0.01)
    return call


def _finished(ctl: Controller, count: int = 1):
    with gevent.Timeout(10):
        while len(ctl.finished) < count:
            gevent.sleep(0.01)
    return ctl.finished[0].record


def test_a_queued_caller_freeswitch_hangs_up_as_it_shuts_down_did_not_abandon(queue_controller):
    ctl, sim = queue_controller
    call = _queued(ctl, sim)

    sim.shutdown()

    assert call.wait(timeout=10) and call.hangup_cause == "SYSTEM_SHUTDOWN"
    record = _finished(ctl)
    assert (record.outcome, record.hung_up_by_caller) == ("error", False)
    assert record.error == "FreeSWITCH ended the call: SYSTEM_SHUTDOWN"


def test_calls_of_a_freeswitch_run_that_is_gone_are_ended_and_leave_the_queue(queue_controller):
    ctl, sim = queue_controller
    _queued(ctl, sim)

    assert ctl.end_calls_of(sim.host.core_uuid, "FreeSWITCH restarted") == 1

    record = _finished(ctl)
    assert record.outcome == "error" and "FreeSWITCH restarted" in record.error
    assert ctl.live == set()
    assert _line(ctl) == []
    assert ctl.end_calls_of("another-core", "FreeSWITCH restarted") == 0


def test_a_drain_whose_time_is_up_hands_its_calls_back_and_journals_them(controller):
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=False, default_agent="available")
    sim.place_call(None, dialed=SHOP)  # a caller who stays on the line
    with gevent.Timeout(10):
        while controller.served < 1:
            gevent.sleep(0.01)

    assert controller.drain(timeout=0.2) == 1

    record = controller.finished[0].record
    assert record.outcome == "error" and "drain time up" in record.error
    sim.close()


def test_ivr_serve_tells_its_operator_of_trouble_without_being_asked_to_be_verbose(tmp_path):
    import signal
    import sys

    from gevent import subprocess

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    listen, nobody = ports  # nothing listens on ``nobody``: FreeSWITCH is down
    server = subprocess.Popen(
        [sys.executable, "-m", "ivr.cli", "serve", str(FLOWS), "--listen", f"127.0.0.1:{listen}"]
        + ["--prompt-cache", str(tmp_path / "prompts"), "--recordings", str(tmp_path / "rec")]
        + ["--esl", f"127.0.0.1:{nobody}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with gevent.Timeout(30):
            line = server.stderr.readline()
            while line and "cannot reach FreeSWITCH's event socket" not in line:
                line = server.stderr.readline()
        assert "WARNING" in line
        assert f"127.0.0.1:{nobody}" in line
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=15)
