"""Caller-supplied values stay values on every path, and secrets stay out of logs and journals.

A caller controls their caller ID and caller-ID name completely (any text a SIP client sends) and
their keys partly; back ends control their answers. Each test pushes injection strings through
one path (templates, SQL, URL, query string, JSON body, headers) and proves they are inert.
"""

import json
import logging
import sqlite3

import pytest
from flowkit import build, call, press, said
from test_http_sources import BackEnd, Reply

INJECTIONS = [
    "{{ 7 * 7 }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "' OR '1'='1",
    "1'; DROP TABLE accounts; --",
    "../../admin?role=root&debug=1#frag",
    '", "admin": true, "x": "',
    "%0d%0aX-Injected: 1",
]


@pytest.fixture
def backend():
    server = BackEnd()
    yield server
    server.close()


def test_caller_values_are_spoken_literally_never_run_as_templates(tmp_path):
    flow = """
    flow: t
    start: hello
    nodes:
      hello: {type: hangup, prompt: "Hello {{ caller_name }} from {{ caller }}."}
    """
    project = build(tmp_path, flow)
    for text in INJECTIONS:
        result = call(project, caller=text, caller_name=text)
        assert said(result) == [f"Hello {text} from {text}."]


def test_back_end_answers_are_spoken_literally_never_run_as_templates(tmp_path, backend):
    backend.answer("/me", Reply(json={"name": "{{ ''.__class__.__mro__ }}"}))
    flow = f"""
    flow: t
    start: find
    data:
      me: {{http: "{backend.url}/me"}}
    nodes:
      find: {{type: lookup, source: me, save_as: me, found: hi, not_found: hi, on_error: hi}}
      hi: {{type: hangup, prompt: "Hi {{{{ me.name }}}}."}}
    """
    result = call(build(tmp_path, flow))
    assert said(result) == ["Hi {{ ''.__class__.__mro__ }}."]


def test_caller_values_reach_sql_only_as_bound_values(tmp_path):
    conn = sqlite3.connect(tmp_path / "bank.sqlite")
    conn.executescript(
        "CREATE TABLE accounts (phone TEXT, name TEXT);"
        "INSERT INTO accounts VALUES ('+15550001111', 'Ann');"
    )
    conn.commit()
    conn.close()
    flow = """
    flow: t
    start: find
    data:
      by_phone:
        sqlite: {file: bank.sqlite, query: "SELECT name FROM accounts WHERE phone = :caller"}
        retries: 0
    nodes:
      find: {type: lookup, source: by_phone, save_as: who, found: known, not_found: unknown,
             on_error: broken}
      known: {type: hangup, prompt: "Hello {{ who.name }}."}
      unknown: {type: hangup, prompt: "Hello stranger."}
      broken: {type: hangup, prompt: "Broken."}
    """
    project = build(tmp_path, flow)
    assert said(call(project, caller="+15550001111")) == ["Hello Ann."]
    for text in INJECTIONS:
        assert said(call(project, caller=text)) == ["Hello stranger."], text
    conn = sqlite3.connect(tmp_path / "bank.sqlite")
    assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (1,)


def test_caller_values_stay_one_percent_encoded_part_of_the_url(tmp_path, backend):
    flow = f"""
    flow: t
    start: find
    data:
      api:
        http:
          url: "{backend.url}/people/{{{{ caller }}}}/calls"
          query: {{name: "{{{{ caller_name }}}}"}}
    nodes:
      find: {{type: lookup, source: api, save_as: x, found: bye, not_found: bye, on_error: bye}}
      bye: {{type: hangup}}
    """
    project = build(tmp_path, flow)
    for text in INJECTIONS:
        backend.requests.clear()
        call(project, caller=text, caller_name=text)
        (request,) = backend.requests
        path, _, query = request.target.partition("?")
        segments = path.split("/")
        assert segments[:2] == ["", "people"] and segments[3:] == ["calls"], request.target
        assert "#" not in request.target and " " not in request.target
        assert query.count("=") == 1 and "&" not in query, request.target
        assert request.path == f"/people/{text}/calls"


def test_caller_values_stay_values_in_a_json_body(tmp_path, backend):
    backend.answer("/notes", Reply(json={"ok": True}))
    flow = f"""
    flow: t
    start: send
    data:
      notes:
        http:
          url: "{backend.url}/notes"
          method: POST
          json: {{from: "{{{{ caller }}}}", name: "{{{{ caller_name }}}}", kind: callback}}
    nodes:
      send: {{type: http, source: notes, next: bye, on_error: bye}}
      bye: {{type: hangup}}
    """
    project = build(tmp_path, flow)
    for text in INJECTIONS:
        backend.requests.clear()
        call(project, caller=text, caller_name=text)
        body = json.loads(backend.requests[0].body)
        assert body == {"from": text, "name": text, "kind": "callback"}


def test_a_line_break_in_a_caller_value_never_reaches_a_header(tmp_path, backend):
    backend.answer("/log", Reply(json={"ok": True}))
    flow = f"""
    flow: t
    start: send
    data:
      log:
        http:
          url: "{backend.url}/log"
          headers: {{X-Caller-Name: "{{{{ caller_name }}}}"}}
    nodes:
      send: {{type: http, source: log, next: sent, on_error: refused}}
      sent: {{type: hangup, prompt: "Sent."}}
      refused: {{type: hangup, prompt: "Refused."}}
    """
    project = build(tmp_path, flow)
    result = call(project, caller_name="Ann\r\nX-Injected: 1")
    assert said(result) == ["Refused."]
    assert "line break" in result.record.visits[0].detail
    assert backend.requests == []
    assert said(call(project, caller_name="Ann")) == ["Sent."]
    assert backend.requests[0].headers["X-Caller-Name"] == "Ann"
    assert all("X-Injected" not in r.headers for r in backend.requests)


def test_a_url_cannot_send_requests_to_a_host_chosen_by_a_value(tmp_path):
    (tmp_path / "flow.yaml").write_text(
        "flow: t\nstart: bye\ndata:\n  api: {http: 'https://{{ caller }}.example/x'}\n"
        "nodes:\n  bye: {type: hangup}\n"
    )
    from ivr.project import load_project

    project = load_project(tmp_path)
    assert [d.message for d in project.diag.errors] == [
        "expected a URL starting with http:// or https:// and a host, got "
        "'https://{{ caller }}.example/x'"
    ]


SECRET = "s3cr3t-token-value-never-logged"


def secret_flow(url: str) -> str:
    return f"""
    flow: t
    start: ask
    data:
      sign_in:
        http:
          url: "{url}/verify"
          method: POST
          json: {{account: "{{{{ key }}}}", pin: "{{{{ pin }}}}"}}
          auth: {{bearer_env: ACME_TOKEN}}
          not_found: [401]
    nodes:
      ask:
        type: authenticate
        source: sign_in
        account_prompt: "Account?"
        pin_prompt: "PIN?"
        attempts: 1
        save_as: customer
        next: welcome
        on_fail: bye
        locked: bye
        on_error: broken
      welcome: {{type: hangup, prompt: "Welcome."}}
      broken: {{type: hangup, prompt: "Broken."}}
      bye: {{type: hangup, prompt: "Goodbye."}}
    """


@pytest.mark.parametrize(
    ("reply", "heard"),
    [
        (Reply(json={"name": "Ann"}), "Welcome."),
        (Reply(401, {"error": "wrong pin"}), "Goodbye."),
        (Reply(500, {"error": f"echoing Bearer {SECRET} and pin 8642"}), "Broken."),
        (Reply(body=b"<html>8642</html>"), "Broken."),
    ],
)
def test_credentials_and_pins_never_reach_logs_journals_or_messages(
    tmp_path, backend, monkeypatch, caplog, reply, heard
):
    monkeypatch.setenv("ACME_TOKEN", SECRET)
    caplog.set_level(logging.DEBUG)
    backend.answer("/verify", reply)
    result = call(build(tmp_path, secret_flow(backend.url)), press("1234#"), press("8642#"))
    assert said(result)[-1] == heard
    assert backend.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert json.loads(backend.requests[0].body) == {"account": "1234", "pin": "8642"}
    # Everything the IVR side wrote down; the scripted caller's own "presses 8642#" aside.
    seen = "\n".join(
        [r.getMessage() for r in caplog.records]
        + [repr(result.record), " ".join(result.failures)]
        + [e.text for e in result.transcript if e.who != "caller"]
    )
    assert SECRET not in seen
    assert "8642" not in seen
    assert ("ask", "pin", "****") in result.record.inputs
