"""http: sources and the http node against a real HTTP server on 127.0.0.1.

``BackEnd`` is the test suite's web API: each path answers as a test tells it (at once, slowly,
with an error status, with malformed JSON), and it records every request it gets. Other test
files import it from here.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import pytest
from flowkit import build, call, hear, press, said
from gevent import socket as gsocket
from gevent.pywsgi import WSGIHandler, WSGIServer

from ivr.data import DataSourceError
from ivr.data.base import RETRY_PAUSE
from ivr.project import load_project
from ivr.wsgi import HttpServer


@dataclass
class Reply:
    """How the back end answers one request."""

    status: int = 200
    json: object = None
    body: bytes | None = None
    delay: float = 0.0
    headers: list[tuple[str, str]] = field(default_factory=list)


class _RawTarget(WSGIHandler):
    """Keeps the request target as sent (WSGI's PATH_INFO is percent-decoded)."""

    def get_environ(self):
        environ = super().get_environ()
        environ["RAW_URI"] = self.path
        return environ


@dataclass
class Request:
    """A request the back end got; ``target`` is exactly as sent, ``path`` decoded."""

    method: str
    target: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer_port: int


@dataclass
class BackEnd:
    """A JSON web API on 127.0.0.1: paths answer with the replies given, the last one repeating.

    ``answered`` lists the paths in the order their answers went out, after any delay: a test
    compares it with what the caller saw to tell a timeout from a slow answer without a stopwatch.
    """

    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = WSGIServer(
            ("127.0.0.1", 0), self._app, log=None, error_log=None, handler_class=_RawTarget
        )
        self.server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def _app(self, environ, start_response):
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.requests.append(
            Request(
                environ["REQUEST_METHOD"],
                environ["RAW_URI"],
                environ["PATH_INFO"],
                environ.get("QUERY_STRING", ""),
                headers,
                body,
                int(environ["REMOTE_PORT"]),
            )
        )
        replies = self.routes.get(environ["PATH_INFO"], [Reply(404, {"error": "no route"})])
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.delay:
            gevent.sleep(reply.delay)
        self.answered.append(environ["PATH_INFO"])
        payload = reply.body if reply.body is not None else json.dumps(reply.json).encode()
        start_response(
            f"{reply.status} X",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                *reply.headers,
            ],
        )
        return [payload]

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def backend():
    server = BackEnd()
    yield server
    server.close()


def source(tmp_path: Path, declaration: str, name: str = "api", variables: str = "{}"):
    """Compile a flow declaring one source (and ``variables``) and return the source."""
    flow = f"""
flow: t
start: bye
vars: {variables}
data:
  {name}: {declaration}
nodes:
  bye: {{type: hangup}}
"""
    project = build(tmp_path, flow)
    return project.flows["t"].data[name]


# ----------------------------------------------------------------- lookups


def test_a_get_lookup_returns_the_json_record_and_404_means_not_found(tmp_path, backend):
    backend.answer("/accounts/12345678", Reply(json={"name": "Ann", "balance": 10.5}))
    api = source(tmp_path, f'{{http: "{backend.url}/accounts/{{{{ key }}}}"}}')
    assert api.ask({"key": "12345678"}) == {"name": "Ann", "balance": 10.5}
    assert api.ask({"key": "999"}) is None
    assert [r.target for r in backend.requests] == ["/accounts/12345678", "/accounts/999"]
    assert backend.requests[0].headers["Accept"] == "application/json"


def test_fields_pick_values_from_the_answer_by_dotted_path(tmp_path, backend):
    answer = {"data": {"status": "shipped", "items": [{"eta": "2026-11-27"}]}}
    backend.answer("/orders/7", Reply(json=answer))
    api = source(
        tmp_path,
        f"""
    http:
      url: "{backend.url}/orders/{{{{ key }}}}"
      fields: {{status: data.status, eta: data.items.0.eta, missing: data.nope}}""",
    )
    assert api.ask({"key": "7"}) == {"status": "shipped", "eta": "2026-11-27", "missing": None}


def test_query_parameters_and_headers_are_rendered_from_the_call(tmp_path, backend):
    backend.answer("/find", Reply(json={"ok": True}))
    api = source(
        tmp_path,
        f"""
    http:
      url: "{backend.url}/find"
      query: {{phone: "{{{{ caller }}}}", lang: en}}
      headers: {{X-Channel: ivr, X-Call: "{{{{ call_id }}}}"}}""",
    )
    api.ask({"caller": "+15550001111", "call_id": "c-1"})
    request = backend.requests[0]
    assert request.target == "/find?phone=%2B15550001111&lang=en"
    assert request.headers["X-Channel"] == "ivr"
    assert request.headers["X-Call"] == "c-1"


def test_a_post_sends_its_json_body_with_values_keeping_their_types(tmp_path, backend):
    backend.answer("/callbacks", Reply(201, {"id": 9}))
    api = source(
        tmp_path,
        f"""
    http:
      url: "{backend.url}/callbacks"
      method: POST
      json: {{phone: "{{{{ caller }}}}", slot: "{{{{ slot }}}}",
             note: "slot {{{{ slot }}}}", vip: true}}""",
        variables="{slot: 0}",
    )
    assert api.send({"caller": "+1555", "slot": 3}) == {"id": 9}
    request = backend.requests[0]
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"phone": "+1555", "slot": 3, "note": "slot 3", "vip": True}


def test_a_get_is_retried_after_a_busy_server_and_then_answers(tmp_path, backend):
    backend.answer("/r/1", Reply(503, {}), Reply(json={"ok": 1}))
    api = source(tmp_path, f'{{http: "{backend.url}/r/{{{{ key }}}}", retries: 1}}')
    assert api.ask({"key": "1"}) == {"ok": 1}
    assert len(backend.requests) == 2


def test_a_post_is_not_sent_twice_after_an_error_status(tmp_path, backend):
    backend.answer("/pay", Reply(503, {}), Reply(json={"ok": 1}))
    api = source(tmp_path, f'{{http: {{url: "{backend.url}/pay", method: POST}}, retries: 2}}')
    with pytest.raises(DataSourceError, match="answered 503"):
        api.ask({}, fetch=api.send)
    assert len(backend.requests) == 1


def test_a_post_is_retried_when_the_service_could_not_be_reached(tmp_path, monkeypatch):
    closed = WSGIServer(("127.0.0.1", 0), lambda e, s: [])
    closed.init_socket()
    port = closed.server_port
    closed.close()
    api = source(
        tmp_path, f'{{http: {{url: "http://127.0.0.1:{port}/pay", method: POST}}, retries: 1}}'
    )
    pauses = []
    real_sleep = gevent.sleep
    monkeypatch.setattr(gevent, "sleep", lambda seconds=0: (pauses.append(seconds), real_sleep(0)))
    with pytest.raises(DataSourceError, match="cannot connect") as caught:
        api.ask({}, fetch=api.send)
    assert caught.value.retryable
    assert pauses == [RETRY_PAUSE]  # it paused once before trying again


def test_a_slow_answer_times_out_and_says_so(tmp_path, backend):
    backend.answer("/slow", Reply(json={}, delay=2))
    api = source(tmp_path, f'{{http: "{backend.url}/slow", timeout: 300ms}}')
    with pytest.raises(DataSourceError, match="within 0.3s") as caught:
        api.ask({})
    assert caught.value.timed_out


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=b"<html>Bad gateway</html>"), "malformed JSON"),
        (Reply(500, {"error": "boom"}), "answered 500"),
        (Reply(json=[1, 2]), "not a record"),
        (Reply(body=b"x" * (1 << 20 + 1)), "over"),
    ],
)
def test_broken_answers_are_failures(tmp_path, backend, reply, message):
    backend.answer("/broken", reply)
    api = source(tmp_path, f'{{http: "{backend.url}/broken"}}')
    with pytest.raises(DataSourceError, match=message):
        api.ask({})


def test_one_slow_api_does_not_hold_up_other_calls(tmp_path, backend):
    backend.answer("/slow", Reply(json={"who": "slow"}, delay=1.0))
    backend.answer("/fast", Reply(json={"who": "fast"}))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    slow = source(tmp_path / "a", f'{{http: "{backend.url}/slow"}}')
    fast = source(tmp_path / "b", f'{{http: "{backend.url}/fast"}}')
    finished = []
    slow_call = gevent.spawn(lambda: finished.append(slow.ask({})["who"]))
    gevent.sleep(0.05)
    fast_call = gevent.spawn(lambda: finished.append(fast.ask({})["who"]))
    fast_call.join()
    assert finished == ["fast"]
    assert backend.answered == ["/fast"]  # the slow one was still being worked on
    slow_call.join()
    assert finished == ["fast", "slow"]


def test_connections_to_an_api_are_kept_and_reused(tmp_path, backend):
    backend.answer("/ping", Reply(json={"ok": True}))
    api = source(tmp_path, f'{{http: "{backend.url}/ping"}}')
    for _ in range(5):
        api.ask({})
    assert len({r.peer_port for r in backend.requests}) == 1


def test_answers_are_cached_for_the_ttl(tmp_path, backend):
    backend.answer("/c/1", Reply(json={"n": 1}), Reply(json={"n": 2}))
    api = source(tmp_path, f'{{http: "{backend.url}/c/{{{{ key }}}}", cache: {{ttl: 30s}}}}')
    assert api.ask({"key": "1"}) == {"n": 1}
    assert api.ask({"key": "1"}) == {"n": 1}
    assert api.ask({"key": "1"}, cached=False) == {"n": 2}
    assert len(backend.requests) == 2


# ----------------------------------------------------------------- credentials


def test_a_bearer_token_comes_from_the_environment_at_each_request(tmp_path, backend, monkeypatch):
    backend.answer("/me", Reply(json={"ok": True}))
    api = source(
        tmp_path, f'{{http: {{url: "{backend.url}/me", auth: {{bearer_env: ACME_TOKEN}}}}}}'
    )
    monkeypatch.setenv("ACME_TOKEN", "first-token")
    api.ask({})
    monkeypatch.setenv("ACME_TOKEN", "rotated-token")
    api.ask({})
    assert [r.headers["Authorization"] for r in backend.requests] == [
        "Bearer first-token",
        "Bearer rotated-token",
    ]


def test_basic_auth_and_an_api_key_header_come_from_the_environment(tmp_path, backend, monkeypatch):
    backend.answer("/me", Reply(json={"ok": True}))
    monkeypatch.setenv("API_USER", "ivr")
    monkeypatch.setenv("API_PASSWORD", "pw")
    monkeypatch.setenv("API_KEY", "k-123")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    basic = source(
        tmp_path / "a",
        f'{{http: {{url: "{backend.url}/me", '
        "auth: {user_env: API_USER, password_env: API_PASSWORD}}}",
    )
    keyed = source(
        tmp_path / "b",
        f'{{http: {{url: "{backend.url}/me", auth: {{header: X-Api-Key, value_env: API_KEY}}}}}}',
    )
    basic.ask({})
    keyed.ask({})
    assert backend.requests[0].headers["Authorization"] == "Basic aXZyOnB3"
    assert backend.requests[1].headers["X-Api-Key"] == "k-123"


def test_a_missing_credential_variable_is_a_failure_naming_the_variable(tmp_path, backend):
    api = source(tmp_path, f'{{http: {{url: "{backend.url}/me", auth: {{bearer_env: NOT_SET}}}}}}')
    with pytest.raises(DataSourceError, match="environment variable NOT_SET is not set"):
        api.ask({})
    assert backend.requests == []


# ----------------------------------------------------------------- the http node and the mock


HTTP_FLOW = """
flow: t
start: ask
data:
  cards:
    http:
      url: "{url}/accounts/{{{{ account }}}}/block"
      method: POST
      json: {{caller: "{{{{ caller }}}}"}}
      fields: {{reference: ref}}
    timeout: 1s
    filler_after: 300ms
nodes:
  ask:
    type: input
    prompt: "Account?"
    digits: {{min: 4, max: 4}}
    save_as: account
    next: block
    on_fail: bye
  block:
    type: http
    source: cards
    save_as: done
    next: blocked
    on_error: sorry
  blocked: {{type: hangup, prompt: "Blocked, reference {{{{ done.reference }}}}."}}
  sorry: {{type: hangup, prompt: "Sorry, try later."}}
  bye: {{type: hangup}}
"""


def test_the_http_node_sends_values_from_the_call_and_saves_the_answer(tmp_path, backend):
    backend.answer("/accounts/1234/block", Reply(json={"ref": "R-77", "extra": 1}))
    project = build(tmp_path, HTTP_FLOW.format(url=backend.url))
    result = call(project, press("1234"))
    assert result.record.path == ["ask", "block", "blocked"]
    assert said(result)[-1] == "Blocked, reference R-77."
    assert json.loads(backend.requests[0].body) == {"caller": "+15550001111"}
    assert result.record.lookups == [("block", "cards", "sent")]


@pytest.mark.parametrize(
    ("reply", "journaled"),
    [
        (Reply(404, {}), "error"),
        (Reply(422, {"error": "card already blocked"}), "error"),
        (Reply(body=b"{not json"), "error"),
        (Reply(json={"ref": "late"}, delay=3), "timeout"),
    ],
)
def test_the_http_node_takes_its_error_edge_and_journals_the_failure(
    tmp_path, backend, reply, journaled
):
    backend.answer("/accounts/1234/block", reply)
    project = build(tmp_path, HTTP_FLOW.format(url=backend.url))
    result = call(project, press("1234"))
    assert result.record.path == ["ask", "block", "sorry"]
    assert result.record.lookups == [("block", "cards", journaled)]
    assert "request to cards failed" in result.record.visits[1].detail


def test_a_mock_answers_from_its_file_over_real_http_on_loopback(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "svc.yaml").write_text(
        "responses:\n"
        "  - {method: POST, path: /v1/cards/0000, status: 503, json: {error: down}}\n"
        '  - {method: POST, path: "/v1/cards/{card}", json: {ref: "R{card}"}}\n'
    )
    flow = """
flow: t
start: bye
data:
  api: {http: {url: "https://cards.example/v1/cards/{{ key }}", method: POST,
         mock: data/svc.yaml}}
nodes:
  bye: {type: hangup}
"""
    api = build(tmp_path, flow).flows["t"].data["api"]
    assert api.send({"key": "4242"}) == {"ref": "R4242"}
    with pytest.raises(DataSourceError, match=r"\(stand-in service\) answered 503"):
        api.send({"key": "0000"})
    assert api.mock.origin.startswith("http://127.0.0.1:")


def test_the_example_card_service_is_slow_failing_and_broken_for_its_test_accounts():
    project = load_project(Path(__file__).parents[1] / "flows")
    cards = project.flows["acme_bank"].data["card_service"]
    assert cards.send({"customer": {"account": "12345678"}, "caller": "+1"}) == {
        "reference": "40417",
        "card_ending": "4242",
    }
    with pytest.raises(DataSourceError, match="answered 503"):
        cards.send({"customer": {"account": "55509999"}, "caller": "+1"})
    with pytest.raises(DataSourceError, match="malformed JSON"):
        cards.send({"customer": {"account": "55508888"}, "caller": "+1"})


def test_filler_plays_while_the_api_is_slow(tmp_path, backend):
    backend.answer("/accounts/1234/block", Reply(json={"ref": "R-1"}, delay=0.5))
    project = build(tmp_path, HTTP_FLOW.format(url=backend.url))
    result = call(project, press("1234"), hear("One moment please"), hear("Blocked"))
    assert result.passed, result.report()
    assert said(result)[-2:] == ["One moment please.", "Blocked, reference R-1."]


def test_ivr_http_servers_send_each_reply_without_waiting_for_the_clients_acknowledgement():
    """gevent writes headers and body apart; with Nagle on, the body waited 40 ms for an ACK."""
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = gsocket.create_connection(listener.getsockname())
    served, address = listener.accept()
    nodelay = []

    def app(environ, start_response):
        nodelay.append(served.getsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    HttpServer(listener, app, log=None).handle(served, address)
    assert client.recv(4096).startswith(b"HTTP/1.1 200 OK")
    assert nodelay == [1]
    client.close()
    listener.close()
