"""The interpreter as callers and analysts notice it: barge-in, subflows, how calls end, errors.

Node-specific behaviour is in tests/test_nodes_*.py; these tests are about what every call gets
whatever its nodes: a closed record with one outcome, an apology instead of a crash, no endless
loops, and the simulated clock.
"""

import datetime as dt

import pytest
from flowkit import build, call, hangup, hear, press, said, texts, wait

from ivr.nodes.base import NodeCall
from ivr.prompts.speech import APOLOGY
from ivr.runtime.call import MAX_NODE_VISITS, Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import MemoryChannel
from ivr.runtime.record import OUTCOMES
from ivr.testing.runner import run_case
from ivr.testing.scenario import Case, Scenario

AGENTS = "agents:\n  a1: {name: Anna, endpoint: user/a1}\n"
QUEUES = "queues:\n  help: {agents: [a1], ring_timeout: 15s}\n"
SCHEDULES = 'schedules:\n  always: {timezone: UTC, weekly: {mon-sun: "00:00-24:00"}}\n'


# ------------------------------------------------------------------------------------ barge-in

BARGE = """
flow: t
start: welcome
nodes:
  welcome: {type: play, prompt: ["Welcome to the test line.", "Calls may be recorded."], next: m}
  m:
    type: menu
    prompt: "Press 1 for sales, 2 for support."
    choices: {1: sales, 2: support}
    attempts: 1
    on_fail: bye
  sales: {type: hangup, prompt: "Sales."}
  support: {type: hangup, prompt: "Support."}
  bye: {type: hangup, prompt: "Goodbye."}
"""


def test_a_key_over_a_prompt_before_a_menu_stops_it_and_the_menu_prompt_is_skipped(tmp_path):
    result = call(build(tmp_path, BARGE), press("2"))
    assert said(result) == ["Welcome to the test line.", "Support."]
    assert "prompt stopped by a key" in texts(result)
    assert result.record.path == ["welcome", "m", "support"]
    assert result.record.inputs == [("m", "choice", "2")]


def test_a_key_over_a_prompt_before_an_input_becomes_the_first_digits(tmp_path):
    flow = """
    flow: t
    start: welcome
    nodes:
      welcome: {type: play, prompt: ["Welcome.", "Calls may be recorded."], next: ask}
      ask:
        type: input
        prompt: "Enter your order number."
        digits: {min: 4, max: 4}
        save_as: order
        next: bye
        on_fail: bye
      bye: {type: hangup, prompt: "Order {{ order }}."}
    """
    result = call(build(tmp_path, flow), press("4321"), expect={"vars": {"order": "4321"}})
    assert result.failures == []
    assert said(result) == ["Welcome.", "Order 4321."]


def test_a_prompt_before_a_node_that_does_not_listen_plays_to_the_end(tmp_path):
    flow = BARGE.replace("next: m}", "next: note}").replace(
        "nodes:\n", "nodes:\n  note: {type: set, vars: {seen: true}, next: m}\n"
    )
    result = call(build(tmp_path, flow), press("2"))
    assert said(result) == [
        "Welcome to the test line.",
        "Calls may be recorded.",
        "Press 1 for sales, 2 for support.",
        "Support.",
    ]
    assert "prompt stopped by a key" not in texts(result)
    assert result.record.path == ["welcome", "note", "m", "support"]


def test_barge_in_false_plays_the_whole_prompt_even_before_a_menu(tmp_path):
    flow = BARGE.replace("next: m}", "next: m, barge_in: false}")
    result = call(build(tmp_path, flow), press("1"))
    assert said(result) == [
        "Welcome to the test line.",
        "Calls may be recorded.",
        "Press 1 for sales, 2 for support.",
        "Sales.",
    ]
    assert result.record.path == ["welcome", "m", "sales"]


# ----------------------------------------------------------------------- subflow and return

MAIN_WITH_SUBFLOW = """
flow: t
start: ident
nodes:
  ident: {type: subflow, flow: identify, next: after}
  after: {type: play, prompt: "Welcome back, customer {{ who }}.", next: bye}
  bye: {type: hangup, prompt: "Goodbye."}
"""
IDENTIFY = """
flow: identify
start: ask
nodes:
  ask:
    type: input
    prompt: "Your customer number?"
    save_as: who
    next: checked
    on_fail: done
  checked: {type: set, vars: {verified: true}, goal: identified, next: done}
  done: {type: return}
"""


def test_subflow_comes_back_to_next_with_its_variables_and_goals(tmp_path):
    project = build(tmp_path, MAIN_WITH_SUBFLOW, **{"identify.yaml": IDENTIFY})
    expect = {"vars": {"who": "77", "verified": True}}
    result = call(project, press("77#"), expect=expect)
    assert result.failures == []
    assert result.record.path == ["ident", "ask", "checked", "done", "after", "bye"]
    assert said(result) == ["Your customer number?", "Welcome back, customer 77.", "Goodbye."]
    assert result.record.goals == ["identified"]
    assert result.record.outcome == "self_served"
    flows = [v.flow for v in result.record.visits]
    assert flows == ["t", "identify", "identify", "identify", "t", "t"]


def test_return_in_a_flow_run_on_its_own_ends_the_call(tmp_path):
    project = build(tmp_path, MAIN_WITH_SUBFLOW, **{"identify.yaml": IDENTIFY})
    scenario = Scenario(tmp_path / "t.test.yaml", "identify", [])
    result = run_case(project, scenario, Case(name="alone", steps=[press("5#")]))
    assert result.record.path == ["ask", "checked", "done"]
    assert texts(result)[-1] == "hangs up"
    assert result.record.outcome == "self_served"


# --------------------------------------------------------------- transfer, record and hangup

ENDINGS = """
flow: t
start: m
nodes:
  m:
    type: menu
    prompt: "Menu."
    choices: {1: transfer, 2: message, 3: message_then_bye, 4: info}
    on_fail: bye
  transfer: {type: transfer, to: "{{ 2000 + 5 }}", prompt: "Transferring you."}
  message: {type: record, prompt: "Leave a message.", max: 30s}
  message_then_bye: {type: record, prompt: "Leave a message.", max: 30s, beep: false, next: bye}
  info: {type: play, prompt: "We are open all day.", goal: hours_told, next: bye}
  bye: {type: hangup, prompt: "Goodbye."}
"""


def test_transfer_renders_its_destination_and_ends_as_transferred(tmp_path):
    result = call(build(tmp_path, ENDINGS), press("1"))
    assert said(result)[-1] == "Transferring you."
    assert texts(result)[-1] == "transfers the call to 2005"
    assert result.record.transferred_to == "2005"
    assert result.record.outcome == "transferred"


def test_record_beeps_takes_the_message_and_the_call_ends_as_voicemail(tmp_path):
    result = call(build(tmp_path, ENDINGS), press("2"), hear("message"), wait(10))
    assert "beeps and records (up to 30s)" in texts(result)
    assert texts(result)[-1] == "hangs up"
    assert result.record.voicemail == "var/recordings/test-call.wav"
    assert result.record.outcome == "voicemail"


def test_record_with_next_goes_on_after_a_message_of_at_most_max(tmp_path):
    result = call(build(tmp_path, ENDINGS), press("3"))
    assert "records (up to 30s)" in texts(result)
    assert result.record.path == ["m", "message_then_bye", "bye"]
    bye = result.record.visits[2]
    assert (bye.at - result.record.started_at).total_seconds() > 30.0
    assert result.record.outcome == "voicemail"


def test_caller_who_hangs_up_after_leaving_a_message_still_counts_as_voicemail(tmp_path):
    steps = [press("3"), hear("Leave a message"), wait(12), hangup()]
    result = call(build(tmp_path, ENDINGS), *steps)
    assert result.record.voicemail is not None
    assert result.record.hung_up_by_caller
    assert result.record.outcome == "voicemail"


def test_hangup_without_a_goal_is_completed(tmp_path):
    result = call(build(tmp_path, ENDINGS), press("9"), press("9"), press("9"))
    assert result.record.path == ["m", "bye"]
    assert result.record.outcome == "completed"
    assert texts(result)[-1] == "hangs up"


def test_hangup_after_a_goal_is_self_served(tmp_path):
    result = call(build(tmp_path, ENDINGS), press("4"))
    assert result.record.path == ["m", "info", "bye"]
    assert result.record.goals == ["hours_told"]
    assert result.record.outcome == "self_served"


def test_caller_who_hangs_up_before_a_transfer_is_not_counted_as_transferred(tmp_path):
    flow = """
    flow: t
    start: hello
    nodes:
      hello: {type: play, prompt: "Hello.", next: away}
      away: {type: transfer, to: "2000"}
    """
    result = call(build(tmp_path, flow), hear("Hello"), hangup())
    assert "transfers the call to 2000" not in texts(result)
    assert result.record.outcome == "ivr_hangup"
    assert result.record.transferred_to is None


# ------------------------------------------------------------ a hang-up at every node type

_NODE_UNDER_TEST = {
    "play": 'x: {type: play, prompt: "Information.", next: bye}',
    "menu": 'x: {type: menu, prompt: "Menu.", choices: {1: bye, 2: bye}, on_fail: bye}',
    "input": 'x: {type: input, prompt: "Digits?", save_as: d, next: bye, on_fail: bye}',
    "set": "x: {type: set, vars: {v: 1}, next: bye}",
    "branch": 'x: {type: branch, cases: [{when: "true", goto: bye}], default: bye}',
    "lookup": "x: {type: lookup, source: rows, key: '1', save_as: r, found: bye,"
    " not_found: bye, on_error: bye}",
    "hours": "x: {type: hours, schedule: always, open: bye, closed: bye}",
    "language": "x: {type: language, language: en, next: bye}",
    "subflow": "x: {type: subflow, flow: sub, next: bye}",
    "return": "x: {type: subflow, flow: ret, next: bye}",
    "transfer": 'x: {type: transfer, to: "2000", prompt: "Transferring you."}',
    "record": 'x: {type: record, prompt: "Leave a message."}',
    "hangup": 'x: {type: hangup, prompt: "Farewell from x."}',
    "queue": "x: {type: queue, queue: help}",
}
_SUBFLOWS = {
    "sub.yaml": """
        flow: sub
        start: inner
        nodes:
          inner: {type: play, prompt: "Inside the subflow.", next: done}
          done: {type: return}
        """,
    "ret.yaml": "flow: ret\nstart: x\nnodes:\n  x: {type: return}\n",
}


@pytest.mark.parametrize("node_type", sorted(_NODE_UNDER_TEST))
def test_a_caller_hang_up_at_any_node_type_closes_the_record_with_one_outcome(tmp_path, node_type):
    flow = (
        "flow: t\nstart: hello\ndata: {rows: {csv: rows.csv, key: id}}\nnodes:\n"
        '  hello: {type: play, prompt: "Hello.", next: x}\n'
        f"  {_NODE_UNDER_TEST[node_type]}\n"
    )
    if "bye" in _NODE_UNDER_TEST[node_type]:
        flow += '  bye: {type: hangup, prompt: "Goodbye."}\n'

    files = {"rows.csv": "id,v\n1,a\n", "agents.yaml": AGENTS, "queues.yaml": QUEUES}
    project = build(tmp_path, flow, **files, **{"schedules.yaml": SCHEDULES}, **_SUBFLOWS)
    result = call(project, hear("Hello"), hangup(), agents={"a1": "busy"})
    record = result.record
    assert record.ended_at is not None and record.ended_at >= record.started_at
    assert record.outcome in OUTCOMES
    assert record.outcome == ("abandoned" if node_type == "queue" else "ivr_hangup")
    assert record.hung_up_by_caller
    assert node_type in [v.type for v in record.visits]
    assert record.visits[-1].result is None  # the node the caller left from never finished
    caller_left = texts(result).index("hangs up") if "hangs up" in texts(result) else None
    assert caller_left is not None and result.transcript[caller_left].who == "caller"
    assert not any(e.who == "ivr" for e in result.transcript[caller_left + 1 :])


# ------------------------------------------------------------ errors at run time, and loops

_BROKEN = {  # each uses acct.balance while acct is still empty: an error only at run time
    "play": 'x: {type: play, prompt: "Balance {{ acct.balance }}.", next: bye',
    "menu": 'x: {type: menu, prompt: "{{ acct.balance }}", choices: {1: bye, 2: bye}, on_fail: bye',
    "input": 'x: {type: input, prompt: "{{ acct.balance }}", save_as: d, next: bye, on_fail: bye',
    "set": 'x: {type: set, vars: {v: "{{ acct.balance }}"}, next: bye',
    "branch": 'x: {type: branch, cases: [{when: "acct.balance > 5", goto: bye}], default: bye',
    "transfer": 'x: {type: transfer, to: "{{ acct.balance }}"',
    "record": 'x: {type: record, prompt: "{{ acct.balance }}"',
    "hangup": 'x: {type: hangup, prompt: "{{ acct.balance }}"',
    "queue": 'x: {type: queue, queue: help, priority: "{{ acct.balance }}"',
    "say_money": 'x: {type: play, prompt: {say: money, value: "{{ word }}"}, next: bye',
    "say_number": 'x: {type: play, prompt: {say: number, value: "{{ word }}"}, next: bye',
    "say_date": 'x: {type: play, prompt: {say: date, value: "{{ word }}"}, next: bye',
}


def _broken_flow(tmp_path, kind: str, *, node_edge: bool, flow_edge: bool):
    flow = (
        "flow: t\nstart: x\nvars: {acct: null, word: abc}\n"
        + ("on_error: flow_oops\n" if flow_edge else "")
        + "nodes:\n"
        + f"  {_BROKEN[kind]}{', on_error: oops' if node_edge else ''}}}\n"
        + ('  bye: {type: hangup, prompt: "Goodbye."}\n' if "bye" in _BROKEN[kind] else "")
        + ('  oops: {type: hangup, prompt: "Node error handler."}\n' if node_edge else "")
        + ('  flow_oops: {type: hangup, prompt: "Flow error handler."}\n' if flow_edge else "")
    )
    return build(tmp_path, flow, **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})


@pytest.mark.parametrize("kind", sorted(_BROKEN))
def test_a_run_time_template_error_takes_the_nodes_on_error_edge_first(tmp_path, kind):
    result = call(_broken_flow(tmp_path, kind, node_edge=True, flow_edge=True))
    assert result.record.path == ["x", "oops"]
    assert said(result) == ["Node error handler."]
    assert result.record.visits[0].result == "error"
    assert result.record.visits[0].detail != ""
    assert result.record.outcome == "completed"


@pytest.mark.parametrize("kind", sorted(_BROKEN))
def test_a_run_time_template_error_falls_back_to_the_flows_on_error(tmp_path, kind):
    result = call(_broken_flow(tmp_path, kind, node_edge=False, flow_edge=True))
    assert result.record.path == ["x", "flow_oops"]
    assert said(result) == ["Flow error handler."]


@pytest.mark.parametrize("kind", sorted(_BROKEN))
def test_a_run_time_template_error_with_no_error_edge_ends_with_an_apology(tmp_path, kind):
    result = call(_broken_flow(tmp_path, kind, node_edge=False, flow_edge=False))
    assert result.record.path == ["x"]
    assert said(result) == [APOLOGY["en"]]
    assert texts(result)[-1] == "hangs up (NORMAL_TEMPORARY_FAILURE)"
    assert result.record.outcome == "error"
    assert result.record.error.startswith("t.x: ")
    assert result.record.ended_at is not None


def test_the_apology_is_in_the_calls_current_language(tmp_path):
    flow = """
    flow: t
    language: en
    languages: [en, bg]
    start: lang
    vars: {acct: null}
    nodes:
      lang: {type: language, language: bg, next: x}
      x: {type: play, prompt: "{{ acct.balance }}", next: bye}
      bye: {type: hangup}
    """
    result = call(build(tmp_path, flow))
    assert said(result) == [APOLOGY["bg"]]
    assert result.record.outcome == "error"


@pytest.mark.parametrize(
    "template", ["{{ n / 0 }}", "{{ word + 1 }}", "{{ range(10**9) | list | length }}"]
)
def test_a_python_error_inside_a_template_takes_the_nodes_on_error_edge(tmp_path, template):
    flow = f"""
    flow: t
    start: x
    vars: {{n: 1, word: abc}}
    nodes:
      x: {{type: play, prompt: "{template}", on_error: oops, next: bye}}
      oops: {{type: hangup, prompt: "Node error handler."}}
      bye: {{type: hangup}}
    """
    result = call(build(tmp_path, flow))
    assert result.record.path == ["x", "oops"]
    assert result.record.outcome == "completed"


def test_a_flow_that_loops_without_the_caller_is_stopped_with_outcome_error(tmp_path):
    flow = """
    flow: t
    start: count
    vars: {n: 0}
    nodes:
      count: {type: set, vars: {n: "{{ n + 1 }}"}, next: check}
      check:
        type: branch
        cases:
          - {when: "n < 0", goto: bye}
        default: count
      bye: {type: hangup}
    """
    result = call(build(tmp_path, flow))
    record = result.record
    assert record.outcome == "error"
    assert "looping" in record.error
    assert len(record.path) == MAX_NODE_VISITS
    assert record.path[:4] == ["count", "check", "count", "check"]
    assert said(result) == [APOLOGY["en"]]
    assert (record.ended_at - record.started_at).total_seconds() < 10.0


# ---------------------------------------------------------------------------- simulated time


def test_long_silences_and_a_one_hour_recording_pass_on_the_simulated_clock(tmp_path):
    flow = """
    flow: t
    start: m
    nodes:
      m: {type: menu, prompt: "Menu.", choices: {1: msg, 2: msg}, timeout: 2m, on_fail: msg}
      msg: {type: record, prompt: "Leave a message.", max: 1h}
    """
    result = call(build(tmp_path, flow), wait(6 * 60))
    record = result.record
    silences = [e.at for e in result.transcript if e.text == "no key within 120s"]
    assert len(silences) == 3
    assert all(120.0 < b - a < 122.0 for a, b in zip(silences, silences[1:], strict=False))
    beep = next(e.at for e in result.transcript if e.text == "beeps and records (up to 3600s)")
    assert (record.ended_at - record.started_at).total_seconds() == pytest.approx(beep + 3600)
    assert record.outcome == "voicemail"


# ------------------------------------------------------------------------- what nodes are given


def test_the_call_nodes_run_on_has_everything_the_node_call_protocol_promises(tmp_path):
    project = build(tmp_path, "flow: t\nstart: bye\nnodes:\n  bye: {type: hangup}\n")
    start = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
    channel = MemoryChannel(CallInfo("c1", "+15550001111"), start=start, steps=[])
    assert isinstance(Call(CallServices(project), project.flows["t"], channel), NodeCall)
