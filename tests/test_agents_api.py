"""Supervisors change agents live: the controller's JSON HTTP API and ``ivr agents``."""

import json
import sys
from pathlib import Path

import pytest
from flowkit import build
from gevent import subprocess
from geventhttpclient import HTTPClient

from ivr.acd import SqliteAcdStore
from ivr.acd.api import serve_api
from ivr.acd.center import ContactCenter
from ivr.cli import main

FLOWS = Path(__file__).parents[1] / "flows"
AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1}
  a2: {name: Boris, endpoint: user/a2, initial_state: logged_out}
"""
QUEUES = "queues:\n  help: {agents: [a1, a2]}\n"
FLOW = "flow: t\nstart: q\nnodes:\n  q: {type: queue, queue: help}\n"


@pytest.fixture
def api(tmp_path):
    project = build(tmp_path, FLOW, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})
    center = ContactCenter(
        project.agents, project.queues, store=SqliteAcdStore(tmp_path / "acd.sqlite")
    )
    server = serve_api(center, ("127.0.0.1", 0))
    http = HTTPClient("127.0.0.1", server.server_port)
    yield center, server, http
    http.close()
    server.stop()
    center.stop()


def ask(http, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = http.request(method, path, body=data, headers=headers)
    return response.status_code, json.loads(response.read())


def test_status_shows_waiting_callers_longest_wait_and_agents_by_state(api):
    center, _, http = api
    center.pool.set_state("a1", "busy", center.clock())
    center.pool.enqueue("help", "c1", 0, center.clock())
    code, status = ask(http, "GET", "/status")
    assert code == 200
    assert status["queues"]["help"]["waiting"] == 1
    assert status["queues"]["help"]["agents"]["on_call"] == 1
    assert status["queues"]["help"]["agents"]["logged_out"] == 1
    assert status["agents"]["a2"]["state"] == "logged_out"


def test_a_login_through_the_api_offers_the_agent_to_the_waiting_caller_at_once(api):
    center, _, http = api
    center.pool.set_state("a1", "busy", center.clock())
    entry = center.pool.enqueue("help", "c1", 0, center.clock())
    code, agent = ask(http, "POST", "/agents/a2/login")
    assert (code, agent["state"]) == (200, "ringing")
    assert entry.offer == ["a2"]


def test_a_timed_break_and_a_logout_through_the_api(api):
    center, _, http = api
    code, agent = ask(http, "POST", "/agents/a1/break", {"minutes": 15})
    assert (code, agent["state"]) == (200, "on_break")
    assert agent["until"] is not None
    code, agent = ask(http, "POST", "/agents/a1/logout")
    assert (code, agent["state"]) == (200, "logged_out")


def test_the_api_says_what_is_wrong(api):
    _, _, http = api
    assert ask(http, "POST", "/agents/zz/login") == (404, {"error": "no agent 'zz' in agents.yaml"})
    code, body = ask(http, "POST", "/agents/a2/break")
    assert code == 409 and "log in before" in body["error"]
    assert ask(http, "GET", "/agents/a1/login")[0] == 405
    assert ask(http, "GET", "/nothing")[0] == 404
    assert ask(http, "POST", "/agents/a1/break", {"minutes": -3})[0] == 400


def test_the_api_listens_on_loopback_only(api):
    center, _, _ = api
    with pytest.raises(ValueError, match="loopback only"):
        serve_api(center, ("0.0.0.0", 0))


def test_ivr_agents_talks_to_the_running_controller(api, tmp_path):
    center, server, _ = api
    address = f"127.0.0.1:{server.server_port}"
    command = [sys.executable, "-m", "ivr.cli", "agents"]
    done = subprocess.run(
        [*command, "login", "a2", "--api", address], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "agent a2 (Boris): available"
    assert center.pool.agents["a2"].state == "available"
    done = subprocess.run([*command, "status", "--api", address], capture_output=True, text=True)
    assert "help" in done.stdout and "Boris" in done.stdout


def test_ivr_agents_without_a_controller_keeps_the_change_in_the_store(tmp_path, capsys):
    store = tmp_path / "acd.sqlite"
    where = ["--api", "127.0.0.1:1", "--store", str(store), "--flows", str(FLOWS)]
    assert main(["agents", "break", "1001", "--minutes", "10", *where]) == 0
    out = capsys.readouterr().out
    assert out.startswith("agent 1001 (Anna): on_break until ")
    assert f"kept in {store} for its start" in out
    assert main(["agents", "status", *where]) == 0
    status = capsys.readouterr().out
    assert "as kept in" in status
    assert any(line.startswith("1001") and "on_break" in line for line in status.splitlines())
    assert main(["agents", "logout", "9999", *where]) == 1
    assert "no agent '9999'" in capsys.readouterr().out
    assert main(["agents", "login"]) == 2
