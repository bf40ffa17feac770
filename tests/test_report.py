"""``ivr report`` on a journal of 200 scenario calls with a known mix of outcomes and waits.

The calls run through ``ivr test --journal`` on a small flow; every figure of the report is then
checked against numbers worked out by hand from the mix below. The caller's time in the menu
before queueing is the same for every queued call, so waits and talk times are exact. Ten callers
ask for a callback; the scenario runner goes on in simulated time after their calls, so the
callbacks are made (or not) and journaled too.
"""

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from textwrap import dedent

import pytest
import yaml

from ivr.cli import main

FLOW = """
flow: t
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "Press 1 for hours, 2 for sales, 3 for the branch, 4 for a message, 0 for support."
    choices: {1: hours, 2: sales, 3: branch_line, 4: voicemail, 5: broken, 0: support}
    timeout: 5s
    attempts: 1
    on_fail: bye
  hours:
    type: play
    prompt: "We are open from nine to five."
    goal: hours_told
    next: bye
  sales:
    type: queue
    queue: sales
    max_wait: 4m
    on_timeout: bye
  support:
    type: queue
    queue: support
    callback: {offer_after: 100s, key: 1, attempts: 2, retry_after: 10m}
  branch_line:
    type: transfer
    to: "2000"
  voicemail:
    type: record
    max: 1m
  broken:
    type: set
    vars: {ratio: "{{ 1 // 0 }}"}
    next: bye
  bye:
    type: hangup
    prompt: "Goodbye."
"""
QUEUES = """
queues:
  sales: {agents: [s1, s2, s3], ring_timeout: 10s, service_level: 20s}
  support: {agents: [p1, p2, p3], ring_timeout: 15s, service_level: 30s}
"""
AGENTS = """
agents:
  s1: {name: Sam, endpoint: user/2001}
  s2: {name: Sue, endpoint: user/2002}
  s3: {name: Sid, endpoint: user/2003}
  p1: {name: Pat, endpoint: user/3001}
  p2: {name: Peg, endpoint: user/3002}
  p3: {name: Pia, endpoint: user/3003}
"""
TENANTS = """
tenants:
  alpha: {name: Alpha, numbers: ["100"], flow: t}
  beta: {name: Beta, numbers: ["200"], flow: t}
"""
SALES_BUSY = {"s1": "busy", "s2": "busy", "s3": "busy"}
SUPPORT_BUSY = {"p1": "busy", "p2": "busy", "p3": "busy"}
SUPPORT_FREE_IN_5M = {"p1": {"state": "busy", "until": "5m"}, "p2": "busy", "p3": "busy"}

PRESS_1, PRESS_2, PRESS_0 = {"press": "1"}, {"press": "2"}, {"press": "0"}
HANG_UP = {"hangup": True}
ABANDONED = "abandoned"


def wait(duration: str) -> dict:
    return {"wait": duration}


# Support offers the callback after 100 s; the caller takes it and confirms the number.
CALLBACK = [PRESS_0, wait("100s"), {"hear": "press 1"}, {"press": "1"}]
CALLBACK += [{"hear": "To confirm, press 1"}, {"press": "1"}]


# (how many, tenant's number, first call's start, seconds between calls, agents, steps, outcome,
#  and optionally more of the case: the callback expected, how the caller's phone behaves)
# Pressing a key uses 0.3 s of the caller's next wait before the queue; a ring is 2 s, and an
# agent who does not answer rings for the queue's ring_timeout. So a wait after a key is 0.3 s
# longer than the time meant for the queue and the conversation.
MIX = [
    (50, "100", "2026-11-23T09:00:00", 60, {}, [PRESS_1], "self_served"),
    (30, "200", "2026-11-23T09:00:30", 60, {}, [HANG_UP], "ivr_hangup"),
    # support: callbacks; p1 is free after 5 minutes and calls back, the caller answers
    (
        4,
        "200",
        "2026-11-24T10:00:00",
        60,
        SUPPORT_FREE_IN_5M,
        CALLBACK,
        "callback",
        {"expect": {"callback": {"status": "answered", "agent": "p1"}}},
    ),
    # ... p1 calls back twice, 10 minutes apart; the caller never answers: given up
    (
        3,
        "200",
        "2026-11-24T10:04:00",
        60,
        SUPPORT_FREE_IN_5M,
        CALLBACK,
        "callback",
        {"caller_phone": "no_answer", "expect": {"callback": {"status": "failed"}}},
    ),
    # ... every agent stays busy: the callback is never made
    (
        3,
        "200",
        "2026-11-24T10:07:00",
        60,
        SUPPORT_BUSY,
        CALLBACK,
        "callback",
        {"expect": {"callback": {"status": "scheduled"}}},
    ),
    # sales: s1 answers after 2 s, talk 60 s
    (30, "100", "2026-11-23T14:00:00", 120, {}, [PRESS_2, wait("62.3s"), HANG_UP], "answered"),
    # sales: s1 rings out, s2 answers after 12 s, talk 120 s
    (
        20,
        "100",
        "2026-11-23T14:01:00",
        180,
        {"s1": "no_answer"},
        [PRESS_2, wait("132.3s"), HANG_UP],
        "answered",
    ),
    # sales: s1 and s2 ring out, s3 answers after 22 s (over the 20 s target), talk 180 s
    (
        10,
        "100",
        "2026-11-23T14:02:00",
        300,
        {"s1": "no_answer", "s2": "no_answer"},
        [PRESS_2, wait("202.3s"), HANG_UP],
        "answered",
    ),
    # sales: everyone busy, the caller hangs up after 45 s
    (
        15,
        "100",
        "2026-11-24T10:00:10",
        60,
        SALES_BUSY,
        [PRESS_2, wait("45.3s"), HANG_UP],
        ABANDONED,
    ),
    # sales: everyone busy for max_wait (4 minutes), then the IVR says goodbye
    (5, "100", "2026-11-24T10:00:20", 60, SALES_BUSY, [PRESS_2, wait("5m")], "completed"),
    # support (pressed 0): p1 answers after 2 s, talk 90 s
    (15, "200", "2026-11-24T10:00:30", 180, {}, [PRESS_0, wait("92.3s"), HANG_UP], "answered"),
    # support: p1 and p2 ring out, p3 answers after 32 s (over the 30 s target), talk 90 s
    (
        5,
        "200",
        "2026-11-24T10:00:40",
        600,
        {"p1": "no_answer", "p2": "no_answer"},
        [PRESS_0, wait("122.3s"), HANG_UP],
        "answered",
    ),
    # support: everyone busy, the caller hangs up after 90 s
    (
        4,
        "200",
        "2026-11-24T10:00:50",
        60,
        SUPPORT_BUSY,
        [PRESS_0, wait("90.3s"), HANG_UP],
        ABANDONED,
    ),
    (3, "200", "2026-11-24T10:01:00", 60, {}, [{"press": "3"}], "transferred"),
    (2, "200", "2026-11-24T10:01:10", 60, {}, [{"press": "4"}, wait("20s")], "voicemail"),
    (1, "200", "2026-11-24T10:01:20", 60, {}, [{"press": "5"}], "error"),
]


def scenario_cases() -> list[dict]:
    """The 200 cases of MIX, each expecting its outcome."""
    cases = []
    for group, (count, dialed, first, gap, agents, steps, outcome, *more) in enumerate(
        MIX, start=1
    ):
        start = dt.datetime.fromisoformat(first)
        extra = more[0] if more else {}
        for n in range(count):
            case = {
                "name": f"group {group} call {n + 1}",
                "dialed": dialed,
                "at": (start + dt.timedelta(seconds=gap * n)).isoformat(),
                "steps": steps,
                "expect": {"outcome": outcome, **extra.get("expect", {})},
            }
            if "caller_phone" in extra:
                case["caller_phone"] = extra["caller_phone"]
            if agents:
                case["agents"] = agents
            cases.append(case)
    return cases


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flows")
    (folder / "t.yaml").write_text(dedent(FLOW))
    (folder / "queues.yaml").write_text(dedent(QUEUES))
    (folder / "agents.yaml").write_text(dedent(AGENTS))
    (folder / "tenants.yaml").write_text(dedent(TENANTS))
    cases = scenario_cases()
    assert len(cases) == 200
    scenario = {"flow": "t", "timezone": "UTC", "cases": cases}
    (folder / "t.test.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    path = folder / "journal.sqlite"
    assert main(["test", "--journal", str(path), str(folder)]) == 0
    return path


def report(capsys, journal, *options) -> str:
    capsys.readouterr()
    assert main(["report", "--journal", str(journal), "--timezone", "UTC", *options]) == 0
    return capsys.readouterr().out


def csv_tables(text: str) -> dict[str, list[dict]]:
    """The CSV report's tables by name, each a list of rows keyed by column heading."""
    tables = {}
    for block in text.split("\n\n")[1:]:
        rows = list(csv.reader(io.StringIO(block)))
        name, heading, body = rows[0][0], rows[1], rows[2:]
        tables[name] = [dict(zip(heading, row, strict=True)) for row in body]
    return tables


def by_first_column(rows: list[dict]) -> dict[str, list[str]]:
    return {row[next(iter(row))]: list(row.values())[1:] for row in rows}


def test_scenario_calls_written_with_ivr_test_are_all_in_the_journal(journal, capsys):
    out = report(capsys, journal, "--format", "csv")
    assert "Period: 2026-11-23 09:00 to 2026-11-24 10:42 (UTC)" in out
    assert csv_tables(out)["summary"][0] == {
        "figure": "Calls",
        "calls": "200",
        "share (%)": "",
        "of": "",
        "time (s)": "",
    }


def test_summary_gives_containment_abandonment_asa_service_level_and_aht(journal, capsys):
    summary = by_first_column(csv_tables(report(capsys, journal, "--format", "csv"))["summary"])
    assert summary == {
        "Calls": ["200", "", "", ""],
        "Self-served (containment)": ["50", "25.0", "all calls", ""],
        "Abandoned in the IVR": ["30", "15.0", "all calls", ""],
        # 80 of sales, 24 of support answered or abandoned, 10 of support asking for a callback
        "Queued for an agent": ["114", "57.0", "all calls", ""],
        "Answered by an agent": ["80", "70.18", "queued calls", ""],
        # nobody hangs up in a queue in under 5 s: every queued call is offered
        "Short abandons": ["0", "0.0", "queued calls", ""],
        "Calls offered to a queue": ["114", "", "", ""],
        "Abandoned in a queue": ["19", "16.67", "calls offered", ""],
        # within target: 30 + 20 of sales (2 s, 12 s <= 20 s), 15 of support (2 s <= 30 s)
        "Answered within service level": ["65", "57.02", "calls offered", ""],
        # (30*2 + 20*12 + 10*22 + 15*2 + 5*32) / 80 = 710 / 80
        "Average speed of answer (ASA)": ["", "", "", "8.9"],
        # (15*45 + 4*90) / 19 = 1035 / 19
        "Average time to abandon": ["", "", "", "54.5"],
        # (30*60 + 20*120 + 10*180 + 15*90 + 5*90) / 80 = 7800 / 80
        "Average handle time (AHT)": ["", "", "", "107.5"],
        "Longest wait in a queue": ["", "", "", "240.0"],
        "Callbacks scheduled": ["10", "5.0", "all calls", ""],
        # dialed: the 4 answered and the 3 given up after 2 tries; reached: the 4 answered
        "Callbacks made": ["7", "70.0", "callbacks scheduled", ""],
        "Callbacks reached": ["4", "57.14", "callbacks made", ""],
    }


def test_every_outcome_is_counted_and_goals_are_counted_per_call(journal, capsys):
    tables = csv_tables(report(capsys, journal, "--format", "csv"))
    assert by_first_column(tables["outcomes"]) == {
        "self_served": ["50", "25.0"],
        "completed": ["5", "2.5"],
        "answered": ["80", "40.0"],
        "abandoned": ["19", "9.5"],
        "ivr_hangup": ["30", "15.0"],
        "transferred": ["3", "1.5"],
        "voicemail": ["2", "1.0"],
        "callback": ["10", "5.0"],
        "error": ["1", "0.5"],
    }
    assert by_first_column(tables["goals"]) == {"hours_told": ["50", "25.0"]}


def test_calls_are_broken_down_per_hour_per_day_and_per_tenant(journal, capsys):
    tables = csv_tables(report(capsys, journal, "--format", "csv"))
    # calls, containment, IVR hang-ups, queued, answered, abandoned, ASA, service level
    assert by_first_column(tables["hours"]) == {
        "09:00": ["80", "62.5", "30", "0", "0", "0", "", ""],
        "10:00": ["60", "0.0", "0", "54", "20", "19", "9.5", "27.78"],
        "14:00": ["60", "0.0", "0", "60", "60", "0", "8.7", "83.33"],
    }
    assert by_first_column(tables["days"]) == {
        "2026-11-23": ["140", "35.71", "30", "60", "60", "0", "8.7", "83.33"],
        "2026-11-24": ["60", "0.0", "0", "54", "20", "19", "9.5", "27.78"],
    }
    assert by_first_column(tables["tenants"]) == {
        "alpha (Alpha)": ["130", "38.46", "0", "80", "60", "15", "8.7", "62.5"],
        "beta (Beta)": ["70", "0.0", "30", "34", "20", "4", "9.5", "44.12"],
    }


def test_each_queue_is_judged_against_its_own_service_level(journal, capsys):
    tables = csv_tables(report(capsys, journal, "--format", "csv"))
    # target, queued, answered, abandoned, other exits, ASA, service level, AHT, longest wait
    assert by_first_column(tables["queues"]) == {
        "sales": ["20s", "80", "60", "15", "5", "8.7", "62.5", "110.0", "240.0"],
        # a callback's wait: 100 s to the offer, 20.1 s to confirm the number and hang up (the
        # key pressed as the offer ends stops it at once)
        "support": ["30s", "34", "20", "4", "10", "9.5", "44.12", "100.0", "120.1"],
    }


def test_agents_show_calls_missed_calls_handle_time_and_occupancy(journal, capsys):
    tables = csv_tables(report(capsys, journal, "--format", "csv"))
    agents = by_first_column(tables["agents"])
    # name, calls, missed (rang out: s1 in 20 + 10 calls, s2 in 10), talk, wrap-up (the
    # default 10 s after each call), AHT = talk + wrap-up per call
    assert {agent: row[:6] for agent, row in agents.items()} == {
        "p1": ["Pat", "15", "5", "1350.0", "150.0", "100.0"],
        "p2": ["Peg", "0", "5", "0.0", "0.0", ""],
        "p3": ["Pia", "5", "0", "450.0", "50.0", "100.0"],
        "s1": ["Sam", "30", "30", "1800.0", "300.0", "70.0"],
        "s2": ["Sue", "20", "10", "2400.0", "200.0", "130.0"],
        "s3": ["Sid", "10", "0", "1800.0", "100.0", "190.0"],
    }
    # each scenario case has its agents logged in from its start to its end
    for row in agents.values():
        logged_in, ready, occupancy = float(row[6]), float(row[7]), float(row[8] or 0)
        assert 0 < ready <= logged_in
        assert 0 <= occupancy <= 100


def test_wait_times_are_binned_by_how_the_wait_ended(journal, capsys):
    tables = csv_tables(report(capsys, journal, "--format", "csv"))
    assert by_first_column(tables["waits"]) == {
        "0-10s": ["45", "0", "0"],
        "10-20s": ["20", "0", "0"],
        "20-30s": ["10", "0", "0"],
        "30s-1m": ["5", "15", "0"],
        "1-2m": ["0", "4", "0"],
        "2-5m": ["0", "0", "15"],
        "5-10m": ["0", "0", "0"],
        "10m+": ["0", "0", "0"],
    }


def test_node_funnel_shows_entries_results_hang_ups_and_zero_outs_per_node(journal, capsys):
    funnel = csv_tables(report(capsys, journal, "--format", "csv"))["funnel-t"]
    # type, entries, calls, hang-ups, zero-outs, results
    assert by_first_column(funnel) == {
        "menu": ["menu", "200", "200", "30", "34", "0:34, 1:50, 2:80, 3:3, 4:2, 5:1"],
        "sales": ["queue", "80", "80", "15", "0", "timeout:5, (end):60"],
        "bye": ["hangup", "55", "55", "0", "0", "(end):55"],
        "hours": ["play", "50", "50", "0", "0", "next:50"],
        "support": ["queue", "34", "34", "4", "0", "(end):30"],
        "branch_line": ["transfer", "3", "3", "0", "0", "(end):3"],
        "voicemail": ["record", "2", "2", "0", "0", "(end):2"],
        "broken": ["set", "1", "1", "0", "0", "(failed):1"],
    }
    assert [row["node"] for row in funnel][:2] == ["menu", "sales"]


def test_table_format_shows_the_same_figures_for_a_terminal(journal, capsys):
    out = report(capsys, journal)
    lines = out.splitlines()
    words = [line.split() for line in lines]
    assert "Self-served (containment) 50 25.0% all calls -".split() in words
    assert "Average handle time (AHT) - - 1m 48s".split() in words
    assert any(line.split()[:2] == ["sales", "20s"] and "1m 50s" in line for line in lines)
    assert "menu menu 200 200 30 34 0:34, 1:50, 2:80, 3:3, 4:2,".split() in words
    assert "5:1".split() in words
    assert "Callbacks made 7 70.0% callbacks scheduled -".split() in words
    assert "Callbacks reached 4 57.1% callbacks made -".split() in words
    assert max(len(line) for line in lines) <= 100


def test_filters_pick_calls_by_tenant_queue_and_period(journal, capsys):
    tenant = csv_tables(report(capsys, journal, "--format", "csv", "--tenant", "beta"))
    assert tenant["summary"][0]["calls"] == "70"
    queue = csv_tables(report(capsys, journal, "--format", "csv", "--queue", "support"))
    assert queue["summary"][0]["calls"] == "34"
    assert list(by_first_column(queue["queues"])) == ["support"]
    # callbacks count with the calls that asked for them
    assert by_first_column(queue["summary"])["Callbacks reached"][0] == "4"
    alpha = csv_tables(report(capsys, journal, "--format", "csv", "--tenant", "alpha"))
    made = by_first_column(alpha["summary"])["Callbacks made"]
    assert made == ["0", "", "callbacks scheduled", ""]
    day = csv_tables(report(capsys, journal, "--format", "csv", "--from", "2026-11-24"))
    assert day["summary"][0]["calls"] == "60"
    hour = report(
        capsys,
        journal,
        "--format",
        "csv",
        "--from",
        "2026-11-23T09:00",
        "--to",
        "2026-11-23T10:00",
    )
    assert csv_tables(hour)["summary"][0]["calls"] == "80"
    assert "Period: 2026-11-23 09:00 to 2026-11-23 10:00 (UTC)" in hour
    whole_day = csv_tables(report(capsys, journal, "--format", "csv", "--to", "2026-11-23"))
    assert whole_day["summary"][0]["calls"] == "140"


def test_html_report_is_one_well_formed_page_with_every_chart_and_nothing_fetched(
    journal, tmp_path, capsys
):
    page = tmp_path / "report.html"
    options = ["--format", "html", "--output", str(page)]
    assert main(["report", "--journal", str(journal), *options]) == 0
    assert f"report written to {page}" in capsys.readouterr().err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    root = ET.fromstring(text.removeprefix("<!DOCTYPE html>"))
    svg = "{http://www.w3.org/2000/svg}svg"
    figures = {f.get("id"): f for f in root.iter("figure")}
    for chart in (
        "chart-calls-per-hour",
        "chart-outcomes",
        "chart-service-level",
        "chart-wait-times",
        "chart-funnel-t",
    ):
        assert figures[chart].find(svg) is not None, chart
    sections = {s.get("id") for s in root.iter("section")}
    assert {"table-summary", "table-queues", "table-agents", "table-funnel-t"} <= sections
    for element in root.iter():
        for name in ("src", "href", "{http://www.w3.org/1999/xlink}href"):
            assert not (element.get(name) or "").startswith(("http:", "https:", "//")), element
    assert not [s for s in root.iter("script") if s.get("src")]
    assert "Service level per queue" in text and "sales (20s)" in text
    assert "<td>Callbacks made " in text and "<td>Callbacks reached " in text


def test_html_goes_to_var_report_html_when_no_output_is_named(
    journal, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--journal", str(journal), "--format", "html"]) == 0
    assert "report written to var/report.html" in capsys.readouterr().err
    assert (tmp_path / "var" / "report.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tenant", "gamma"], "no call of tenant 'gamma' in the journal (known: alpha, beta)"),
        (["--queue", "billing"], "no call of queue 'billing' in the journal (known: sales, sup"),
        (["--from", "2026-11-24", "--to", "2026-11-23"], "--from 2026-11-24 is not before --to"),
        (["--from", "23/11/2026"], "--from: '23/11/2026' is not a date (2026-11-23) or a time"),
        (["--timezone", "Mars/Olympus"], "--timezone: 'Mars/Olympus' is not a time zone name"),
    ],
)
def test_bad_options_get_a_clear_message_and_exit_code_2(journal, capsys, options, message):
    assert main(["report", "--journal", str(journal), *options]) == 2
    err = capsys.readouterr().err
    assert message in err


def test_a_missing_or_unreadable_journal_gets_a_clear_message_and_exit_code_2(tmp_path, capsys):
    assert main(["report", "--journal", str(tmp_path / "none.sqlite")]) == 2
    assert "none.sqlite: no journal there" in capsys.readouterr().err
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_text("these are not the calls you are looking for\n" * 100)
    assert main(["report", "--journal", str(garbage)]) == 2
    assert "garbage.sqlite: not a readable call journal" in capsys.readouterr().err
    assert main(["report", "--journal", str(tmp_path)]) == 2
    assert "not a file" in capsys.readouterr().err


def test_an_empty_journal_reports_no_calls(tmp_path, capsys):
    from ivr.store import SqliteJournal

    SqliteJournal(tmp_path / "empty.sqlite").close()
    assert main(["report", "--journal", str(tmp_path / "empty.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "Calls 0 - -".split() in [line.split() for line in out.splitlines()]
    assert "no calls" in out
