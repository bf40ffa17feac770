"""Supervisors change agents live: the controller's JSON HTTP API and ``ivr agents``."""

import json
import os
import signal
import socket
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
def center(tmp_path):
    project = build(tmp_path, FLOW, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})
    center = ContactCenter(
        project.agents, project.queues, store=SqliteAcdStore(tmp_path / "acd.sqlite")
    )
    yield center
    center.stop()


@pytest.fixture
def api(center):
    server = serve_api(center, ("127.0.0.1", 0))
    http = HTTPClient("127.0.0.1", server.server_port)
    yield center, server, http
    http.close()
    server.stop()


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


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "api-token"
    path.write_text("s3cret-token\n")
    path.chmod(0o600)
    return path


def test_ivr_agents_brings_the_token_a_guarded_controller_asks_for(center, token_file):
    server = serve_api(center, ("127.0.0.1", 0), token="s3cret-token")
    command = [sys.executable, "-m", "ivr.cli", "agents"]
    where = ["--api", f"127.0.0.1:{server.server_port}"]
    try:
        done = subprocess.run([*command, "login", "a2", *where], capture_output=True, text=True)
        assert done.returncode == 1
        assert "ivr: this API needs Authorization: Bearer TOKEN" in done.stdout
        assert center.pool.agents["a2"].state == "logged_out"
        with_file = [*where, "--api-token-file", str(token_file)]
        done = subprocess.run([*command, "login", "a2", *with_file], capture_output=True, text=True)
        assert (done.returncode, done.stdout.strip()) == (0, "agent a2 (Boris): available")
        env = {**os.environ, "IVR_API_TOKEN_FILE": str(token_file)}
        done = subprocess.run(
            [*command, "logout", "a2", *where], capture_output=True, text=True, env=env
        )
        assert (done.returncode, done.stdout.strip()) == (0, "agent a2 (Boris): logged_out")
    finally:
        server.stop()


def test_ivr_serve_refuses_a_token_file_others_may_read(token_file, tmp_path, capsys):
    token_file.chmod(0o640)
    # Checked before the flows are loaded: a missing folder would be the error otherwise.
    flows = str(tmp_path / "no-flows")
    assert main(["serve", flows, "--api-token-file", str(token_file)]) == 2
    err = capsys.readouterr().err
    assert f"is open to its group or others (mode -rw-r-----): run chmod 600 {token_file}" in err


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        ("nan", "at most 1440 (24 hours), not nan"),
        ("inf", "not inf"),
        ("0", "above 0"),
        ("1e300", "not 1e+300"),
        ("soon", "'soon' is not a number of minutes"),
    ],
)
def test_ivr_agents_refuses_a_break_that_is_not_between_0_and_a_day(minutes, words, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["agents", "break", "1001", "--minutes", minutes, "--api", "127.0.0.1:1"])
    assert exited.value.code == 2
    assert words in capsys.readouterr().err


def test_ivr_serve_with_a_token_file_answers_only_ivr_agents_bearing_it(tmp_path, token_file):
    flows = tmp_path
    build(flows, FLOW, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    api = f"127.0.0.1:{ports[1]}"
    serve = [sys.executable, "-m", "ivr.cli", "serve", str(flows), "--listen"]
    serve += [f"127.0.0.1:{ports[0]}", "--api", api, "--api-token-file", str(token_file)]
    serve += ["--store", str(tmp_path / "acd.sqlite"), "--journal", str(tmp_path / "j.sqlite")]
    serve += ["--prompt-cache", str(tmp_path / "prompts"), "--recordings", str(tmp_path / "rec")]
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert f"agents API at http://{api}/status (token needed)" in banner
        agents = [sys.executable, "-m", "ivr.cli", "agents", "status", "--api", api]
        refused = subprocess.run(agents, capture_output=True, text=True)
        assert refused.returncode == 1 and "needs Authorization" in refused.stdout
        agents += ["--api-token-file", str(token_file)]
        done = subprocess.run(agents, capture_output=True, text=True)
        assert done.returncode == 0 and "Boris" in done.stdout
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
