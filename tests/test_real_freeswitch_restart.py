"""FreeSWITCH restarted under a running ``ivr serve``: nothing is left in progress, calls go on.

Each test has a FreeSWITCH of its own (``private_freeswitch``, started from the installed one
with the project's configuration), so it can stop it cleanly (``fsctl shutdown``) or kill it
(SIGKILL, a crash) without disturbing any other. ``ivr serve`` runs in its own process, kept
connected to that FreeSWITCH's event socket (``--esl``). At the restart one caller talks to the
only agent (a loopback call into the echo test, which answers and stays) and another waits in
the queue. What a supervisor sees afterwards is asserted through the controller's agents API
and its journal: both calls closed with an outcome, the agent free, the queue empty, the event
socket connected again to the new FreeSWITCH run; and a new call reaches the agent. Callbacks
waiting in line through the crash stay there, and each is dialled once through the new run.
"""

from __future__ import annotations

import datetime as dt
import socket
import sqlite3
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from realfs import ServeProcess, events_of, free_port, next_event, readable_dir, wait_for

from ivr.acd import Callback, SqliteAcdStore, Waiting

IVR_NUMBER = "18005550100"
FLOW = """\
flow: default
start: welcome
nodes:
  welcome: {type: play, prompt: "Hello.", next: operator}
  operator: {type: queue, queue: help, max_wait: 5m, on_timeout: bye}
  bye: {type: hangup}
"""
QUEUES = "queues:\n  help: {agents: [a1], ring_timeout: 10s, wrap_up: 1s}\n"
AGENTS = "agents:\n  a1: {name: Anna, endpoint: loopback/9196/default}\n"
"""The agent's phone: the stock echo test, which answers at once and stays on the line."""


@contextmanager
def serving(fs, queues: str, agents: str, before=None):
    """``ivr serve`` of one queue on the private FreeSWITCH, once its event socket is connected.

    ``before(work)`` prepares the folder (its stores) before the controller starts.
    """
    with readable_dir() as work:
        flows = work / "flows"
        flows.mkdir()
        (flows / "default.yaml").write_text(FLOW)
        (flows / "queues.yaml").write_text(queues)
        (flows / "agents.yaml").write_text(agents)
        if before is not None:
            before(work)
        serve = ServeProcess(
            work,
            flows,
            fs.controller,
            "--esl",
            f"{fs.host}:{fs.port}",
            "--esl-password",
            fs.password,
        )
        try:
            wait_for(lambda: serve.status()["freeswitch"]["connected"], "event socket connected")
            yield serve
        finally:
            serve.stop()


@pytest.fixture
def center(private_freeswitch):
    """``ivr serve`` with one queue and one agent, on the private FreeSWITCH's controller."""
    with serving(private_freeswitch, QUEUES, AGENTS) as serve:
        yield serve


def call_in(fs, variables: dict[str, str] | None = None) -> str:
    """A caller dialling the IVR number (loopback into the dialplan); returns its leg's uuid."""
    client = fs.connect()
    try:
        return client.originate(
            f"loopback/{IVR_NUMBER}/default", "&park", variables=variables, timeout=20
        )
    finally:
        client.close()


def agent(serve: ServeProcess) -> dict:
    return serve.status()["agents"]["a1"]


def queue_line(serve: ServeProcess) -> list[dict]:
    return serve.status()["queues"]["help"]["line"]


def put_through_and_queue(
    fs, serve: ServeProcess, variables: dict[str, str] | None = None
) -> tuple[str, str]:
    """One caller talking to the agent, another waiting; returns their calls' ids."""
    call_in(fs, variables)
    talking = wait_for(
        lambda: agent(serve)["state"] == "on_call" and agent(serve)["call_id"],
        f"the agent on the first call; {serve.log()}",
    )
    call_in(fs, variables)
    waiting = wait_for(lambda: queue_line(serve), "the second caller in the queue")
    return talking, waiting[0]["call_id"]


def journaled(serve: ServeProcess, *call_ids: str) -> dict[str, dict]:
    entries = wait_for(
        lambda: (
            {c["call_id"]: c for c in serve.calls() if c["call_id"] in call_ids}
            if len([c for c in serve.calls() if c["call_id"] in call_ids]) == len(call_ids)
            else None
        ),
        f"journal entries of {call_ids}; {serve.log()}",
    )
    return entries


def assert_a_new_call_reaches_the_agent_end_to_end(fs, serve: ServeProcess) -> None:
    caller = call_in(fs)
    new_call = wait_for(
        lambda: agent(serve)["state"] == "on_call" and agent(serve)["call_id"],
        f"the agent on a call after the restart; {serve.log()}",
    )
    client = fs.connect()
    try:
        assert client.uuid_kill(caller)  # the caller hangs up after talking
    finally:
        client.close()
    entry = journaled(serve, new_call)[new_call]
    assert (entry["outcome"], entry["agent"], entry["error"]) == ("answered", "a1", None)
    wait_for(lambda: agent(serve)["state"] == "available", "the agent free after the new call")


@pytest.mark.parametrize("how", ["shutdown", "crash"])
def test_after_a_freeswitch_restart_lost_calls_are_closed_the_agent_is_free_and_calls_go_on(
    private_freeswitch, center, how
):
    fs, serve = private_freeswitch, center
    core_before = serve.status()["freeswitch"]["core_uuid"]
    talking, waiting = put_through_and_queue(fs, serve)

    if how == "shutdown":
        fs.shutdown()
    else:
        fs.kill()
    fs.start()

    link = wait_for(
        lambda: (
            (s := serve.status()["freeswitch"])["connected"] and s["core_uuid"] != core_before and s
        ),
        f"the event socket connected again to the new FreeSWITCH; {serve.log()}",
    )
    assert link["connections"] == 2
    entries = journaled(serve, talking, waiting)
    # The caller who talked to the agent was answered, talk time kept; the one in the queue did
    # not abandon: FreeSWITCH lost the call, which the journal says.
    answered, lost = entries[talking], entries[waiting]
    assert (answered["outcome"], answered["agent"]) == ("answered", "a1")
    assert answered["talk_seconds"] > 0
    assert (lost["outcome"], lost["hung_up_by_caller"], lost["in_queue_at_end"]) == ("error", 0, 1)
    assert "FreeSWITCH" in lost["error"]
    wait_for(lambda: agent(serve)["state"] == "available", "the agent available again")
    status = serve.status()["queues"]["help"]
    assert (status["waiting"], status["line"]) == (0, [])
    log = serve.log_path.read_text()
    assert "lost the event socket" in log
    assert "FreeSWITCH restarted" in log

    assert_a_new_call_reaches_the_agent_end_to_end(fs, serve)


class HalfOpenProxy:
    """Carries the controller's call connections, and keeps them open when FreeSWITCH's end
    closes: what the controller sees of a FreeSWITCH host that lost power (no FIN ever comes).
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            self.held += [near, far]
            threading.Thread(target=self._pump, args=(near, far, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(far, near, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_freeswitch: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                if not from_freeswitch:
                    source.close()  # the controller hung up its end: pass that on
                return  # FreeSWITCH's end went away: the controller's stays open
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._closing = True
        self.listener.close()
        for sock in self.held:
            sock.close()


@contextmanager
def half_open_proxy(controller: str) -> Iterator[HalfOpenProxy]:
    host, _, port = controller.rpartition(":")
    proxy = HalfOpenProxy((host, int(port)))
    try:
        yield proxy
    finally:
        proxy.close()


def test_calls_whose_connections_outlive_a_crashed_freeswitch_are_closed_when_it_is_back(
    private_freeswitch, center
):
    fs, serve = private_freeswitch, center
    with half_open_proxy(fs.controller) as proxy:
        # The calls reach the controller through the proxy (their own ivr_controller).
        route = {"ivr_controller": f"127.0.0.1:{proxy.port}"}
        talking, waiting = put_through_and_queue(fs, serve, route)

        fs.kill()
        # Nothing tells the controller: its calls' connections are still open.
        assert agent(serve)["call_id"] == talking and queue_line(serve)
        fs.start()

        entries = journaled(serve, talking, waiting)
        assert "FreeSWITCH restarted" in entries[waiting]["error"]
        assert entries[waiting]["outcome"] == "error"
        assert (entries[talking]["outcome"], entries[talking]["agent"]) == ("answered", "a1")
        wait_for(lambda: agent(serve)["state"] == "available", "the agent available again")
        assert queue_line(serve) == []
        log = serve.log_path.read_text()
        assert "resynchronised with the restarted FreeSWITCH: 2 call(s)" in log

    assert_a_new_call_reaches_the_agent_end_to_end(fs, serve)


CALLBACK_QUEUES = QUEUES + "  later: {agents: [a2], ring_timeout: 10s, wrap_up: 1s}\n"
CALLBACK_AGENTS = AGENTS + (
    "  a2: {name: Boris, endpoint: loopback/9196/default, initial_state: logged_out}\n"
)
CALLBACKS = ["asked-1", "asked-2"]
"""The calls whose callbacks wait in the ``later`` line, whose only agent is logged out."""


def waiting_callbacks(store: Path) -> None:
    """Two callbacks in the queue store, as callers who asked for them earlier left them."""
    kept = SqliteAcdStore(store)
    at = dt.datetime.now(dt.UTC)
    for seq, call_id in enumerate(CALLBACKS):
        callback = Callback(f"cb-{call_id}", "9196", "loopback/9196/default")
        kept.save_callback(Waiting(0, at, seq, call_id, "later", entered=at, callback=callback))
    kept.close()


@pytest.fixture
def center_with_callbacks(private_freeswitch):
    """``ivr serve`` with callbacks waiting for an agent who is logged out, on the private FS."""
    with serving(
        private_freeswitch,
        CALLBACK_QUEUES,
        CALLBACK_AGENTS,
        before=lambda work: waiting_callbacks(work / "acd.sqlite"),
    ) as serve:
        yield serve


def callback_rows(serve: ServeProcess) -> dict[str, dict]:
    db = sqlite3.connect(f"file:{serve.journal_path}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return {row["call_id"]: dict(row) for row in db.execute("SELECT * FROM callbacks")}
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def test_callbacks_waiting_through_a_freeswitch_crash_are_kept_and_each_dialled_once_after_it(
    private_freeswitch, center_with_callbacks
):
    fs, serve = private_freeswitch, center_with_callbacks
    core_before = serve.status()["freeswitch"]["core_uuid"]
    talking, waiting = put_through_and_queue(fs, serve)
    assert serve.status()["queues"]["later"]["callbacks"] == 2

    fs.kill()
    fs.start()

    wait_for(
        lambda: (s := serve.status()["freeswitch"])["connected"] and s["core_uuid"] != core_before,
        f"the event socket connected again to the new FreeSWITCH; {serve.log()}",
    )
    entries = journaled(serve, talking, waiting)
    assert {e["outcome"] for e in entries.values()} == {"answered", "error"}
    wait_for(lambda: agent(serve)["state"] == "available", "the agent of the cut call free")
    assert serve.status()["queues"]["later"]["callbacks"] == 2  # kept through the crash

    client = fs.connect()
    try:
        bridges = events_of(client, "CHANNEL_BRIDGE")
        login = urllib.request.Request(
            f"http://127.0.0.1:{serve.api_port}/agents/a2/login", data=b"", method="POST"
        )
        urllib.request.urlopen(login, timeout=10).close()
        for _ in CALLBACKS:
            # Boris hears whom the callback is for and is put through; the caller hangs up.
            bridged = next_event(
                bridges,
                lambda m: bool(m.get("Other-Leg-Unique-ID")),
                f"a callback put through; {serve.log()}",
                timeout=40,
            )
            assert client.uuid_kill(bridged.get("Other-Leg-Unique-ID"))
    finally:
        client.close()

    rows = wait_for(
        lambda: (r := callback_rows(serve)).keys() == set(CALLBACKS) and r,
        f"both callbacks journaled; {serve.log()}",
    )
    assert {(r["status"], r["agent"], r["attempts"]) for r in rows.values()} == {
        ("answered", "a2", 1)
    }
    wait_for(
        lambda: serve.status()["queues"]["later"]["line"] == [],
        "the callbacks out of the line",
    )
    wait_for(
        lambda: {a["state"] for a in serve.status()["agents"].values()} == {"available"},
        f"no agent left ringing or talking; {serve.log()}",
    )
