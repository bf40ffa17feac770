"""The agents API facing hostile clients: other origins, rebinding, bad bodies, slow sockets.

Every probe is sent as raw bytes over loopback to a real server and must get a JSON error that
says what was wrong, with no traceback in the log; afterwards the server still answers. The
probes are listed in docs/reliability.md ("The agent API"). Damaged and random requests are
fuzzed with Hypothesis (derandomized, 150 by default; ``IVR_FUZZ_EXAMPLES=N`` for more).
"""

import json
import logging
import os

import gevent
import pytest
from flowkit import build
from gevent import socket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.acd import SqliteAcdStore
from ivr.acd.api import MAX_BODY, TokenFileError, read_token_file, serve_api
from ivr.acd.center import ContactCenter

AGENTS = """
agents:
  a1: {name: Anna, endpoint: user/a1}
  a2: {name: Boris, endpoint: user/a2, initial_state: logged_out}
"""
QUEUES = "queues:\n  help: {agents: [a1, a2]}\n"
FLOW = "flow: t\nstart: q\nnodes:\n  q: {type: queue, queue: help}\n"
CLIENT_BOUND = 5.0
"""Seconds a test's socket waits for the server at most, so a hang fails instead of stalling."""


@pytest.fixture
def center(tmp_path):
    project = build(tmp_path, FLOW, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})
    center = ContactCenter(
        project.agents, project.queues, store=SqliteAcdStore(tmp_path / "acd.sqlite")
    )
    yield center
    center.stop()


@pytest.fixture
def server(center, caplog, capfd):
    """A server whose log must show no error and whose stderr no traceback when a test ends."""
    caplog.set_level(logging.INFO)
    server = serve_api(center, ("127.0.0.1", 0), read_timeout=0.2)
    yield server
    assert send(server, request("GET", "/status", server))[0] == 200, "the server stopped"
    server.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in capfd.readouterr().err


def request(method, path, server, *, host=None, headers=(), body=None, content_type=True):
    host = f"127.0.0.1:{server.server_port}" if host is None else host
    lines = [f"{method} {path} HTTP/1.1"]
    if host != "":
        lines.append(f"Host: {host}")
    if body is not None:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append("Content-Type: application/json")
    lines += [*headers, "Connection: close"]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b"")


def send(server, data: bytes, *, shut=False) -> tuple[int, dict]:
    """Send raw bytes and read the whole answer: its status and its JSON body."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=CLIENT_BOUND) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), answer
    return int(head.split()[1]), json.loads(body)


def port(server) -> int:
    return server.server_port


# (what the probe is, how to build it from the server, the status, words of the error)
PROBES = [
    (
        "Host of another site (DNS rebinding)",
        lambda s: request("GET", "/status", s, host=f"evil.example:{port(s)}"),
        421,
        "'evil.example",
    ),
    (
        "Host with another port",
        lambda s: request("GET", "/status", s, host=f"127.0.0.1:{port(s) + 1}"),
        421,
        "loopback name and its port",
    ),
    (
        "Host without a port",
        lambda s: request("GET", "/status", s, host="127.0.0.1"),
        421,
        "is not this API",
    ),
    (
        "Host a bare IPv6 address",
        lambda s: request("GET", "/status", s, host=f"::1:{port(s)}"),
        421,
        "is not this API",
    ),
    ("no Host", lambda s: request("GET", "/status", s, host=""), 400, "a Host header is needed"),
    (
        "POST from another Origin",
        lambda s: request("POST", "/agents/a1/logout", s, headers=["Origin: http://evil.example"]),
        403,
        "'http://evil.example' may not",
    ),
    (
        "POST from Origin null",
        lambda s: request("POST", "/agents/a1/logout", s, headers=["Origin: null"]),
        403,
        "may not change agents",
    ),
    (
        "POST from https of the same name",
        lambda s: request(
            "POST", "/agents/a1/logout", s, headers=[f"Origin: https://127.0.0.1:{port(s)}"]
        ),
        403,
        "may not change agents",
    ),
    (
        "form POST (text/plain)",
        lambda s: request(
            "POST",
            "/agents/a1/break",
            s,
            body=b'{"minutes": 5}',
            headers=["Content-Type: text/plain"],
            content_type=False,
        ),
        415,
        "not 'text/plain'",
    ),
    (
        "form POST (urlencoded)",
        lambda s: request(
            "POST",
            "/agents/a1/break",
            s,
            body=b"minutes=5",
            headers=["Content-Type: application/x-www-form-urlencoded"],
            content_type=False,
        ),
        415,
        "application/json",
    ),
    (
        "body without Content-Type",
        lambda s: request("POST", "/agents/a1/break", s, body={"minutes": 5}, content_type=False),
        415,
        "not 'none'",
    ),
    *[
        (
            f"minutes {text}" if len(text) < 20 else f"minutes of {len(text)} digits",
            lambda s, text=text: request(
                "POST", "/agents/a1/break", s, body=f'{{"minutes": {text}}}'.encode()
            ),
            400,
            words,
        )
        for text, words in [
            ("NaN", "NaN is not a JSON number"),
            ("Infinity", "Infinity is not a JSON number"),
            ("-Infinity", "-Infinity is not a JSON number"),
            ("1e300", "at most 1440 (24 hours), not 1e+300"),
            ("1e400", "not inf"),
            ("1441", "not 1441"),
            ("0", "above 0"),
            ("-3", "not -3"),
            ("true", "not true"),
            ('"15"', "not a string"),
            ("[15]", "not an array"),
            ("9" * 5000, "not usable JSON"),
        ]
    ],
    (
        "a field not known",
        lambda s: request("POST", "/agents/a1/break", s, body={"minute": 15}),
        400,
        "unknown field 'minute': break takes only minutes",
    ),
    (
        "minutes for a login",
        lambda s: request("POST", "/agents/a2/login", s, body={"minutes": 15}),
        400,
        "login takes no fields",
    ),
    (
        "Content-Length over 64 KiB, body never sent",
        lambda s: request(
            "POST",
            "/agents/a1/break",
            s,
            headers=[f"Content-Length: {MAX_BODY + 1}", "Content-Type: application/json"],
        ),
        413,
        f"at most {MAX_BODY} are read",
    ),
    (
        "Content-Length 10 GB",
        lambda s: request("POST", "/agents/a1/break", s, headers=["Content-Length: 10000000000"]),
        413,
        "at most",
    ),
    (
        "Content-Length not a number",
        lambda s: request("POST", "/agents/a1/break", s, headers=["Content-Length: abc"]),
        400,
        "Content-Length is not a number of bytes",
    ),
    (
        "Content-Length 1e3",
        lambda s: request("POST", "/agents/a1/break", s, headers=["Content-Length: 1e3"]),
        400,
        "Content-Length is not a number of bytes",
    ),
    (
        "Content-Length negative",
        lambda s: request("POST", "/agents/a1/break", s, headers=["Content-Length: -1"]),
        400,
        "Content-Length: -1",
    ),
    (
        "chunked body",
        lambda s: request("POST", "/agents/a1/break", s, headers=["Transfer-Encoding: chunked"]),
        411,
        "not chunked",
    ),
    (
        "body not UTF-8",
        lambda s: request("POST", "/agents/a1/break", s, body=b'{"\xff": 1}'),
        400,
        "not UTF-8 (byte 3)",
    ),
    (
        "body not JSON",
        lambda s: request("POST", "/agents/a1/break", s, body=b"{minutes: 5}"),
        400,
        "not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
    ),
    (
        "body a JSON array",
        lambda s: request("POST", "/agents/a1/break", s, body=[15]),
        400,
        'like {"minutes": 15}, not an array',
    ),
    (
        "body a JSON string",
        lambda s: request("POST", "/agents/a1/break", s, body="15"),
        400,
        "not a string",
    ),
    (
        "body nested 30,000 deep",
        lambda s: request("POST", "/agents/a1/break", s, body=b"[" * 30000),
        400,
        "nested too deeply",
    ),
    (
        "body shorter than its Content-Length",
        lambda s: (
            request(
                "POST",
                "/agents/a1/break",
                s,
                headers=["Content-Length: 100", "Content-Type: application/json"],
            )
            + b'{"minutes"'
        ),
        400,
        "the body ended after 10 of its 100 bytes",
    ),
    (
        "a header line over 64 KiB",
        lambda s: request("GET", "/status", s, headers=["X-Long: " + "a" * 70000]),
        400,
        "malformed request: Invalid headers status: 'Line too long'",
    ),
    (
        "over 100 headers",
        lambda s: request("GET", "/status", s, headers=[f"X-{i}: {i}" for i in range(120)]),
        400,
        "malformed request: got more than 100",
    ),
    (
        "a request line of garbage",
        lambda s: b"\x00\xff\xfe garbage\r\n\r\n",
        400,
        "malformed request",
    ),
    ("HTTP/3.0", lambda s: b"GET /status HTTP/3.0\r\n\r\n", 400, "Invalid http version"),
    ("GET of an action", lambda s: request("GET", "/agents/a1/login", s), 405, "use POST"),
    ("PUT of the status", lambda s: request("PUT", "/status", s), 405, "use GET for /status"),
    ("DELETE of an agent", lambda s: request("DELETE", "/agents/a1", s), 405, "use GET"),
    ("a path not known", lambda s: request("GET", "/../../etc/passwd", s), 404, "no such resource"),
    (
        "an agent not known",
        lambda s: request("POST", "/agents/%00zz/login", s),
        404,
        "no agent '\x00zz'",
    ),
]


@pytest.mark.parametrize(
    ("probe", "build_request", "code", "words"), PROBES, ids=[p[0] for p in PROBES]
)
def test_a_hostile_request_gets_a_json_error_saying_what_is_wrong_and_changes_nothing(
    server, center, probe, build_request, code, words
):
    states = {a.id: a.state for a in center.pool.agents.values()}
    answer = send(server, build_request(server), shut="shorter" in probe)
    assert answer[0] == code, answer
    assert words in answer[1]["error"]
    assert {a.id: a.state for a in center.pool.agents.values()} == states


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "127.0.0.2"])
def test_every_loopback_name_with_the_servers_port_is_accepted_as_host(server, host):
    code, status = send(server, request("GET", "/status", server, host=f"{host}:{port(server)}"))
    assert code == 200 and "help" in status["queues"]


def test_a_post_from_a_page_of_the_api_itself_or_without_an_origin_changes_the_agent(
    server, center
):
    origin = f"Origin: http://localhost:{port(server)}"
    assert send(server, request("POST", "/agents/a2/login", server, headers=[origin]))[0] == 200
    assert center.pool.agents["a2"].state == "available"
    assert send(server, request("POST", "/agents/a2/logout", server))[0] == 200
    assert center.pool.agents["a2"].state == "logged_out"


@pytest.mark.parametrize("minutes", ["1440", "0.5", "15", "null"])
def test_a_break_of_up_to_a_day_is_taken(server, center, minutes):
    body = f'{{"minutes": {minutes}}}'.encode()
    code, agent = send(server, request("POST", "/agents/a1/break", server, body=body))
    assert (code, agent["state"]) == (200, "on_break")
    assert (agent["until"] is None) == (minutes == "null")


def test_a_client_that_waits_for_100_continue_before_its_body_is_served(server, center):
    """curl asks first for bodies over 1 KiB; the server reads the body itself, so it answers."""
    body = b'{"minutes": 15}' + b" " * 2000
    head, _, body = request("POST", "/agents/a1/break", server, body=body).partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port(server)), timeout=CLIENT_BOUND) as s:
        s.sendall(head + b"\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
    assert center.pool.agents["a1"].state == "on_break"


def test_a_body_of_64_kib_is_still_read(server):
    body = b'{"minutes": 15}' + b" " * (MAX_BODY - 15)
    code, agent = send(server, request("POST", "/agents/a1/break", server, body=body))
    assert (code, agent["state"]) == (200, "on_break")


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_request_trickled_in_slower_than_the_read_timeout_is_cut_off_with_408(
    server, center, part
):
    """One byte every 50 ms never waits 0.2 s for a read: only a whole-request deadline ends it."""
    start = b"GET /status HTTP/1.1\r\n"
    if part == "body":
        start = request("POST", "/agents/a1/logout", server, headers=["Content-Length: 1000"])
    with socket.create_connection(("127.0.0.1", port(server)), timeout=CLIENT_BOUND) as s:
        s.sendall(start)

        def trickle():
            for _ in range(int(CLIENT_BOUND / 0.05)):
                try:
                    s.send(b"X")
                except OSError:
                    return
                gevent.sleep(0.05)

        trickler = gevent.spawn(trickle)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        trickler.kill()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer
    assert b"no complete request within 0.2 s" in answer
    assert center.pool.agents["a1"].state == "available"


def test_a_connection_that_sends_nothing_is_closed_after_the_read_timeout(server):
    with socket.create_connection(("127.0.0.1", port(server)), timeout=CLIENT_BOUND) as s:
        assert s.recv(65536) == b""


def test_a_client_that_sends_requests_but_never_reads_the_answers_is_disconnected(server):
    """Its answers fill the socket buffers; the server's write gives up after the read timeout."""
    pipelined = request("GET", "/status", server).replace(b"Connection: close", b"X: y")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(CLIENT_BOUND)
        s.connect(("127.0.0.1", port(server)))
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            while True:
                s.sendall(pipelined * 100)


def test_fifty_connections_stuck_halfway_through_their_headers_do_not_delay_a_status(center):
    server = serve_api(center, ("127.0.0.1", 0), read_timeout=60)
    stuck = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port(server)), timeout=CLIENT_BOUND)
            s.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stuck.append(s)
        code, status = send(server, request("GET", "/status", server))
        assert code == 200 and "help" in status["queues"]
    finally:
        for s in stuck:
            s.close()
        server.stop()


@pytest.fixture
def guarded(center, caplog, capfd):
    caplog.set_level(logging.INFO)
    server = serve_api(center, ("127.0.0.1", 0), token="s3cret-token")
    yield server
    server.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Bearer s3cret-toke", "Basic s3cret-token", "Bearer \xe9\xff", "Bearer"],
)
def test_with_a_token_a_request_without_it_gets_401_and_changes_nothing(
    guarded, center, authorization
):
    headers = [] if authorization is None else [f"Authorization: {authorization}"]
    code, body = send(guarded, request("POST", "/agents/a1/logout", guarded, headers=headers))
    assert code == 401 and "Authorization: Bearer TOKEN" in body["error"]
    assert center.pool.agents["a1"].state == "available"


def test_with_a_token_a_request_bearing_it_is_served(guarded, center):
    bearer = ["Authorization: bearer s3cret-token"]
    assert send(guarded, request("POST", "/agents/a1/logout", guarded, headers=bearer))[0] == 200
    assert center.pool.agents["a1"].state == "logged_out"


def test_the_host_is_checked_before_the_token_so_a_rebinding_page_learns_nothing(guarded):
    answer = send(guarded, request("GET", "/status", guarded, host="evil.example:80"))
    assert answer[0] == 421


def test_a_token_file_must_be_private_and_hold_one_token(tmp_path):
    path = tmp_path / "token"
    path.write_text("s3cret-token\n")
    path.chmod(0o644)
    with pytest.raises(TokenFileError, match=r"open to its group or others \(mode -rw-r--r--\)"):
        read_token_file(path)
    path.chmod(0o600)
    assert read_token_file(path) == "s3cret-token"
    path.write_text("\n")
    with pytest.raises(TokenFileError, match="must hold one token on one line"):
        read_token_file(path)
    path.write_text("two tokens\n")
    with pytest.raises(TokenFileError, match="must hold one token on one line"):
        read_token_file(path)
    with pytest.raises(TokenFileError, match="No such file"):
        read_token_file(tmp_path / "missing")


FUZZ = settings(
    max_examples=int(os.environ.get("IVR_FUZZ_EXAMPLES", "150")),
    derandomize=True,
    deadline=None,
    # One server serves every example: the fixtures are meant to be shared.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEEDS = [
    b"GET /status HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nConnection: close\r\n\r\n",
    b"POST /agents/a1/break HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nContent-Type: application/json"
    b'\r\nContent-Length: 15\r\nOrigin: http://127.0.0.1:PORT\r\n\r\n{"minutes": 15}',
    b"POST /agents/a2/login HTTP/1.1\r\nHost: localhost:PORT\r\nContent-Length: 0\r\n\r\n",
]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A good request with a few bytes flipped, inserted, dropped, or its tail cut off."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        where = draw(st.integers(0, len(data)))
        change = draw(st.sampled_from(["flip", "insert", "drop", "cut", "number"]))
        if change == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif change == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=30))
        elif change == "drop":
            del data[where : where + draw(st.integers(1, 30))]
        elif change == "cut":
            del data[where:]
        else:
            number = draw(st.sampled_from([b"-1", b"99999999999", b"1e3", b"NaN", b"1e400"]))
            data[where:where] = number
    return bytes(data)


@FUZZ
@given(data=damaged() | st.binary(max_size=300))
def test_damaged_or_random_requests_get_an_answer_under_500_or_a_close_never_a_hang(server, data):
    data = data.replace(b"PORT", str(port(server)).encode())
    with socket.create_connection(("127.0.0.1", port(server)), timeout=CLIENT_BOUND) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # so a request cut short ends now, not at the read timeout
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert b"Internal Server Error" not in answer
    assert not answer.startswith(b"HTTP/1.1 5"), answer
