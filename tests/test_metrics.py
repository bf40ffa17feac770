"""Prometheus metrics at /metrics: calls, outcomes, queues, agents, prompt cache, journal."""

import signal
import sys

import gevent
import pytest
from flowkit import build
from gevent import socket, subprocess
from prometheus_client.parser import text_string_to_metric_families

from ivr.cli import main
from ivr.freeswitch.server import Controller
from ivr.metrics import ControllerMetrics
from ivr.prompts.files import PROMPT_CACHE, PromptFiles
from ivr.simulator import SimulatedFreeSWITCH
from ivr.store import CallFilter, JournalWriter, SqliteJournal

FLOW = """
flow: default
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "Press 0 for an operator."
    choices: {0: operator}
    timeout: 30s
    on_fail: bye
  operator:
    type: queue
    queue: help
  bye:
    type: hangup
    prompt: "Goodbye."
"""
QUEUES = "queues: {help: {agents: [a1, a2]}}"
AGENTS = """
agents:
  a1: {name: Ann, endpoint: user/1001, initial_state: logged_out}
  a2: {name: Bob, endpoint: user/1002, initial_state: logged_out}
"""


def scrape(address, path: str = "/metrics") -> tuple[str, str]:
    """GET ``path`` over a gevent socket (the server runs in this same hub): status and body."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return head.splitlines()[0], body


def samples(body: str) -> dict[tuple, float]:
    """Every sample as {(name, (label, value), ...): value}."""
    return {
        (s.name, *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


@pytest.fixture
def served(tmp_path):
    project = build(tmp_path, FLOW, **{"queues.yaml": QUEUES, "agents.yaml": AGENTS})
    writer = JournalWriter.open(tmp_path / "journal.sqlite")
    controller = Controller(project, ("127.0.0.1", 0), PromptFiles(tmp_path / "prompts", tmp_path))
    metrics = ControllerMetrics(controller, writer)

    def ended(call) -> None:
        writer.submit_call(call)
        metrics.call_ended(call)

    controller.on_call_end = ended
    controller.start()
    metrics.serve(("127.0.0.1", 0))
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=False)
    yield controller, metrics, sim
    sim.close()
    controller.drain(timeout=5)
    metrics.stop()
    writer.close()


def test_metrics_show_a_caller_waiting_the_agents_states_and_then_the_outcome(served):
    controller, metrics, sim = served
    hits_before = samples(scrape(metrics.address)[1])[("ivr_prompt_cache_total", ("result", "hit"))]
    PROMPT_CACHE.hit()
    PROMPT_CACHE.hit()
    PROMPT_CACHE.miss()

    caller = sim.place_call(None, dialed="100")
    with gevent.Timeout(10):
        while not any("says:" in e.text for e in caller.transcript):
            gevent.sleep(0.02)
    caller.press("0")
    with gevent.Timeout(10):
        while not controller.services.agents.lines["help"]:
            gevent.sleep(0.02)
    gevent.sleep(0.3)
    status, body = scrape(metrics.address)
    assert status == "HTTP/1.1 200 OK"
    now = samples(body)
    assert now[("ivr_calls_in_progress",)] == 1
    assert now[("ivr_queue_waiting", ("queue", "help"))] == 1
    assert 0.2 <= now[("ivr_queue_longest_wait_seconds", ("queue", "help"))] < 30
    assert now[("ivr_queue_callbacks", ("queue", "help"))] == 0
    assert now[("ivr_agents", ("state", "logged_out"))] == 2
    assert now[("ivr_agents", ("state", "available"))] == 0
    assert now[("ivr_prompt_cache_total", ("result", "hit"))] == hits_before + 2
    assert ("ivr_journal_pending_records",) in now
    assert ("process_resident_memory_bytes",) in now

    caller.hangup()
    assert caller.wait(timeout=10)
    with gevent.Timeout(10):
        while controller.calls:
            gevent.sleep(0.02)
    after = samples(scrape(metrics.address)[1])
    assert after[("ivr_calls_total", ("outcome", "abandoned"))] == 1
    assert after[("ivr_calls_total", ("outcome", "answered"))] == 0
    assert after[("ivr_calls_in_progress",)] == 0
    assert after[("ivr_queue_waiting", ("queue", "help"))] == 0
    assert after[("ivr_queue_longest_wait_seconds", ("queue", "help"))] == 0


def test_only_the_metrics_path_is_served(served):
    _, metrics, _ = served
    status, body = scrape(metrics.address, "/")
    assert status.endswith("404 Not Found")
    assert "metrics are at /metrics" in body


def test_metrics_are_refused_on_an_address_other_than_loopback(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(tmp_path), "--metrics", "0.0.0.0:9108"])
    assert exit_.value.code == 2
    assert "0.0.0.0 is not a loopback address: metrics are served on 127.0.0.1 only" in (
        capsys.readouterr().err
    )


def test_ivr_serve_journals_every_call_and_serves_metrics_until_it_drains(tmp_path):
    build(tmp_path, FLOW, **{"queues.yaml": QUEUES, "agents.yaml": AGENTS})
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    journal = tmp_path / "var" / "calls.sqlite"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ivr.cli",
            "serve",
            str(tmp_path),
            "--listen",
            f"127.0.0.1:{ports[0]}",
            "--metrics",
            f"127.0.0.1:{ports[1]}",
            "--journal",
            str(journal),
            "--prompt-cache",
            str(tmp_path / "prompts"),
            "--recordings",
            str(tmp_path / "rec"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = server.stdout.readline()
        assert f"journal {journal}" in banner
        assert f"metrics at http://127.0.0.1:{ports[1]}/metrics" in banner
        sim = SimulatedFreeSWITCH(("127.0.0.1", ports[0]), virtual_time=False)
        caller = sim.place_call(None, dialed="100")
        with gevent.Timeout(10):
            while not any("says:" in e.text for e in caller.transcript):
                gevent.sleep(0.05)
        live = samples(scrape(("127.0.0.1", ports[1]))[1])
        assert live[("ivr_calls_in_progress",)] == 1
        caller.hangup()
        assert caller.wait(timeout=10)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        sim.close()
    finally:
        if server.poll() is None:
            server.kill()
    store = SqliteJournal(journal, create=False)
    [entry] = list(store.entries(CallFilter()))
    store.close()
    assert entry.record.call_id == caller.uuid
    assert entry.record.outcome == "ivr_hangup"
    assert entry.record.path == ["menu"]
