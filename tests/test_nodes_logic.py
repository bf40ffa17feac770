"""set, branch, lookup, hours and language: the nodes that decide where a call goes next."""

import datetime as dt

import pytest
from flowkit import build, call, press, said


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


SET_FLOW = """
flow: t
start: s
vars: {base: 5, a: 1, b: 2}
nodes:
  s:
    type: set
    vars:
      n: "{{ base + 1 }}"
      flag: "  {{ base > 3 }}  "
      items: "{{ [10, 20, 30] }}"
      sentence: "n is {{ base + 1 }}"
      glued: "{{ a }}{{ b }}"
      literal: 7
    next: show
  show:
    type: hangup
    prompt: "{{ n + 1 }} {{ flag is sameas true }} {{ items | sum }} {{ sentence }} {{ glued ~ '!' }} {{ literal * 2 }} {{ glued is string }}"
"""  # noqa: E501


def test_set_keeps_the_type_of_a_single_expression_and_renders_other_templates_to_text(tmp_path):
    expect = {"vars": {"n": 6, "sentence": "n is 6", "glued": "12", "literal": 7}}
    result = call(build(tmp_path, SET_FLOW), expect=expect)
    assert result.failures == []
    assert said(result) == ["7 True 60 n is 6 12! 14 True"]
    assert result.record.path == ["s", "show"]


BRANCH_FLOW = """
flow: t
start: b
vars: {n: 0}
nodes:
  b:
    type: branch
    cases:
      - {when: "n > 100", goto: big}
      - {when: "n > 10", goto: medium}
      - {when: "n == 50", goto: never}
    default: small
  big: {type: hangup, prompt: "Big."}
  medium: {type: hangup, prompt: "Medium."}
  never: {type: hangup, prompt: "Never."}
  small: {type: hangup, prompt: "Small."}
"""


@pytest.mark.parametrize(
    ("n", "node"), [(500, "big"), (50, "medium"), (11, "medium"), (10, "small"), (-3, "small")]
)
def test_branch_follows_the_first_condition_that_holds_else_default(tmp_path, n, node):
    result = call(build(tmp_path, BRANCH_FLOW.replace("{n: 0}", f"{{n: {n}}}")))
    assert result.record.path == ["b", node]
    labels = {"big": "n > 100", "medium": "n > 10", "small": "default"}
    assert result.record.visits[0].result == labels[node]


LOOKUP_FLOW = """
flow: t
start: ask
data:
  accounts: {csv: accounts.csv, key: account}
nodes:
  ask:
    type: input
    prompt: "Account number?"
    digits: {min: 4, max: 4}
    save_as: account
    next: find
    on_fail: bye
  find:
    type: lookup
    source: accounts
    key: "{{ account }}"
    save_as: acct
    found: tell
    not_found: unknown
    on_error: sorry
  tell:
    type: hangup
    prompt: ["{{ acct.name }} has", {say: money, value: "{{ acct.balance }}", currency: USD}, "{{ acct.balance + 1 }}"]
  unknown: {type: hangup, prompt: "No account {{ account }}."}
  sorry: {type: hangup, prompt: "Our records are unavailable."}
  bye: {type: hangup}
"""  # noqa: E501
ACCOUNTS = "account,name,balance\n1234,Ann,10.5\n0042,Bob,7\n"


def test_lookup_found_saves_the_record_with_numbers_as_numbers(tmp_path):
    project = build(tmp_path, LOOKUP_FLOW, **{"accounts.csv": ACCOUNTS})
    result = call(project, press("1234"))
    assert result.record.path == ["ask", "find", "tell"]
    assert said(result)[1:] == ["Ann has", "ten dollars and fifty cents", "11.5"]
    assert result.record.lookups == [("find", "accounts", "found")]


def test_lookup_keeps_leading_zeros_of_the_key(tmp_path):
    project = build(tmp_path, LOOKUP_FLOW, **{"accounts.csv": ACCOUNTS})
    result = call(project, press("0042"))
    assert said(result)[1:] == ["Bob has", "seven dollars", "8"]


def test_lookup_of_a_missing_key_goes_to_not_found(tmp_path):
    project = build(tmp_path, LOOKUP_FLOW, **{"accounts.csv": ACCOUNTS})
    result = call(project, press("9999"))
    assert result.record.path == ["ask", "find", "unknown"]
    assert said(result)[-1] == "No account 9999."
    assert result.record.lookups == [("find", "accounts", "not_found")]


def test_lookup_in_a_csv_deleted_after_compiling_takes_on_error(tmp_path):
    project = build(tmp_path, LOOKUP_FLOW, **{"accounts.csv": ACCOUNTS})
    (tmp_path / "accounts.csv").unlink()
    result = call(project, press("1234"))
    assert result.record.path == ["ask", "find", "sorry"]
    assert result.record.lookups == [("find", "accounts", "error")]
    assert result.record.outcome == "completed"
    assert "accounts.csv" in result.record.visits[1].detail


def test_lookup_sees_rows_added_to_the_csv_after_compiling(tmp_path):
    project = build(tmp_path, LOOKUP_FLOW, **{"accounts.csv": ACCOUNTS})
    (tmp_path / "accounts.csv").write_text(ACCOUNTS + "5555,Carla,100\n")
    result = call(project, press("5555"))
    assert said(result)[1:3] == ["Carla has", "one hundred dollars"]


SCHEDULES = """
schedules:
  sofia:
    timezone: Europe/Sofia
    weekly: {mon-fri: "09:00-18:00"}
    holidays: ["2026-12-25"]
  new_york:
    timezone: America/New_York
    weekly: {mon-fri: "09:00-18:00"}
    holidays: ["2026-12-25"]
"""
HOURS_FLOW = """
flow: t
start: sofia
nodes:
  sofia: {type: hours, schedule: sofia, open: sofia_open, closed: sofia_closed, holiday: feast}
  sofia_open: {type: hours, schedule: new_york, open: both, closed: only_sofia}
  sofia_closed: {type: hours, schedule: new_york, open: only_new_york, closed: none}
  both: {type: hangup, prompt: "Both open."}
  only_sofia: {type: hangup, prompt: "Only Sofia."}
  only_new_york: {type: hangup, prompt: "Only New York."}
  none: {type: hangup, prompt: "Both closed."}
  feast: {type: hangup, prompt: "Holiday."}
"""


@pytest.mark.parametrize(
    ("when", "heard"),
    [
        ("2026-11-25T08:30:00", "Only Sofia."),  # Wed 10:30 in Sofia, 03:30 in New York
        ("2026-11-25T15:00:00", "Both open."),  # 17:00 in Sofia, 10:00 in New York
        ("2026-11-25T20:00:00", "Only New York."),  # 22:00 in Sofia, 15:00 in New York
        ("2026-11-26T02:00:00", "Both closed."),
        ("2026-11-28T12:00:00", "Both closed."),  # Saturday
        ("2026-12-25T10:00:00", "Holiday."),
    ],
)
def test_hours_decide_in_the_schedules_own_time_zone(tmp_path, when, heard):
    project = build(tmp_path, HOURS_FLOW, **{"schedules.yaml": SCHEDULES})
    assert said(call(project, at=utc(when))) == [heard]


def test_a_holiday_counts_in_the_schedules_time_zone_not_in_utc(tmp_path):
    project = build(tmp_path, HOURS_FLOW, **{"schedules.yaml": SCHEDULES})
    result = call(project, at=utc("2026-12-24T23:30:00"))  # already 25 December in Sofia
    assert result.record.path == ["sofia", "feast"]


def test_hours_without_a_holiday_edge_treat_a_holiday_as_closed(tmp_path):
    flow = HOURS_FLOW.replace(", holiday: feast", "").replace(
        '  feast: {type: hangup, prompt: "Holiday."}\n', ""
    )
    project = build(tmp_path, flow, **{"schedules.yaml": SCHEDULES})
    result = call(project, at=utc("2026-12-25T10:00:00"))  # a Friday, 12:00 in Sofia
    assert result.record.path == ["sofia", "sofia_closed", "none"]


LANGUAGE_FLOW = """
flow: t
language: en
languages: [en, bg]
start: pick
nodes:
  pick:
    type: menu
    prompt: {en: "For English press 1.", bg: "За български натиснете 2."}
    choices: {1: info, 2: to_bg}
    attempts: 1
    on_fail: info
  to_bg: {type: language, language: bg, next: info}
  info:
    type: play
    prompt:
      en: ["Your balance is", {say: money, value: "12.5"}]
      bg: ["Вашият баланс е", {say: money, value: "12.5"}]
    next: bye
  bye: {type: hangup, prompt: {en: "Goodbye.", bg: "Довиждане."}}
"""


def test_after_a_language_node_later_prompts_use_that_languages_text(tmp_path):
    result = call(build(tmp_path, LANGUAGE_FLOW), press("2"))
    assert said(result) == [
        "For English press 1.",
        "Вашият баланс е",
        "дванадесет лева и петдесет стотинки",
        "Довиждане.",
    ]
    assert result.record.path == ["pick", "to_bg", "info", "bye"]


def test_without_a_language_node_the_flows_default_language_is_used(tmp_path):
    result = call(build(tmp_path, LANGUAGE_FLOW), press("1"))
    assert said(result) == [
        "For English press 1.",
        "Your balance is",
        "twelve dollars and fifty cents",
        "Goodbye.",
    ]


def test_the_tenants_language_is_the_calls_language_from_the_start(tmp_path):
    tenants = 'tenants:\n  bg: {name: Acme BG, numbers: ["359700"], flow: t, language: bg}\n'
    project = build(tmp_path, LANGUAGE_FLOW, **{"tenants.yaml": tenants})
    result = call(project, press("1"), dialed="359700")
    assert said(result)[:2] == ["За български натиснете 2.", "Вашият баланс е"]
    assert result.record.tenant == "bg"
