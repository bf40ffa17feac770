"""A slow back end never leaves the caller in silence: the filler prompt, timeouts, hang-ups.

The back end is the test suite's HTTP server on 127.0.0.1; its delays are real time, as a real
back end's are, and the call waits for it on real time too.
"""

import pytest
from flowkit import build, call, hangup, hear, press, said
from test_http_sources import BackEnd, Reply

FLOW = """
flow: t
language: {language}
languages: [{language}]
start: ask
data:
  orders:
    http: "{url}/orders/{{{{ key }}}}"
    timeout: {timeout}
    filler_after: 300ms{filler}
nodes:
  ask:
    type: input
    prompt: "Order?"
    digits: {{min: 3, max: 3}}
    save_as: order
    next: find
    on_fail: bye
  find:
    type: lookup
    source: orders
    key: "{{{{ order }}}}"
    save_as: o
    found: tell
    not_found: bye
    on_error: sorry
  tell: {{type: hangup, prompt: "Status {{{{ o.status }}}}."}}
  sorry: {{type: hangup, prompt: "Our systems are slow."}}
  bye: {{type: hangup}}
"""


@pytest.fixture
def backend():
    server = BackEnd()
    yield server
    server.close()


def bank(tmp_path, backend, *, timeout="2s", filler="", language="en"):
    return build(
        tmp_path,
        FLOW.format(url=backend.url, timeout=timeout, filler=filler, language=language),
    )


def test_a_fast_answer_plays_no_filler(tmp_path, backend):
    backend.answer("/orders/123", Reply(json={"status": "shipped"}))
    result = call(bank(tmp_path, backend), press("123"))
    assert said(result) == ["Order?", "Status shipped."]


def test_a_slow_answer_plays_the_filler_until_it_comes(tmp_path, backend):
    backend.answer("/orders/123", Reply(json={"status": "shipped"}, delay=0.8))
    result = call(bank(tmp_path, backend), press("123"), hear("One moment please"), hear("Status"))
    assert result.passed, result.report()
    spoken = said(result)
    assert spoken[0] == "Order?" and spoken[-1] == "Status shipped."
    fillers = spoken[1:-1]
    assert fillers and set(fillers) == {"One moment please."}
    assert result.record.outcome == "completed"
    assert result.record.lookups == [("find", "orders", "found")]


def test_the_filler_is_the_flows_own_prompt_when_it_gives_one(tmp_path, backend):
    backend.answer("/orders/123", Reply(json={"status": "late"}, delay=0.5))
    project = bank(tmp_path, backend, filler='\n    filler: "Still looking for order {{ order }}."')
    result = call(project, press("123"))
    assert said(result)[1] == "Still looking for order 123."


def test_the_default_filler_is_in_the_callers_language(tmp_path, backend):
    backend.answer("/orders/123", Reply(json={"status": "ok"}, delay=0.5))
    result = call(bank(tmp_path, backend, language="ru"), press("123"))
    assert said(result)[1] == "Одну минуту, пожалуйста."


def test_a_back_end_past_its_timeout_takes_the_error_edge_after_the_filler(tmp_path, backend):
    backend.answer("/orders/123", Reply(json={"status": "late"}, delay=5))
    result = call(bank(tmp_path, backend, timeout="700ms"), press("123"))
    assert backend.answered == []  # the call gave up before the answer came
    assert said(result)[1] == "One moment please."
    assert said(result)[-1] == "Our systems are slow."
    assert result.record.path == ["ask", "find", "sorry"]
    assert result.record.lookups == [("find", "orders", "timeout")]
    assert "no answer within 0.7s" in result.record.visits[1].detail


def test_a_failing_back_end_takes_the_error_edge_at_once(tmp_path, backend):
    backend.answer("/orders/123", Reply(500, {"error": "database down"}))
    result = call(bank(tmp_path, backend), press("123"))
    assert said(result) == ["Order?", "Our systems are slow."]
    assert result.record.lookups == [("find", "orders", "error")]
    assert "answered 500" in result.record.visits[1].detail


def test_a_caller_who_hangs_up_during_the_filler_ends_the_call_and_the_wait(tmp_path, backend):
    backend.answer("/orders/123", Reply(json={"status": "late"}, delay=5))
    result = call(bank(tmp_path, backend, timeout="10s"), press("123"), hear("moment"), hangup())
    assert backend.answered == []  # the call ended without waiting for the answer or the timeout
    assert result.record.outcome == "ivr_hangup"
    assert result.record.path == ["ask", "find"]
