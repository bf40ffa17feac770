"""``ivr report`` and the Prometheus metrics tell the same story about the same calls.

One ``ivr serve`` takes a few calls from the simulated FreeSWITCH (a hang-up in the menu, two
answered by agents, one abandoned while both agents wrap up); the live metrics are scraped at
the end, the controller is stopped, and the report of its journal must give the same outcome
counts and the same agents' states as the metrics did.
"""

import json
import signal
import sys

import gevent
from flowkit import build
from gevent import socket, subprocess
from test_metrics import FLOW, samples, scrape

from ivr.cli import main
from ivr.runtime.memory import Step
from ivr.runtime.record import OUTCOMES
from ivr.simulator import SimulatedFreeSWITCH
from ivr.store import SqliteJournal

# A long wrap-up: both agents are still in it when the metrics are scraped and when the
# controller stops, whatever the machine's speed.
QUEUES = "queues: {help: {agents: [a1, a2], wrap_up: 10m}}"
AGENTS = """
agents:
  a1: {name: Ann, endpoint: user/1001}
  a2: {name: Bob, endpoint: user/1002}
"""


def free_ports(count: int) -> list[int]:
    ports = []
    for _ in range(count):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    return ports


def wait_for(condition, seconds: float = 20) -> None:
    with gevent.Timeout(seconds):
        while not condition():
            gevent.sleep(0.05)


def test_the_report_of_a_run_gives_the_outcomes_and_agent_states_its_metrics_gave(tmp_path, capsys):
    build(tmp_path, FLOW, **{"queues.yaml": QUEUES, "agents.yaml": AGENTS})
    listen, metrics = free_ports(2)
    journal = tmp_path / "journal.sqlite"
    server = subprocess.Popen(
        [sys.executable, "-m", "ivr.cli", "serve", str(tmp_path)]
        + ["--listen", f"127.0.0.1:{listen}", "--metrics", f"127.0.0.1:{metrics}"]
        + ["--journal", str(journal), "--store", str(tmp_path / "acd.sqlite")]
        + ["--prompt-cache", str(tmp_path / "prompts"), "--recordings", str(tmp_path / "rec")],
        stdout=subprocess.PIPE,
        text=True,
    )
    sim = None
    try:
        assert "serving" in server.stdout.readline()
        sim = SimulatedFreeSWITCH(
            ("127.0.0.1", listen),
            virtual_time=False,
            agents={
                "user/1001": "available",
                "user/1002": "available",
            },
        )
        # ringing takes 2 s: each caller talks to an agent for about 3 s
        talk = [Step("press", "0"), Step("wait", 5.0), Step("hangup", True)]
        calls = [
            sim.place_call([Step("wait", 1.0), Step("hangup", True)]),
            sim.place_call(talk),
            sim.place_call(talk),
        ]
        for call in calls:
            assert call.wait(timeout=30)
        late = sim.place_call([Step("press", "0"), Step("wait", 2.0), Step("hangup", True)])
        assert late.wait(timeout=30)
        wait_for(
            lambda: samples(scrape(("127.0.0.1", metrics))[1])[("ivr_calls_in_progress",)] == 0
        )
        live = samples(scrape(("127.0.0.1", metrics))[1])
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if sim is not None:
            sim.close()
        if server.poll() is None:
            server.kill()

    assert main(["report", "--journal", str(journal), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    tables = {table["key"]: table for table in document["tables"]}
    outcomes = {row[0]: row[1] for row in tables["outcomes"]["rows"]}
    assert outcomes == {o: live[("ivr_calls_total", ("outcome", o))] for o in OUTCOMES}
    assert (outcomes["ivr_hangup"], outcomes["answered"], outcomes["abandoned"]) == (1, 2, 1)

    # The state each agent was in when the controller stopped (its last segment) is the state
    # the metrics counted it in.
    store = SqliteJournal(journal, create=False)
    last = dict(
        store.db.execute(
            "SELECT agent, state FROM agent_states s WHERE started_at = "
            "(SELECT max(started_at) FROM agent_states WHERE agent = s.agent)"
        ).fetchall()
    )
    open_segments = store.db.execute(
        "SELECT count(*) FROM agent_states WHERE ended_at IS NULL"
    ).fetchone()[0]
    store.close()
    assert open_segments == 0  # a clean stop ends every agent's state
    by_state = {}
    for state in last.values():
        by_state[state] = by_state.get(state, 0) + 1
    gauges = {
        labels[0][1]: value
        for (name, *labels), value in live.items()
        if name == "ivr_agents" and value
    }
    assert by_state == gauges == {"wrap_up": 2}
    agents = {row[0]: row for row in tables["agents"]["rows"]}
    assert {agent: row[2] for agent, row in agents.items()} == {"a1": 1, "a2": 1}
