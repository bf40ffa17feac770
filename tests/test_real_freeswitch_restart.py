"""FreeSWITCH restarted under a running ``ivr serve``: nothing is left in progress, calls go on.

Each test has a FreeSWITCH of its own (``private_freeswitch``, started from the installed one
with the project's configuration), so it can stop it cleanly (``fsctl shutdown``) or kill it
(SIGKILL, a crash) without disturbing any other. ``ivr serve`` runs in its own process, kept
connected to that FreeSWITCH's event socket (``--esl``). At the restart one caller talks to the
only agent (a loopback call into the echo test, which answers and stays) and another waits in
the queue. What a supervisor sees afterwards is asserted through the controller's agents API
and its journal: both calls closed with an outcome, the agent free, the queue empty, the event
socket connected again to the new FreeSWITCH run; and a new call reaches the agent.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from realfs import ServeProcess, free_port, readable_dir, wait_for

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


@pytest.fixture
def center(private_freeswitch):
    """``ivr serve`` with one queue and one agent, on the private FreeSWITCH's controller."""
    with readable_dir() as work:
        flows = work / "flows"
        flows.mkdir()
        (flows / "default.yaml").write_text(FLOW)
        (flows / "queues.yaml").write_text(QUEUES)
        (flows / "agents.yaml").write_text(AGENTS)
        fs = private_freeswitch
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
