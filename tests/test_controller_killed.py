"""``ivr serve`` killed (SIGKILL) with calls on the line and callbacks waiting: nothing is lost.

The controller runs in its own process, as in production, on a simulated FreeSWITCH in the test
process: the simulator places the callers' calls on its outbound socket, and a small inbound
event socket here answers its ``originate`` of an agent for a callback by placing the agent's
answered call on that socket too, as FreeSWITCH's ``&socket`` does. At the kill one caller talks
to the only agent logged in, another waits in the queue, and two callers who asked to be called
back have hung up. A new ``ivr serve`` on the same journal and queue store must close the two
cut calls as lost, free the agent, and dial each callback exactly once.

Under load: a seeded Poisson stream of 200 calls at 10 a second (20 seconds) goes to five
agents: a fifth of the callers ask for a callback and hang up, the others hold and give up or
are put through and talk. Once the controller has promised three callbacks (a caller hears the
promise some eleven seconds in) it is killed while calls keep coming; the few arriving before a
second ``ivr serve`` listens fail to connect, and the rest of the stream goes to the second.
Every caller promised a callback by either is rung back exactly once (an agent's call the kill
cut before it rang the caller is made again), every agent ends ``available``, the line empties,
each call a controller took is journaled once with one outcome (those cut by the kill as lost),
except a call taken in the last milliseconds before the kill, which the journal writer had not
noted yet (it batches every 50 ms).
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest
from flowkit import hangup, hear, press, wait
from gevent.event import Event as Flag
from gevent.server import StreamServer
from realfs import ServeProcess, free_port, wait_for

from ivr.loadtest.generator import poisson_arrivals
from ivr.simulator import SimulatedCall, SimulatedFreeSWITCH, frames
from ivr.simulator.commands import ESLCommand, ESLCommandParser
from ivr.simulator.parsing import parse_dial_string, separate_string
from ivr.store.journal import CallFilter
from ivr.store.sqlite import SqliteJournal
from ivr.testing.invariants import assert_invariants

PASSWORD = "kill-test-password"
CORE_UUID = "5a1d2c3e-0000-4000-8000-00000000c0de"
FLOW = """\
flow: default
start: operator
nodes:
  operator:
    type: queue
    queue: help
    prompt: "Please hold."
    max_wait: 30m
    on_timeout: late
    callback: {offer_after: 1s, key: 1}
  late: {type: hangup, prompt: "Nobody could take your call."}
"""
QUEUES = "queues:\n  help: {agents: [a1, a2], ring_timeout: 15s, wrap_up: 1s}\n"
AGENTS = """\
agents:
  a1: {name: Anna, endpoint: user/a1}
  a2: {name: Boris, endpoint: user/a2, initial_state: logged_out}
"""
ASKS_FOR_A_CALLBACK = [
    hear("press 1"),
    press("1"),
    hear("call you back at"),
    press("1"),
    hear("call you back as soon as"),
    hangup(),
]
AGENT_TAKING_A_CALLBACK = [hear("Callback for"), wait(6), hangup()]
"""An agent rung for a callback: hears whom it is for, talks to the caller a while, hangs up."""
ACKNOWLEDGED = "call you back as soon as"
"""What a caller hears once the controller has taken their callback."""

BUSY_AGENT_IDS = [f"a{n}" for n in range(1, 6)]
BUSY_QUEUES = (
    f"queues:\n  help: {{agents: [{', '.join(BUSY_AGENT_IDS)}], ring_timeout: 15s, wrap_up: 1s}}\n"
)
BUSY_AGENTS = "agents:\n" + "".join(
    f"  {agent}: {{name: Agent {agent}, endpoint: user/{agent}}}\n" for agent in BUSY_AGENT_IDS
)
GIVES_UP_ON_HOLD = [hear("Please hold"), wait(3), hangup()]
"""A caller who hangs up after three seconds on hold (or of talk, when an agent was free)."""
TALKS_TO_AN_AGENT = [hear("Please hold"), wait(12), hangup()]
"""A caller who holds for an agent and, put through, talks until twelve seconds are up."""
LOAD_MIX = [
    ASKS_FOR_A_CALLBACK,
    GIVES_UP_ON_HOLD,
    TALKS_TO_AN_AGENT,
    GIVES_UP_ON_HOLD,
    TALKS_TO_AN_AGENT,
]
"""The callers of the stream, in turn, after five who talk to the five agents: a fifth ask for a
callback (while the agents are busy: a caller put through gets no offer)."""
LOAD_CPS = 10.0
LOAD_SECONDS = 20.0
LOAD_MAX_CALLS = 200
KILL_AFTER_CALLBACKS = 3
"""The controller is killed once it has taken this many callbacks (some 14 s into the stream)."""
CUT_SIGNS = ("the controller connection failed", "the controller let go of the call")
"""The simulator's remarks on a call whose controller went away without hanging it up."""


class InboundSocket:
    """FreeSWITCH's inbound event socket as ``ivr serve --esl`` uses it, on a loopback port.

    It takes the login, subscriptions, ``status`` checks and ``global_getvar core_uuid``, and
    answers ``bgapi originate`` of an agent by placing the agent's answered call on the
    simulated FreeSWITCH (which sends it to the controller) with the originate's variables.

    Attributes:
        originated: the callback id of every agent's call placed, in order.
        agent_steps: what each agent rung does on their call.
    """

    def __init__(self, sim: SimulatedFreeSWITCH) -> None:
        self.sim = sim
        self.originated: list[str] = []
        self.agent_steps = AGENT_TAKING_A_CALLBACK
        self.server = StreamServer(("127.0.0.1", 0), self._serve)
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.stop(timeout=1)

    def _serve(self, sock, address) -> None:
        sock.sendall(frames.encode_auth_request())
        parser = ESLCommandParser()
        while data := sock.recv(65536):
            for command in parser.feed(data):
                self._answer(sock, command)

    def _answer(self, sock, command: ESLCommand) -> None:
        if command.name == "auth":
            ok = command.argument == PASSWORD
            sock.sendall(frames.encode_command_reply("+OK accepted" if ok else "-ERR invalid"))
        elif command.name == "event":
            sock.sendall(frames.encode_command_reply("+OK event listener enabled plain"))
        elif command.name == "api":
            output = {"status": "UP 0 years, 0 days\n", "global_getvar core_uuid": CORE_UUID}
            sock.sendall(frames.encode_api_response(output.get(command.argument, "-ERR\n")))
        elif command.name == "bgapi":
            job = command.headers["job-uuid"]
            sock.sendall(frames.encode_command_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)]))
            output = self._originate(command.argument)
            headers = [("Event-Name", "BACKGROUND_JOB"), ("Core-UUID", CORE_UUID)]
            headers += [("Job-UUID", job), ("Job-Command", "originate")]
            sock.sendall(frames.encode_event(headers, output))

    def _originate(self, argument: str) -> str:
        name, target, _destination = separate_string(argument, " ")
        assert name == "originate", argument
        [[leg]] = parse_dial_string(target)
        variables = leg.variables
        self.originated.append(variables["ivr_callback"])
        call = self.sim.place_call(
            self.agent_steps,
            caller=variables["origination_caller_id_number"],
            caller_name=variables["origination_caller_id_name"],
            dialed=leg.endpoint,
            variables={"ivr_callback": variables["ivr_callback"]},
        )
        return f"+OK {call.uuid}\n"


Center = tuple[Path, SimulatedFreeSWITCH, InboundSocket, str]
"""The work folder, the simulated FreeSWITCH, its inbound socket, where ``ivr serve`` listens."""


def _center(work: Path, queues: str, agents: str, **line: float) -> Iterator[Center]:
    flows = work / "flows"
    flows.mkdir()
    (flows / "default.yaml").write_text(FLOW)
    (flows / "queues.yaml").write_text(queues)
    (flows / "agents.yaml").write_text(agents)
    listen = f"127.0.0.1:{free_port()}"
    host, _, port = listen.partition(":")
    # Callers' and agents' phones answer after two seconds; the callers called back as well.
    sim = SimulatedFreeSWITCH(
        (host, int(port)), virtual_time=False, default_agent="available", **line
    )
    inbound = InboundSocket(sim)
    try:
        yield work, sim, inbound, listen
    finally:
        inbound.close()
        sim.close()


@pytest.fixture
def center(tmp_path) -> Iterator[Center]:
    yield from _center(tmp_path, QUEUES, AGENTS)


@pytest.fixture
def busy_center(tmp_path) -> Iterator[Center]:
    """Five agents, all available; no call lasts over 40 seconds (its caller hangs up)."""
    yield from _center(tmp_path, BUSY_QUEUES, BUSY_AGENTS, time_limit=40.0)


def serve(work: Path, listen: str, inbound: InboundSocket) -> ServeProcess:
    return ServeProcess(
        work,
        work / "flows",
        listen,
        "--esl",
        inbound.address,
        "--esl-password",
        PASSWORD,
        "--recordings",
        str(work / "recordings"),
    )


def login(process: ServeProcess, agent: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{process.api_port}/agents/{agent}/login", data=b"", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        # At once offered a callback waiting: the answer may find the agent ringing already.
        assert json.load(answer)["state"] in ("available", "ringing")


def in_line(process: ServeProcess) -> Counter:
    return Counter(entry["kind"] for entry in process.status()["queues"]["help"]["line"])


def test_a_controller_killed_mid_load_loses_no_callback_and_leaves_no_agent_stuck(center):
    work, sim, inbound, listen = center
    first = serve(work, listen, inbound)
    try:
        talking = sim.place_call(None, caller="+15550000001")  # stays on the line with Anna
        wait_for(lambda: first.status()["agents"]["a1"]["state"] == "on_call", first.log())
        asking = [sim.place_call(ASKS_FOR_A_CALLBACK, caller=f"+1555000001{n}") for n in (1, 2)]
        waiting = sim.place_call(None, caller="+15550000003")  # on hold at the kill
        for call in asking:
            assert call.wait(timeout=60), call.transcript
        wait_for(lambda: in_line(first) == {"callback": 2, "caller": 1}, first.log())
        asked = {c.uuid for c in asking}
        wait_for(lambda: asked <= {c["call_id"] for c in first.calls()}, "the callers journaled")
        first.process.kill()
        first.process.wait(timeout=10)
    finally:
        first.stop()
    # FreeSWITCH keeps the caller talking to Anna and the one on hold until they hang up.
    for call in (talking, waiting):
        call.hangup()
        assert call.wait(timeout=30)

    second = serve(work, listen, inbound)
    try:
        assert "closed as lost" in second.log_path.read_text()
        login(second, "a2")
        # Each callback is dialled once, reaches its caller, and leaves the line.
        wait_for(
            lambda: sorted(r["status"] for r in _callbacks(second)) == ["answered", "answered"],
            f"both callbacks made; {second.log()}",
            timeout=90,
        )
        assert sorted(inbound.originated) == sorted(set(inbound.originated))
        assert len(inbound.originated) == 2
        assert {r["call_id"]: r["attempts"] for r in _callbacks(second)} == dict.fromkeys(asked, 1)
        wait_for(lambda: in_line(second) == Counter(), "the line empty")
        wait_for(
            lambda: {a["state"] for a in second.status()["agents"].values()} == {"available"},
            f"no agent left ringing, talking or in wrap-up; {second.log()}",
        )
        calls = {c["call_id"]: c for c in second.calls()}
    finally:
        second.stop()
    assert {calls[c]["outcome"] for c in asked} == {"callback"}
    for cut in (talking, waiting):
        record = calls[cut.uuid]
        assert record["outcome"] == "error"
        assert record["error"].startswith("lost: the controller (process ")
    assert len(calls) == 4  # no call journaled twice, none missing


def test_a_controller_killed_amid_a_stream_of_calls_rings_each_caller_back_once(busy_center):
    work, sim, inbound, listen = busy_center
    callers: list[SimulatedCall] = []
    number_of: dict[str, str] = {}
    ended = Flag()  # the stream stops early when the test fails

    def offer() -> None:
        arrivals = poisson_arrivals(
            random.Random(23), LOAD_CPS, LOAD_SECONDS, ended, LOAD_MAX_CALLS
        )
        for n in arrivals:
            steps = LOAD_MIX[n % len(LOAD_MIX)] if n >= len(BUSY_AGENT_IDS) else TALKS_TO_AN_AGENT
            # A short number of their own: its confirmation is short, each callback told apart.
            number = f"2{n:03d}"
            call = sim.place_call(steps, caller=number)
            callers.append(call)
            number_of[call.uuid] = number

    first = serve(work, listen, inbound)
    stream = gevent.spawn(offer)
    try:
        try:
            wait_for(
                lambda: sum(_heard(c, ACKNOWLEDGED) for c in callers) >= KILL_AFTER_CALLBACKS,
                f"{KILL_AFTER_CALLBACKS} callbacks taken; {first.log()}",
                timeout=60,
            )
            offered_before_kill = {c.uuid for c in callers}
            taken_by_first = {c.uuid for c in callers if _heard(c, ACKNOWLEDGED)}
            # What it had journaled: its writer notes a call some milliseconds after it starts
            # (it batches every 50 ms), and of a call taken in those last milliseconds nothing
            # is left to close as lost.
            noted = _noted(first)
            first.process.kill()
            first.process.wait(timeout=10)
        finally:
            first.stop()

        # Calls go on arriving; those before the second controller listens fail to connect.
        second = serve(work, listen, inbound)
        try:
            assert "closed as lost" in second.log_path.read_text()
            stream.join(timeout=60)
            assert stream.successful()
            wait_for(lambda: all(c.done for c in callers), "every caller gone", timeout=90)
            acknowledged = {c.uuid for c in callers if _heard(c, ACKNOWLEDGED)}
            wait_for(
                lambda: _all_answered(second, acknowledged),
                f"every callback taken made and answered; {second.log()}",
                timeout=120,
            )
            wait_for(lambda: in_line(second) == Counter(), "the line empty")
            wait_for(
                lambda: {a["state"] for a in second.status()["agents"].values()} == {"available"},
                f"no agent left ringing, talking or in wrap-up; {second.log()}",
            )
            reached = {c.uuid for c in callers if _reached(c)}
            unnoted = (reached & offered_before_kill) - noted
            kept = reached - unnoted
            wait_for(lambda: kept <= _noted(second), "every call noted before the kill journaled")
            journal = SqliteJournal(second.journal_path, create=False)
            try:
                # Each of them journaled once, closed, with its outcome; nothing else journaled.
                assert_invariants(
                    calls=[c for c in sim.calls if c.uuid not in unnoted], records=journal
                )
                calls = {e.record.call_id: e.record for e in journal.entries(CallFilter())}
                segments = journal.db.execute(
                    "SELECT agent, started_at, ended_at, pid FROM agent_states "
                    # a state left at the instant it began sorts before the next one
                    "ORDER BY agent, started_at, ended_at IS NULL, ended_at"
                ).fetchall()
            finally:
                journal.close()
            rows = _callbacks(second)
        finally:
            second.stop()
    finally:
        ended.set()
        stream.join(timeout=10)
    assert {r["call_id"] for r in rows} >= acknowledged > taken_by_first
    assert all(r["number"] == number_of[r["call_id"]] for r in rows)  # each caller's own
    assert {(r["status"], r["attempts"]) for r in rows} == {("answered", 1)}
    # Each caller is rung once. An agent's call that the kill cut before it rang the caller is
    # made again (that agent is rung twice); one that rang the caller never is.
    assert sorted(_callers_rung(sim)) == sorted(r["number"] for r in rows)
    assert len(set(inbound.originated)) == len(rows)
    assert max(Counter(inbound.originated).values()) <= 2
    assert kept <= set(calls) <= reached
    assert len(unnoted) <= 3, unnoted  # only what the last moments before the kill brought
    cut = {c.uuid for c in callers if any(_heard(c, sign) for sign in CUT_SIGNS)} - unnoted
    lost = {
        call_id
        for call_id, record in calls.items()
        if (record.error or "").startswith(f"lost: the controller (process {first.process.pid} ")
    }
    assert cut and cut <= lost <= offered_before_kill
    # A caller cut while hearing the promise is journaled lost; their callback is made all the same.
    assert {calls[c].outcome for c in acknowledged - lost} == {"callback"}
    assert reached - offered_before_kill  # the stream went on into the second controller
    # The agent state log: the killed controller's states were ended by the second one, and an
    # agent is in one state at a time (no two of their segments overlap, across the restart).
    assert {s[3] for s in segments} == {first.process.pid, second.process.pid}
    assert all(s[2] is not None for s in segments if s[3] == first.process.pid)
    for (agent, _, ended, _), (following, started, _, _) in itertools.pairwise(segments):
        assert agent != following or (ended is not None and ended <= started), (agent, ended)
    assert len(callers) > len(reached)  # and some calls came while no controller listened


def _noted(process: ServeProcess) -> set[str]:
    """The calls its journal holds: ended, or noted as started (what a restart closes as lost)."""
    db = sqlite3.connect(f"file:{process.journal_path}?mode=ro", uri=True, timeout=10)
    try:
        query = "SELECT call_id FROM calls UNION SELECT call_id FROM open_calls"
        return {call_id for (call_id,) in db.execute(query)}
    except sqlite3.OperationalError:
        return set()
    finally:
        db.close()


def _callers_rung(sim: SimulatedFreeSWITCH) -> list[str]:
    """The numbers the agents' calls for callbacks rang, once per ring."""
    return [
        line.text.removeprefix("rings loopback/").partition("/")[0]
        for call in sim.calls
        if call.variables.get("ivr_callback")
        for line in call.transcript
        if line.who == "ivr" and line.text.startswith("rings loopback/")
    ]


def _heard(call: SimulatedCall, words: str) -> bool:
    return any(words in line.text for line in call.transcript)


def _reached(call: SimulatedCall) -> bool:
    """Whether a controller took the call (it sent ``connect``)."""
    return any(command.name == "connect" for command in call.commands)


def _all_answered(process: ServeProcess, acknowledged: set[str]) -> bool:
    """Whether every callback in the store was answered, the ``acknowledged`` ones among them."""
    rows = _callbacks(process)
    made = {r["call_id"] for r in rows if r["status"] == "answered"}
    return len(made) == len(rows) and acknowledged <= made


def _callbacks(process: ServeProcess) -> list[dict]:
    db = sqlite3.connect(f"file:{process.journal_path}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM callbacks")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def test_a_controller_killed_while_a_callback_talks_does_not_call_that_caller_again(center):
    work, sim, inbound, listen = center
    # Anna stays on the line with the caller she called back (a minute) until the kill.
    inbound.agent_steps = [hear("Callback for")]
    first = serve(work, listen, inbound)
    try:
        talking = sim.place_call(None, caller="+15550000001")
        wait_for(lambda: first.status()["agents"]["a1"]["state"] == "on_call", first.log())
        asking = sim.place_call(ASKS_FOR_A_CALLBACK, caller="+15550000011")
        assert asking.wait(timeout=60), asking.transcript
        wait_for(lambda: in_line(first) == {"callback": 1}, first.log())
        talking.hangup()  # Anna is free: she calls back, and the caller answers
        wait_for(
            lambda: [r["status"] for r in _callbacks(first)] == ["answered"],
            f"the callback's caller reached; {first.log()}",
        )
        first.process.kill()
        first.process.wait(timeout=10)
    finally:
        first.stop()

    second = serve(work, listen, inbound)
    try:
        # Nothing left to dial: the line is empty and Anna, freed from the cut call, stays free.
        assert in_line(second) == Counter()
        wait_for(
            lambda: second.status()["agents"]["a1"]["state"] == "available",
            f"Anna free after the cut callback; {second.log()}",
        )
        assert in_line(second) == Counter()
    finally:
        second.stop()
    assert len(inbound.originated) == 1
    [row] = _callbacks(second)
    assert (row["call_id"], row["status"], row["agent"], row["attempts"]) == (
        asking.uuid,
        "answered",
        "a1",
        1,
    )
