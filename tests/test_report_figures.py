"""Every figure of ``ivr report`` on a small hand-built journal whose answers are worked out below.

The calls are built as the journal keeps them (no flow runs), so each wait, talk time and overlap
is exactly what the test says. Queue ``sales`` has a 20 s answer-time target.

| call | starts | in the queue | how the wait ended      | talk  | agent |
|------|--------|--------------|-------------------------|-------|-------|
| c1   | 0 s    | at 10 s      | answered after 10 s     | 100 s | a     |
| c2   | 30 s   | at 40 s      | answered after 30 s     | 60 s  | a     |
| c3   | 60 s   | at 70 s      | hung up after 3 s       |       |       |
| c4   | 90 s   | at 100 s     | hung up after 40 s      |       |       |
| c5   | 120 s  | at 130 s     | answered after 20 s     | 50 s  | b     |
| c6   | 150 s  |              | self-served             |       |       |
| c7   | 180 s  |              | hung up in the menu     |       |       |

Queued 5, answered 3, in target 2 (c1, c5: a wait equal to the target is in it). c3 hung up in
under 5 s: a short abandon by default, left out of the calls offered (4) and of the abandon rate;
with ``--short-abandon 0`` it is an abandon like c4 and 5 calls are offered.
"""

import csv
import datetime as dt
import io

import pytest
from reportjournal import report_of

from ivr.cli import main
from ivr.report.command import report_with_previous
from ivr.runtime.record import CallRecord, Visit
from ivr.store import CallFilter, JournalEntry, SqliteJournal

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
MENU_SECONDS = 10
"""Every queued call spends this long in the menu before it enters the queue."""
TARGET = 20.0


def at(seconds: float) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


def queued_call(
    call_id: str,
    start: float,
    wait: float,
    *,
    talk: float | None = None,
    agent: str | None = None,
    queue: str = "sales",
) -> JournalEntry:
    """A call that waited ``wait`` seconds in ``queue``: answered by ``agent`` when ``talk`` is
    given, else abandoned (the caller hung up in the queue)."""
    queued = at(start + MENU_SECONDS)
    left = queued + dt.timedelta(seconds=wait)
    answered = talk is not None
    record = CallRecord(
        call_id=call_id,
        caller="+15550001111",
        dialed="100",
        flow="t",
        tenant="acme",
        started_at=at(start),
        answered_at=at(start),
        ended_at=left + dt.timedelta(seconds=talk or 0),
        visits=[
            Visit("t", "menu", "menu", at(start), "1"),
            Visit("t", "queue", "queue", queued, None),
        ],
        queue=queue,
        queued_at=queued,
        agent=agent if answered else None,
        agent_answered_at=left if answered else None,
        talk_seconds=talk or 0.0,
        hung_up_by_caller=not answered,
        outcome="answered" if answered else "abandoned",
    )
    return JournalEntry(record, TARGET)


def menu_call(call_id: str, start: float, outcome: str) -> JournalEntry:
    record = CallRecord(
        call_id=call_id,
        caller="+15550001111",
        dialed="100",
        flow="t",
        tenant="acme",
        started_at=at(start),
        answered_at=at(start),
        ended_at=at(start + 20),
        visits=[Visit("t", "menu", "menu", at(start), "1" if outcome == "self_served" else None)],
        goals=["hours_told"] if outcome == "self_served" else [],
        outcome=outcome,
    )
    return JournalEntry(record)


def calls() -> list[JournalEntry]:
    return [
        queued_call("c1", 0, 10, talk=100, agent="a"),
        queued_call("c2", 30, 30, talk=60, agent="a"),
        queued_call("c3", 60, 3),
        queued_call("c4", 90, 40),
        queued_call("c5", 120, 20, talk=50, agent="b"),
        menu_call("c6", 150, "self_served"),
        menu_call("c7", 180, "ivr_hangup"),
    ]


def test_service_level_is_calls_answered_within_the_target_over_calls_offered(tmp_path):
    totals = report_of(calls(), tmp_path, short_abandon=0).totals
    assert (totals.queued, totals.answered_in_target) == (5, 2)
    assert totals.service_level == pytest.approx(2 / 5)


def test_asa_is_the_mean_wait_of_answered_calls(tmp_path):
    assert report_of(calls(), tmp_path).totals.asa == pytest.approx((10 + 30 + 20) / 3)


def test_aht_is_the_mean_talk_time_of_answered_calls(tmp_path):
    assert report_of(calls(), tmp_path).totals.aht == pytest.approx((100 + 60 + 50) / 3)


def test_abandon_rate_is_callers_who_hung_up_in_the_queue_over_calls_offered(tmp_path):
    totals = report_of(calls(), tmp_path, short_abandon=0).totals
    assert totals.abandoned == 2
    assert totals.queue_abandonment == pytest.approx(2 / 5)


def test_containment_and_ivr_abandonment_are_shares_of_all_calls(tmp_path):
    totals = report_of(calls(), tmp_path, short_abandon=0).totals
    assert totals.calls == 7
    assert totals.containment == pytest.approx(1 / 7)
    assert totals.ivr_abandonment == pytest.approx(1 / 7)


def test_callers_who_hang_up_in_the_queue_within_5_s_are_short_abandons_by_default(tmp_path):
    totals = report_of(calls(), tmp_path).totals
    assert (totals.short_abandons, totals.counted_abandons, totals.offered) == (1, 1, 4)
    # c4 of the 4 calls offered abandoned; c1 and c5 of them were answered within target
    assert totals.queue_abandonment == pytest.approx(1 / 4)
    assert totals.service_level == pytest.approx(2 / 4)


def test_average_time_to_abandon_is_the_mean_wait_of_abandoned_calls(tmp_path):
    assert report_of(calls(), tmp_path).totals.average_time_to_abandon == pytest.approx(40)
    everyone = report_of(calls(), tmp_path, short_abandon=0).totals
    assert everyone.average_time_to_abandon == pytest.approx((3 + 40) / 2)


def test_a_longer_short_abandon_time_leaves_out_more_callers(tmp_path):
    totals = report_of(calls(), tmp_path, short_abandon=60).totals
    assert (totals.short_abandons, totals.offered) == (2, 3)
    assert totals.queue_abandonment == 0
    assert totals.average_time_to_abandon is None


def test_a_call_of_an_outcome_the_report_does_not_know_is_counted_under_that_outcome(tmp_path):
    odd = menu_call("c8", 200, "ivr_hangup")
    odd.record.outcome = "answered_by_a_robot"
    totals = report_of([*calls(), odd], tmp_path).totals
    assert totals.calls == 8
    assert totals.outcomes["answered_by_a_robot"] == 1
    assert totals.outcomes["ivr_hangup"] == 1


def test_the_previous_period_has_the_figures_of_the_calls_just_before_the_report(tmp_path):
    later = [
        queued_call("d1", 3600, 50, talk=30, agent="a"),
        queued_call("d2", 3700, 45),
        menu_call("d3", 3800, "self_served"),
    ]
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    journal.write([*calls(), *later])
    hour = CallFilter(at(3600), at(7200))
    report = report_with_previous(journal, hour, short_abandon=0)
    # the hour before is 09:00-10:00: c1..c7 and nothing of the report's own calls
    assert (report.totals.calls, report.previous.totals.calls) == (3, 7)
    assert (report.previous.start, report.previous.end) == (at(0), at(3600))
    assert report.previous.totals.answered == 3
    assert report.previous.totals.asa == pytest.approx((10 + 30 + 20) / 3)
    assert report.previous.totals.service_level == pytest.approx(2 / 5)
    assert report.previous.previous is None
    first_hour = report_with_previous(journal, CallFilter(at(0), at(3600)), short_abandon=0)
    assert first_hour.previous is None
    journal.close()


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    store.write(calls())
    store.close()
    return path


def summary(capsys, journal, *options) -> tuple[str, dict[str, list[str]]]:
    """The heading and the summary rows (figure: calls, share, of, time) of the CSV report."""
    capsys.readouterr()
    args = ["report", "--journal", str(journal), "--timezone", "UTC", "--format", "csv"]
    assert main([*args, *options]) == 0
    out = capsys.readouterr().out
    heading, table = out.split("\n\nsummary\n")[0], out.split("\n\nsummary\n")[1]
    rows = list(csv.reader(io.StringIO(table.split("\n\n")[0])))[1:]
    return heading, {row[0]: row[1:] for row in rows}


def test_the_report_says_and_applies_its_short_abandon_rule(journal, capsys):
    heading, rows = summary(capsys, journal)
    assert "Short abandons: hung up in a queue in under 5s" in heading
    assert rows["Short abandons"] == ["1", "20.0", "queued calls", ""]
    assert rows["Calls offered to a queue"][0] == "4"
    assert rows["Abandoned in a queue"] == ["1", "25.0", "calls offered", ""]
    assert rows["Answered within service level"] == ["2", "50.0", "calls offered", ""]
    assert rows["Average time to abandon"][3] == "40.0"
    heading, rows = summary(capsys, journal, "--short-abandon", "0")
    assert "Short abandons: none (--short-abandon 0)" in heading
    assert rows["Abandoned in a queue"] == ["2", "40.0", "calls offered", ""]
    assert rows["Answered within service level"] == ["2", "40.0", "calls offered", ""]
    heading, rows = summary(capsys, journal, "--short-abandon", "60s")
    assert "under 60s" in heading
    assert rows["Short abandons"][0] == "2"


@pytest.mark.parametrize("value", ["-1", "soon", "5m"])
def test_a_short_abandon_time_that_is_not_seconds_is_refused(journal, capsys, value):
    assert main(["report", "--journal", str(journal), "--short-abandon", value]) == 2
    assert f"--short-abandon: {value!r} is not a time in seconds" in capsys.readouterr().err


def interval_calls() -> list[JournalEntry]:
    """Calls at 09:00:00, 09:14:59, 09:15:00 and 09:31:00 UTC."""
    return [
        queued_call("i1", 0, 10, talk=100, agent="a"),
        queued_call("i2", 899, 3),
        queued_call("i3", 900, 30, talk=60, agent="a"),
        queued_call("i4", 1860, 40),
    ]


def interval_rows(capsys, journal, *options) -> dict[str, list[str]]:
    """The CSV report's interval table: interval -> calls, offered, answered, abandoned,
    short abandons, service level, ASA, AHT."""
    capsys.readouterr()
    args = ["report", "--journal", str(journal), "--format", "csv", *options]
    assert main(args) == 0
    block = capsys.readouterr().out.split("\n\nintervals\n")[1].split("\n\n")[0]
    return {row[0]: row[1:] for row in list(csv.reader(io.StringIO(block)))[1:]}


@pytest.fixture
def interval_journal(tmp_path):
    path = tmp_path / "intervals.sqlite"
    store = SqliteJournal(path)
    store.write(interval_calls())
    store.close()
    return path


def test_calls_are_counted_per_15_minute_interval_of_their_start(interval_journal, capsys):
    rows = interval_rows(capsys, interval_journal, "--timezone", "UTC", "--interval", "15m")
    assert rows == {
        # i2 hung up after 3 s: a short abandon, not offered; no agent state log: no agents logged
        # in, no occupancy
        "2026-11-23 09:00": ["2", "1", "1", "0", "1", "100.0", "10.0", "100.0", "", ""],
        "2026-11-23 09:15": ["1", "1", "1", "0", "0", "0.0", "30.0", "60.0", "", ""],
        "2026-11-23 09:30": ["1", "1", "0", "1", "0", "0.0", "", "", "", ""],
    }


def test_30_minute_intervals_hold_two_quarters_each(interval_journal, capsys):
    rows = interval_rows(capsys, interval_journal, "--timezone", "UTC", "--interval", "30m")
    assert rows == {
        "2026-11-23 09:00": ["3", "2", "2", "0", "1", "50.0", "20.0", "80.0", "", ""],
        "2026-11-23 09:30": ["1", "1", "0", "1", "0", "0.0", "", "", "", ""],
    }


def test_intervals_are_counted_in_the_reports_time_zone(interval_journal, capsys):
    # Sofia is UTC+2 in November
    rows = interval_rows(
        capsys, interval_journal, "--timezone", "Europe/Sofia", "--interval", "60m"
    )
    assert list(rows) == ["2026-11-23 11:00"]
    assert rows["2026-11-23 11:00"][:2] == ["4", "3"]
    # 09:00-09:31 UTC is 23:00-23:31 of the 22nd in Honolulu (UTC-10)
    days = interval_rows(
        capsys, interval_journal, "--timezone", "Pacific/Honolulu", "--interval", "day"
    )
    assert list(days) == ["2026-11-22"]


def test_the_interval_table_is_in_the_terminal_and_html_reports_too(
    interval_journal, capsys, tmp_path
):
    capsys.readouterr()
    args = ["report", "--journal", str(interval_journal), "--timezone", "UTC", "--interval", "15m"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Intervals: 15m, by when calls started (UTC)" in out
    assert "2026-11-23 09:15 1 1 1 0 0 0.0% 30.0s 1m 00s - -".split() in [
        line.split() for line in out.splitlines()
    ]
    page = tmp_path / "report.html"
    assert main([*args, "--format", "html", "--output", str(page)]) == 0
    text = page.read_text()
    assert '<section id="table-intervals">' in text and "Per 15 minutes" in text


def test_without_interval_there_is_no_interval_table(interval_journal, capsys):
    capsys.readouterr()
    assert main(["report", "--journal", str(interval_journal), "--format", "csv"]) == 0
    assert "\nintervals\n" not in capsys.readouterr().out
