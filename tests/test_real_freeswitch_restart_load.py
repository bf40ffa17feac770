"""FreeSWITCH killed and started again in the middle of a stream of calls: nothing is lost.

``ivr serve`` runs in its own process on a private FreeSWITCH (``private_freeswitch``), with one
queue that offers a callback a second after a caller enters it, and four agents whose phones are
the stock echo test (it answers at once and stays). Callers dial the IVR number at a steady rate
through FreeSWITCH's dialplan (loopback calls, as ``ivr test --freeswitch`` places them), each
behaving in one of three ways: one asks for a callback when it is offered (presses 1, confirms
the number with 1, and hangs up over the goodbye), one waits until an agent takes the call,
one hangs up if nobody has taken the call after a few seconds. Before the crash nobody hangs up
on an agent, so the first four callers keep the four agents talking and every callback asked for
waits in line, undialled, through the crash. FreeSWITCH is then killed (SIGKILL) while calls
arrive, started again, and the stream goes on; from then on a caller talks to an agent for two
seconds and hangs up, and so does each caller called back.

Afterwards every callback the controller took (journaled ``callback``, before the crash or after
it) has been dialled exactly once and reached its caller, every call the controller answered has
one journal record, no agent is left ringing or talking, the line is empty, and the event socket
is connected to the new FreeSWITCH run.
"""

from __future__ import annotations

import sqlite3
import uuid as uuidlib
from collections import Counter
from pathlib import Path

import gevent
from gevent.event import Event
from realfs import ServeProcess, readable_dir, wait_for
from test_real_freeswitch_restart import callback_rows

from ivr.acd import CALLBACK_VARIABLE
from ivr.freeswitch.esl import ESLError, ESLMessage
from ivr.freeswitch.inbound import InboundClient
from ivr.simulator.media import resolve

IVR_NUMBER = "18005550100"
ECHO = "9196"
"""The stock dialplan's echo test: an agent's phone, and the number callers are called back at."""
AGENTS = ["a1", "a2", "a3", "a4"]
FLOW = """\
flow: default
start: operator
nodes:
  operator:
    type: queue
    queue: help
    max_wait: 5m
    on_timeout: bye
    callback: {offer_after: 1s, key: 1}
  bye: {type: hangup}
"""
QUEUES = f"queues:\n  help: {{agents: [{', '.join(AGENTS)}], ring_timeout: 10s, wrap_up: 1s}}\n"
AGENTS_YAML = "agents:\n" + "".join(
    f"  {a}: {{name: Agent {a}, endpoint: loopback/{ECHO}/default}}\n" for a in AGENTS
)
CALLS_PER_SECOND = 4.0
CALLS_BEFORE_THE_CRASH = 30
CALLS_AFTER_THE_CRASH = 30
ASKS, WAITS, LEAVES = "asks for a callback", "waits", "hangs up"
ROLES = (ASKS, WAITS, LEAVES)
"""How the n-th caller behaves: ``ROLES[n % 3]``."""
PATIENCE = 6.0
"""Real seconds a caller who hangs up waits in the queue first."""
TALK_SECONDS = 2.0
"""Real seconds a caller talks to an agent after the restart before hanging up."""
OFFER = "To be called back without losing your place in line"
CONFIRM = "We will call you back at"
GOODBYE = "we will call you back as soon as an operator is free"


class Callers:
    """A stream of callers into the IVR number that outlives a restart of FreeSWITCH.

    Each FreeSWITCH run gets its own event-socket connection (``follow``), which places the
    calls, presses the callers' keys, hangs them up, and counts what the callers met.

    Attributes:
        roles: how each caller placed behaves, by their phone's leg.
        answered: the controller's legs FreeSWITCH reported answered (the calls it took).
        put_through: the callers' phone legs that were connected to an agent.
        callbacks_bridged: how many times each callback (by its id) reached its caller.
        talks_end: whether callers (and those called back) hang up after talking a while.
    """

    def __init__(self, fs, sounds: Path) -> None:
        self.fs = fs
        self.sounds = sounds
        self.roles: dict[str, str] = {}
        self.answered: set[str] = set()
        self.put_through: set[str] = set()
        self.callbacks_bridged: Counter[str] = Counter()
        self.talks_end = False
        self.up = Event()
        self.client: InboundClient | None = None
        self.placed = 0

    def follow(self) -> None:
        """Connect to the FreeSWITCH now running and follow its calls' events."""
        self.client = self.fs.connect()
        names = ["CHANNEL_ANSWER", "CHANNEL_BRIDGE", "PLAYBACK_START"]
        self.client.subscribe(names)
        for name in names:
            self.client.on_event(name, self._event)
        self.up.set()

    def crashed(self) -> None:
        """FreeSWITCH is gone: callers wait for it to be back before dialling."""
        self.up.clear()
        self.client.close()

    def stream(self, count: int) -> None:
        """Place ``count`` more calls at ``CALLS_PER_SECOND``, pausing while FreeSWITCH is down."""
        for _ in range(count):
            self.up.wait()
            gevent.spawn(self._call, ROLES[self.placed % len(ROLES)], self.placed)
            self.placed += 1
            gevent.sleep(1 / CALLS_PER_SECOND)

    def _call(self, role: str, n: int) -> None:
        leg = str(uuidlib.uuid4())
        self.roles[leg] = role
        number = ECHO if role == ASKS else f"1555{n:07d}"
        variables = {"origination_uuid": leg, "origination_caller_id_number": number}
        try:
            self.client.originate(
                f"loopback/{IVR_NUMBER}/default", "&park", variables=variables, timeout=20
            )
        except (ESLError, TimeoutError):
            return  # FreeSWITCH went down as the call was placed
        if role == LEAVES:
            gevent.sleep(PATIENCE)
            if leg not in self.put_through:
                self._command("uuid_kill", leg)

    def _command(self, name: str, *args: str) -> None:
        # A crash in between closes the connection, and takes the call with it.
        try:
            getattr(self.client, name)(*args)
        except (ESLError, TimeoutError):
            pass

    def _event(self, message: ESLMessage) -> None:
        caller = message.get("variable_other_loopback_leg_uuid") or ""
        role = self.roles.get(caller) if message.get("variable_loopback_leg") == "B" else None
        name = message.event_name
        if name == "CHANNEL_BRIDGE":
            callback = message.get(f"variable_{CALLBACK_VARIABLE}")
            if callback:
                # An agent's call for a callback reached the caller's phone.
                self.callbacks_bridged[callback] += 1
                hang_up = message.get("Other-Leg-Unique-ID") or ""
            elif role is not None:
                self.put_through.add(caller)
                hang_up = caller
            else:
                return
            if self.talks_end:
                gevent.spawn_later(TALK_SECONDS, self._command, "uuid_kill", hang_up)
        elif role is None:
            return
        elif name == "CHANNEL_ANSWER":
            self.answered.add(message.unique_id)
        elif role == ASKS:
            heard = " ".join(
                p.text for p in resolve(message.get("Playback-File-Path") or "", self.sounds)
            )
            if OFFER in heard or CONFIRM in heard:
                gevent.spawn(self._command, "uuid_send_dtmf", caller, "1")
            elif GOODBYE in heard:
                gevent.spawn(self._command, "uuid_kill", caller)


def in_line(serve: ServeProcess) -> Counter:
    return Counter(entry["kind"] for entry in serve.status()["queues"]["help"]["line"])


def agent_states(serve: ServeProcess) -> Counter:
    return Counter(a["state"] for a in serve.status()["agents"].values())


def open_notes(serve: ServeProcess) -> int:
    """How many calls the journal still notes as in progress."""
    db = sqlite3.connect(f"file:{serve.journal_path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM open_calls").fetchone()[0]
    finally:
        db.close()


def test_freeswitch_killed_during_a_stream_of_calls_loses_no_callback_and_frees_every_agent(
    private_freeswitch,
):
    fs = private_freeswitch
    with readable_dir() as work:
        flows = work / "flows"
        flows.mkdir()
        (flows / "default.yaml").write_text(FLOW)
        (flows / "queues.yaml").write_text(QUEUES)
        (flows / "agents.yaml").write_text(AGENTS_YAML)
        serve = ServeProcess(
            work,
            flows,
            fs.controller,
            "--esl",
            f"{fs.host}:{fs.port}",
            "--esl-password",
            fs.password,
        )
        callers = Callers(fs, work / "sounds")
        try:
            link = wait_for(
                lambda: (s := serve.status()["freeswitch"])["connected"] and s,
                "event socket connected",
            )
            callers.follow()
            stream = gevent.spawn(callers.stream, CALLS_BEFORE_THE_CRASH + CALLS_AFTER_THE_CRASH)
            # The first callers keep every agent talking: the callbacks asked for wait in line.
            wait_for(
                lambda: agent_states(serve) == {"on_call": len(AGENTS)},
                f"every agent talking; {serve.log()}",
            )
            wait_for(
                lambda: (
                    callers.placed >= CALLS_BEFORE_THE_CRASH
                    and any(c["outcome"] == "callback" for c in serve.calls())
                ),
                f"a caller who asked for a callback gone; {serve.log()}",
                timeout=60,
            )
            at_the_crash = serve.status()
            talking = {a: agent["call_id"] for a, agent in at_the_crash["agents"].items()}
            line = at_the_crash["queues"]["help"]["line"]
            before = {e["call_id"] for e in line if e["kind"] == "callback"}
            assert not callers.callbacks_bridged  # none dialled yet: they wait through the crash

            callers.crashed()
            fs.kill()
            fs.start()
            callers.talks_end = True
            callers.follow()

            stream.join(timeout=60)
            assert stream.dead, "the stream of calls did not end"
            relinked = wait_for(
                lambda: (
                    (s := serve.status()["freeswitch"])["connected"]
                    and s["core_uuid"] != link["core_uuid"]
                    and s
                ),
                f"the event socket connected again to the new FreeSWITCH; {serve.log()}",
            )
            wait_for(
                lambda: (
                    in_line(serve) == Counter()
                    and agent_states(serve) == {"available": len(AGENTS)}
                ),
                f"the line empty and every agent free; {serve.log()}",
                timeout=150,
            )
            calls = wait_for(
                lambda: (
                    (c := serve.calls()) and {r["call_id"] for r in c} >= callers.answered and c
                ),
                f"every call the controller took journaled; {serve.log()}",
            )
            rows = callback_rows(serve)
            notes = open_notes(serve)
        finally:
            serve.stop()
            if callers.client is not None:
                callers.client.close()

    assert relinked["connections"] == 2
    outcomes = Counter(c["outcome"] for c in calls)
    # Every call the controller took has one record, and no record is of a call it never took;
    # none is left noted as in progress.
    assert len({c["call_id"] for c in calls}) == len(calls)
    assert {c["call_id"] for c in calls} == callers.answered
    assert notes == 0
    # The callers talking at the crash stay answered by their agents, talk time kept.
    journal = {c["call_id"]: c for c in calls}
    assert {a: journal[c]["agent"] for a, c in talking.items()} == {a: a for a in AGENTS}
    assert all(journal[c]["talk_seconds"] > 0 for c in talking.values())
    cut = [c for c in calls if c["outcome"] == "error"]
    assert cut and all("FreeSWITCH" in c["error"] for c in cut)
    assert {"answered", "abandoned", "callback"} <= outcomes.keys(), outcomes
    # Every callback taken, before the crash or after it, reached its caller once.
    taken = {c["call_id"] for c in calls if c["outcome"] == "callback"}
    assert before and before <= taken
    assert rows.keys() == taken
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("answered", 1)}
    assert len(callers.callbacks_bridged) == len(taken)
    assert set(callers.callbacks_bridged.values()) == {1}
