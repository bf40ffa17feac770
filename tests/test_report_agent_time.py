"""Agent time in ``ivr report`` from the agent state log, on a hand-built log with known answers.

Agent ``a`` (Anna), from 09:00 UTC:

| from  | to    | state     | note                           |
|-------|-------|-----------|--------------------------------|
| 09:00 | 09:10 | available |                                |
| 09:10 | 09:10:20 | ringing | call c1, answered             |
| 09:10:20 | 09:15:20 | on_call | c1, 300 s talk            |
| 09:15:20 | 09:16 | wrap_up | after c1, 40 s                 |
| 09:16 | 09:20 | available |                                |
| 09:20 | 09:20:30 | ringing | not answered: a missed call    |
| 09:20:30 | 09:30 | on_break | lunch                         |
| 09:30 | 09:40 | on_break | coaching                       |
| 09:40 | 10:00 | logged_out |                              |

Logged in 40 min (2400 s); ready 600 + 240 = 840 s; ringing 50 s; talk 300 s; wrap-up 40 s;
breaks 570 s (lunch) and 600 s (coaching). Occupancy = (300 + 40) / (840 + 50 + 340) = 340/1230.
"""

import datetime as dt
import json
import os

import pytest

from ivr.acd import AgentPool
from ivr.acd.model import AgentSegment
from ivr.cli import main
from ivr.flow.config import AgentConfig
from ivr.report.agents import read_agent_times
from ivr.runtime.record import CallRecord
from ivr.store import JournalEntry, JournalWriter, SqliteJournal

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def segments(host: str = "", pid: int = 0) -> list[AgentSegment]:
    rows = [
        ("available", 0, 10, "", ""),
        ("ringing", 10, 10 + 20 / 60, "", "c1"),
        ("on_call", 10 + 20 / 60, 15 + 20 / 60, "", "c1"),
        ("wrap_up", 15 + 20 / 60, 16, "", "c1"),
        ("available", 16, 20, "", ""),
        ("ringing", 20, 20.5, "", "c2"),
        ("on_break", 20.5, 30, "lunch", ""),
        ("on_break", 30, 40, "coaching", ""),
        ("logged_out", 40, 60, "", ""),
    ]
    made = []
    for n, (state, begun, ended, reason, call) in enumerate(rows):
        after = rows[n + 1][0] if n + 1 < len(rows) else ""
        made.append(
            AgentSegment(
                f"s{n}",
                "a",
                "Anna",
                state,
                at(begun),
                at(ended),
                reason=reason,
                call_id=call,
                queue="sales" if call else "",
                next_state=after,
                host=host,
                pid=pid,
            )
        )
    return made


def answered_call() -> JournalEntry:
    record = CallRecord(
        call_id="c1",
        caller="+15550001111",
        dialed="100",
        flow="t",
        tenant="acme",
        started_at=at(9),
        answered_at=at(9),
        queue="sales",
        queued_at=at(9.5),
        agent="a",
        agent_answered_at=at(10 + 20 / 60),
        talk_seconds=300.0,
        ended_at=at(15 + 20 / 60),
        outcome="answered",
    )
    return JournalEntry(record, 20.0)


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    store.write([answered_call(), *segments()])
    store.close()
    return path


def test_agent_time_is_counted_per_state_and_break_reason(journal):
    store = SqliteJournal(journal, create=False)
    times = read_agent_times(store, start=START, end=at(60))
    store.close()
    anna = times.agents["a"]
    assert times.names["a"] == "Anna"
    assert anna.logged_in == pytest.approx(2400)
    assert anna.ready == pytest.approx(840)
    assert anna.ringing == pytest.approx(50)
    assert anna.talk == pytest.approx(300)
    assert anna.wrap_up == pytest.approx(40)
    assert anna.breaks == pytest.approx({"lunch": 570, "coaching": 600})
    assert (anna.offered, anna.missed) == (2, 1)


def test_occupancy_is_handling_over_ready_ringing_and_handling_time(journal):
    store = SqliteJournal(journal, create=False)
    anna = read_agent_times(store, start=START, end=at(60)).agents["a"]
    store.close()
    assert anna.occupancy == pytest.approx(340 / 1230)
    assert 0 < anna.occupancy <= 1


def test_agent_time_is_cut_to_the_reported_period(journal):
    store = SqliteJournal(journal, create=False)
    # 09:05-09:25: available 5 + 4 min, ringing 20 s + 30 s, the call, wrap-up, 4.5 min lunch
    anna = read_agent_times(store, start=at(5), end=at(25)).agents["a"]
    store.close()
    assert anna.ready == pytest.approx(540)
    assert anna.breaks == pytest.approx({"lunch": 270})
    assert anna.logged_in == pytest.approx(1200)


def test_aht_adds_the_wrap_up_after_the_call_to_its_talk_time(journal, capsys):
    assert main(["report", "--journal", str(journal), "--timezone", "UTC"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("Summary") : out.index("Outcomes")]
    assert "Average handle time (AHT)" in summary
    assert "5m 40s" in summary.split("Average handle time (AHT)")[1].splitlines()[0]
    agents = out[out.index("Per agent") :]
    row = next(line for line in agents.splitlines() if line.startswith("a "))
    assert "Anna" in row and "40.0s" in row and "27.6%" in row


def test_intervals_show_the_agents_logged_in_and_their_occupancy(journal, capsys):
    options = ["--timezone", "Europe/Sofia", "--interval", "15m", "--format", "csv"]
    assert main(["report", "--journal", str(journal), *options]) == 0
    out = capsys.readouterr().out
    section = out[out.index("\nintervals\n") :].split("\n\n")[0].splitlines()[3:]
    rows = {line.split(",")[0]: line.split(",") for line in section}
    # Sofia is UTC+2: 09:00 UTC is 11:00 there. 11:00-11:15: 10 min ready, 20 s ringing, 4:40
    # talk: one agent logged in the whole quarter.
    assert rows["2026-11-23 11:00"][-2:] == ["1.0", "31.11"]
    # 11:30-11:45: a break then logged out from 11:40: two thirds of an agent, no occupancy
    assert rows["2026-11-23 11:30"][-2:] == ["0.7", ""]
    assert "2026-11-23 11:45" not in rows


def test_a_state_still_lasting_counts_up_to_the_end_of_the_period(tmp_path):
    store = SqliteJournal(tmp_path / "journal.sqlite")
    store.write([AgentSegment("open", "a", "Anna", "available", at(0))])
    anna = read_agent_times(store, start=START, end=at(30)).agents["a"]
    store.close()
    assert anna.ready == pytest.approx(1800)


def test_a_killed_controllers_open_states_end_at_the_last_change_it_journaled(tmp_path):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    dead = 2**22 + 12345  # beyond pid_max's default: no process has it
    store.write(
        [
            AgentSegment("x1", "a", "Anna", "available", at(0), at(10), host="h", pid=dead),
            AgentSegment("x2", "a", "Anna", "on_call", at(10), host="h", pid=dead),
            AgentSegment("y1", "b", "Boris", "available", at(12), host="h", pid=dead),
            AgentSegment("z1", "c", "Carla", "available", at(0), host="h", pid=os.getpid()),
        ]
    )
    store.close_lost_calls("h", lambda pid: pid == os.getpid())
    times = read_agent_times(store, start=START, end=at(60))
    store.close()
    assert times.agents["a"].talk == pytest.approx(120)  # 09:10 to 09:12, its last change
    assert times.agents["b"].ready == pytest.approx(0)
    assert times.agents["c"].ready == pytest.approx(3600)  # its controller still runs


def test_the_pool_journals_each_state_as_it_starts_and_ends(tmp_path):
    log = {}
    pool = AgentPool({"a": AgentConfig("a", "Anna", "user/a")})
    pool.start_log(at(0), lambda segment: log.__setitem__(segment.id, segment))
    pool.take_break("a", at(5), reason="lunch")
    pool.login("a", at(35))
    pool.logout("a", at(40))
    pool.end_log(at(45))
    got = sorted(log.values(), key=lambda s: s.started_at)
    assert [(s.state, s.reason, s.started_at, s.ended_at, s.next_state) for s in got] == [
        ("available", "", at(0), at(5), "on_break"),
        ("on_break", "lunch", at(5), at(35), "available"),
        ("available", "", at(35), at(40), "logged_out"),
        ("logged_out", "", at(40), at(45), ""),
    ]


def test_a_controller_journals_its_agents_states_and_ends_them_when_it_stops(tmp_path):
    writer = JournalWriter(SqliteJournal(tmp_path / "journal.sqlite"))
    pool = AgentPool({"a": AgentConfig("a", "Anna", "user/a")})
    pool.start_log(at(0), writer.submit_segment)
    pool.take_break("a", at(5), reason="lunch")
    pool.end_log(at(10))
    writer.close()
    store = SqliteJournal(tmp_path / "journal.sqlite", create=False)
    rows = store.db.execute(
        "SELECT state, reason, ended_at IS NULL, host != '', pid FROM agent_states "
        "ORDER BY started_at"
    ).fetchall()
    store.close()
    assert rows == [("available", "", 0, 1, os.getpid()), ("on_break", "lunch", 0, 1, os.getpid())]


def test_scenario_runs_journal_agent_time_and_occupancy_stays_within_100_percent(tmp_path, capsys):
    path = tmp_path / "journal.sqlite"
    assert main(["test", "--journal", str(path), "flows/"]) == 0
    capsys.readouterr()
    assert main(["report", "--journal", str(path), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    section = out[out.index("\nagents\n") :].split("\n\n")[0].splitlines()[3:]
    occupancies = [float(line.split(",")[-1]) for line in section if line.split(",")[-1]]
    wrap_ups = [float(line.split(",")[5]) for line in section]
    assert occupancies and all(0 < share <= 100 for share in occupancies)
    assert sum(wrap_ups) > 0  # the example queues' wrap-up is in the agents' handle time


def test_a_journal_without_an_agent_state_log_says_so(tmp_path, capsys):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    store.write([answered_call()])
    store.close()
    assert main(["report", "--journal", str(path)]) == 0
    assert "no agent state log" in capsys.readouterr().out


def test_a_change_reported_a_little_behind_the_last_one_keeps_the_log_in_order():
    log = {}
    pool = AgentPool({"a": AgentConfig("a", "Anna", "user/a")})
    pool.start_log(at(0), lambda segment: log.__setitem__(segment.id, segment))
    pool.take_break("a", at(10), reason="lunch")
    pool.login("a", at(9.99))  # a call's clock a little behind the timer's
    pool.end_log(at(20))
    got = sorted(log.values(), key=lambda s: (s.started_at, s.ended_at))
    assert all(s.started_at <= s.ended_at for s in got)
    assert all(a.ended_at <= b.started_at for a, b in zip(got, got[1:], strict=False))
    assert [s.state for s in got] == ["available", "on_break", "available"]


def test_a_controllers_log_keeps_its_own_clock_whatever_time_its_calls_report():
    # A simulated FreeSWITCH dates its calls on the scenario cases' days; the controller's
    # agents live on its wall clock all the same.
    wall = [at(60)]
    log = {}
    pool = AgentPool({"a": AgentConfig("a", "Anna", "user/a")})
    pool.start_log(
        at(60), lambda segment: log.__setitem__(segment.id, segment), clock=lambda: wall[0]
    )
    wall[0] = at(65)
    pool.take_break("a", at(-3000), reason="lunch")
    wall[0] = at(70)
    pool.end_log(wall[0])
    got = sorted(log.values(), key=lambda s: s.started_at)
    assert [(s.state, s.started_at, s.ended_at) for s in got] == [
        ("available", at(60), at(65)),
        ("on_break", at(65), at(70)),
    ]


def test_a_wrap_up_journaled_before_its_calls_record_still_counts_in_aht(tmp_path, capsys):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    store.write(segments())
    store.write([answered_call()])
    store.close()
    assert main(["report", "--journal", str(path), "--timezone", "UTC", "--format", "json"]) == 0
    figures = {k["key"]: k["value"] for k in json.loads(capsys.readouterr().out)["kpis"]}
    assert figures["aht"] == pytest.approx(340)
