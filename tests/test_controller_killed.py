"""``ivr serve`` killed (SIGKILL) with calls on the line and callbacks waiting: nothing is lost.

The controller runs in its own process, as in production, on a simulated FreeSWITCH in the test
process: the simulator places the callers' calls on its outbound socket, and a small inbound
event socket here answers its ``originate`` of an agent for a callback by placing the agent's
answered call on that socket too, as FreeSWITCH's ``&socket`` does. At the kill one caller talks
to the only agent logged in, another waits in the queue, and two callers who asked to be called
back have hung up. A new ``ivr serve`` on the same journal and queue store must close the two
cut calls as lost, free the agent, and dial each callback exactly once.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowkit import hangup, hear, press, wait
from gevent.server import StreamServer
from realfs import ServeProcess, free_port, wait_for

from ivr.simulator import SimulatedFreeSWITCH, frames
from ivr.simulator.commands import ESLCommand, ESLCommandParser
from ivr.simulator.parsing import parse_dial_string, separate_string

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


@pytest.fixture
def center(tmp_path) -> Iterator[tuple[Path, SimulatedFreeSWITCH, InboundSocket, str]]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "default.yaml").write_text(FLOW)
    (flows / "queues.yaml").write_text(QUEUES)
    (flows / "agents.yaml").write_text(AGENTS)
    listen = f"127.0.0.1:{free_port()}"
    host, _, port = listen.partition(":")
    # Callers' and agents' phones answer after two seconds; the callers called back as well.
    sim = SimulatedFreeSWITCH((host, int(port)), virtual_time=False, default_agent="available")
    inbound = InboundSocket(sim)
    try:
        yield tmp_path, sim, inbound, listen
    finally:
        inbound.close()
        sim.close()


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


def _callbacks(process: ServeProcess) -> list[dict]:
    import sqlite3

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
