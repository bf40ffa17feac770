"""The call journal: one closed record per call, written off the call's path, read back whole."""

import datetime as dt
import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from socket import gethostname

import gevent
import pytest
from flowkit import build, call, hangup, hear, press
from gevent import socket

from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.record import CallRecord, Visit
from ivr.simulator import SimulatedFreeSWITCH, frames
from ivr.simulator.commands import ESLCommandParser
from ivr.store import (
    CallbackEntry,
    CallFilter,
    Journal,
    JournalEntry,
    JournalError,
    JournalUnavailable,
    JournalWriter,
    OpenCall,
    SqliteJournal,
)
from ivr.store import sqlite as sqlite_store
from ivr.store import writer as writer_module

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
PIN_FLOW = """
flow: t
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "Press 1 for your balance."
    choices: {1: pin}
    on_fail: bye
  pin:
    type: input
    prompt: "Enter your PIN, then hash."
    digits: {min: 4, max: 4}
    terminator: "#"
    save_as: pin
    sensitive: true
    next: told
    on_fail: bye
  told:
    type: play
    prompt: "Your balance is ten dollars."
    goal: balance_told
    next: bye
  bye:
    type: hangup
    prompt: "Goodbye."
"""


def record(call_id: str, outcome: str = "completed", seconds: int = 0) -> CallRecord:
    started = START + dt.timedelta(seconds=seconds)
    return CallRecord(
        call_id=call_id,
        caller="+15550001111",
        dialed="100",
        flow="t",
        tenant="acme",
        started_at=started,
        ended_at=started + dt.timedelta(seconds=30),
        visits=[Visit("t", "menu", "menu", started, "1")],
        outcome=outcome,
    )


def read_all(path: Path) -> list[JournalEntry]:
    journal = SqliteJournal(path, create=False)
    try:
        return list(journal.entries(CallFilter()))
    finally:
        journal.close()


def test_a_call_reads_back_with_its_node_path_timestamps_results_and_masked_pin(tmp_path):
    project = build(tmp_path, PIN_FLOW)
    result = call(project, press("1"), press("4321#"), hear("ten dollars"), hangup(), at=START)
    assert result.record.outcome == "self_served"
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    journal.write([JournalEntry.of(result.record, project)])
    journal.close()

    [entry] = read_all(tmp_path / "journal.sqlite")
    assert entry.record == result.record
    assert [(v.node, v.result) for v in entry.record.visits] == [
        ("menu", "1"),
        ("pin", "next"),
        ("told", "next"),
        ("bye", None),
    ]
    assert [v.at for v in entry.record.visits] == [v.at for v in result.record.visits]
    assert entry.record.visits[1].at > entry.record.visits[0].at
    assert entry.record.inputs == [("menu", "choice", "1"), ("pin", "pin", "****")]
    assert entry.record.goals == ["balance_told"]
    assert entry.service_level is None


def test_the_same_call_written_twice_keeps_one_record_the_last(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    journal.write([JournalEntry(record("call-1", "ivr_hangup"))])
    journal.write([JournalEntry(record("call-1", "error")), JournalEntry(record("call-2"))])
    journal.close()
    outcomes = {e.record.call_id: e.record.outcome for e in read_all(tmp_path / "journal.sqlite")}
    assert outcomes == {"call-1": "error", "call-2": "completed"}


def test_a_new_journal_gets_its_schema_in_wal_mode(tmp_path):
    path = tmp_path / "var" / "journal.sqlite"
    SqliteJournal(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(sqlite_store.MIGRATIONS)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"calls", "visits", "goals", "inputs", "lookups", "callbacks"} <= tables


def test_an_older_journal_is_migrated_when_opened_and_keeps_its_calls(tmp_path, monkeypatch):
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    journal.write([JournalEntry(record("call-1"))])
    journal.close()
    newer = [*sqlite_store.MIGRATIONS, ["ALTER TABLE calls ADD COLUMN survey_score INTEGER"]]
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", newer)
    journal = SqliteJournal(path)
    assert journal.schema_version == len(newer)
    assert [e.record.call_id for e in journal.entries(CallFilter())] == ["call-1"]
    journal.close()


def test_a_journal_from_before_callbacks_were_journaled_opens_and_reports_none_made(
    tmp_path, capsys
):
    from ivr.cli import main

    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    asked = record("call-1", "callback")
    asked.callback = "+15550001111"
    journal.write([JournalEntry(asked), JournalEntry(record("call-2"))])
    journal.close()
    # Back to the first version's schema: no callbacks table, no notes on visits, no open
    # calls, no recordings, no agent state log (nor wrap-up with calls), no tenants.
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE callbacks; ALTER TABLE visits DROP COLUMN notes; DROP TABLE open_calls; "
        "DROP TABLE recordings; DROP TABLE agent_states; DROP TABLE tenants; "
        "DROP INDEX calls_by_agent; ALTER TABLE calls DROP COLUMN wrap_up_seconds; "
        "PRAGMA user_version = 1;"
    )
    db.close()

    assert main(["report", "--journal", str(path), "--format", "csv"]) == 0
    summary = capsys.readouterr().out.split("\n\n")[1].splitlines()
    assert "Callbacks scheduled,1,50.0,all calls," in summary
    assert "Callbacks made,0,0.0,callbacks scheduled," in summary
    assert "Callbacks reached,0,,callbacks made," in summary
    journal = SqliteJournal(path)
    assert journal.schema_version == len(sqlite_store.MIGRATIONS) == 8
    assert [e.callback for e in journal.entries(CallFilter())] == [None, None]
    journal.close()


def test_a_callback_reads_back_with_the_call_that_asked_for_it_in_its_latest_state(tmp_path):
    path = tmp_path / "journal.sqlite"
    first, second = START + dt.timedelta(minutes=5), START + dt.timedelta(minutes=15)
    journal = SqliteJournal(path)
    journal.write([JournalEntry(record("call-1", "callback")), JournalEntry(record("call-2"))])
    journal.write(
        [
            CallbackEntry("call-1", "+15550001111", "scheduled", None, 1, first, first),
            CallbackEntry("call-3", "+15550003333", "scheduled"),  # its call not written yet
        ]
    )
    reached = CallbackEntry("call-1", "+15550001111", "answered", "a1", 2, second, second)
    journal.write([reached])
    # The call record written again keeps its callback.
    journal.write([JournalEntry(record("call-1", "callback"))])
    # A restarted controller counts the attempts afresh: the journal keeps what it knew.
    journal.write([CallbackEntry("call-1", "+15550001111", "answered", "a1", 1, second, second)])
    journal.close()

    entries = {e.record.call_id: e for e in read_all(path)}
    callback = entries["call-1"].callback
    assert callback == CallbackEntry("call-1", "+15550001111", "answered", "a1", 2, first, second)
    assert callback.made and callback.reached
    assert entries["call-2"].callback is None
    assert set(entries) == {"call-1", "call-2"}


def test_each_dial_of_a_callback_is_journaled_through_the_writer(tmp_path):
    from test_queue_callbacks import ASK
    from test_queue_callbacks import project as callback_project

    from ivr.runtime.call import Call, CallServices
    from ivr.runtime.channel import CallInfo
    from ivr.runtime.memory import MemoryChannel
    from ivr.testing.dialer import MemoryDialer

    proj = callback_project(tmp_path)
    services = CallServices(proj)
    services.callbacks.dialer = MemoryDialer(services.callbacks, {}, "no_answer", START, [])
    writer = JournalWriter.open(tmp_path / "journal.sqlite")
    services.callbacks.on_dialed = writer.submit_callback  # as ivr serve does
    services.agents.set_state("a1", "busy", START, until=START + dt.timedelta(minutes=5))
    services.agents.set_state("a2", "busy", START)
    channel = MemoryChannel(
        CallInfo("asked", "+15550001111"), start=START, steps=[*ASK, press("1"), hear("Goodbye")]
    )
    record = Call(services, proj.flows["t"], channel).run()
    assert record.outcome == "callback"
    services.callbacks.run_until_quiet(record.ended_at, limit=4 * 3600)
    writer.submit_record(proj, record)
    writer.close()

    result = services.callbacks.results["asked"]
    assert (result.status, result.attempts) == ("failed", 3)
    assert writer.callbacks_written == 3  # one entry per dial: the journal follows the retries
    [entry] = read_all(tmp_path / "journal.sqlite")
    assert entry.callback == CallbackEntry(
        "asked", "+15550001111", "failed", None, 3, result.first_dialed_at, result.last_ended_at
    )
    assert entry.callback.made and not entry.callback.reached
    assert result.first_dialed_at < result.last_ended_at


def test_a_journal_written_by_a_newer_ivr_is_refused(tmp_path):
    path = tmp_path / "journal.sqlite"
    SqliteJournal(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(JournalError, match="written by a newer ivr"):
        SqliteJournal(path)


def test_an_sqlite_file_of_something_else_is_not_taken_for_a_journal(tmp_path):
    path = tmp_path / "orders.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER)")
    db.close()
    with pytest.raises(JournalError, match="not a call journal"):
        SqliteJournal(path)


def test_reading_without_create_refuses_a_missing_file_and_leaves_nothing_behind(tmp_path):
    with pytest.raises(JournalError, match="no journal there"):
        SqliteJournal(tmp_path / "typo.sqlite", create=False)
    assert not (tmp_path / "typo.sqlite").exists()


def test_calls_are_read_by_period_tenant_and_queue(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    queued = record("queued", seconds=3600)
    queued.queue, queued.queued_at, queued.tenant = "retail", queued.started_at, "shop"
    journal.write(
        [JournalEntry(record(f"call-{n}", seconds=60 * n)) for n in range(3)]
        + [JournalEntry(queued, 20.0)]
    )

    def ids(**where) -> list[str]:
        return [e.record.call_id for e in journal.entries(CallFilter(**where))]

    assert ids() == ["call-0", "call-1", "call-2", "queued"]
    assert ids(start=START + dt.timedelta(seconds=60), end=START + dt.timedelta(seconds=120)) == [
        "call-1"
    ]
    assert ids(tenant="shop") == ids(queue="retail") == ["queued"]
    assert journal.tenants() == ["acme", "shop"]
    assert journal.queues() == ["retail"]
    assert next(journal.entries(CallFilter(queue="retail"))).service_level == 20.0
    journal.close()


def test_reading_pages_through_many_calls_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "READ_BATCH", 7)
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    journal.write([JournalEntry(record(f"call-{n:02d}", seconds=n // 3)) for n in range(30)])
    entries = list(journal.entries(CallFilter()))
    assert [e.record.call_id for e in entries] == [f"call-{n:02d}" for n in range(30)]
    assert all(len(e.record.visits) == 1 for e in entries)
    journal.close()


# ---------------------------------------------------------------------- the writer thread


class HeldJournal(Journal):
    """A journal whose disk is stuck until ``release`` is set; it remembers what it stored."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.writing = threading.Event()
        self.stored: list[str] = []
        self.closed = False

    def write(self, entries):
        self.writing.set()
        self.release.wait()
        self.stored += [e.record.call_id for e in entries]

    def entries(self, where):
        raise NotImplementedError

    def tenants(self):
        return []

    def queues(self):
        return []

    def close(self):
        self.closed = True


def test_calls_hand_over_their_records_at_once_while_the_disk_is_stuck(tmp_path):
    journal = HeldJournal()
    writer = JournalWriter(journal)
    writer.submit(JournalEntry(record("first")))
    assert journal.writing.wait(5)
    for n in range(100):
        writer.submit(JournalEntry(record(f"call-{n}")))
    assert writer.pending == 100
    assert journal.stored == []
    journal.release.set()
    writer.close()
    assert journal.stored == ["first"] + [f"call-{n}" for n in range(100)]
    assert journal.closed and writer.written == 101


def test_a_full_queue_makes_only_the_finishing_call_wait_and_loses_nothing():
    journal = HeldJournal()
    writer = JournalWriter(journal, capacity=2, batch=1)
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(20)])
    handing = gevent.spawn(
        lambda: [writer.submit(JournalEntry(record(f"call-{n}"))) for n in range(6)]
    )
    with gevent.Timeout(5):
        while not journal.writing.is_set():
            gevent.sleep(0.01)
    gevent.sleep(0.1)
    assert not handing.dead  # waiting for room in the queue...
    assert len(ticks) >= 5  # ...while the other greenlets go on
    journal.release.set()
    handing.join(timeout=5)
    writer.close()
    ticker.kill()
    assert journal.stored == [f"call-{n}" for n in range(6)]


class BatchJournal(HeldJournal):
    """A journal that remembers the size of each batch it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.release.set()
        self.batches: list[int] = []

    def write(self, entries):
        self.batches.append(len(entries))
        super().write(entries)


def test_calls_ending_together_are_written_in_one_transaction():
    journal = BatchJournal()
    writer = JournalWriter(journal)
    for n in range(20):
        writer.submit(JournalEntry(record(f"call-{n}")))
        time.sleep(0.001)  # calls end a moment apart, as under load
    writer.flush()
    assert journal.batches == [20]
    writer.close()
    assert journal.stored == [f"call-{n}" for n in range(20)]


def test_closing_the_writer_does_not_wait_for_entries_to_gather():
    journal = BatchJournal()
    writer = JournalWriter(journal, linger=60)
    writer.submit(JournalEntry(record("last")))
    with gevent.Timeout(5):
        writer.close()
    assert journal.stored == ["last"]


class FlakyJournal(HeldJournal):
    """A journal whose disk fails ``failures`` times, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.release.set()
        self.failures = failures

    def write(self, entries):
        if self.failures:
            self.failures -= 1
            raise JournalUnavailable("disk I/O error")
        super().write(entries)


def test_records_are_kept_and_retried_while_the_disk_fails(monkeypatch, caplog):
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", (0.01,))
    journal = FlakyJournal(failures=3)
    writer = JournalWriter(journal)
    for n in range(10):
        writer.submit(JournalEntry(record(f"call-{n}")))
    writer.flush()
    writer.close()
    assert journal.stored == [f"call-{n}" for n in range(10)]
    assert writer.failed == 0
    assert any("retrying" in m for m in caplog.messages)


def test_closing_gives_up_on_a_dead_disk_and_names_the_calls_lost(monkeypatch, caplog):
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", (0.01,))
    journal = FlakyJournal(failures=10**9)
    writer = JournalWriter(journal)
    writer.submit(JournalEntry(record("call-1")))
    writer.submit(JournalEntry(record("call-2")))
    writer.close()
    assert writer.failed == 2 and journal.stored == []
    assert any("not written" in m and "call-1, call-2" in m for m in caplog.messages)


class PickyJournal(HeldJournal):
    """A journal that refuses one call's record, as a store refuses a malformed row."""

    def __init__(self) -> None:
        super().__init__()
        self.release.set()

    def write(self, entries):
        if any(e.record.call_id == "bad" for e in entries):
            raise JournalError("refused a call record")
        super().write(entries)


def test_a_record_the_store_refuses_does_not_take_its_batch_with_it(caplog):
    journal = PickyJournal()
    writer = JournalWriter(journal)
    for call_id in ("a", "bad", "b"):
        writer.submit(JournalEntry(record(call_id)))
    writer.close()
    assert sorted(journal.stored) == ["a", "b"]
    assert writer.failed == 1
    assert any("journal refused call bad" in m for m in caplog.messages)


def test_the_writer_to_an_sqlite_file_writes_everything_on_close(tmp_path):
    writer = JournalWriter.open(tmp_path / "var" / "journal.sqlite")
    for n in range(1200):
        writer.submit(JournalEntry(record(f"call-{n}", seconds=n)))
    writer.close()
    assert len(read_all(tmp_path / "var" / "journal.sqlite")) == 1200


# --------------------------------------------------------- calls that end badly, for real

MENU_FLOW = """
flow: t
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "Press 1 to hear a tone."
    choices: {1: tone}
    timeout: 30s
    on_fail: bye
  tone:
    type: play
    prompt: "Beep."
    next: bye
  bye:
    type: hangup
    prompt: "Goodbye."
"""


@pytest.fixture
def journaled_controller(tmp_path):
    """A controller whose calls go to a journal, and a simulated FreeSWITCH calling it."""
    project = build(tmp_path, MENU_FLOW)
    writer = JournalWriter.open(tmp_path / "journal.sqlite")
    controller = Controller(
        project,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", tmp_path),
        on_call_end=writer.submit_call,
        recordings_dir=tmp_path / "rec",
        route=lambda info: (project.flows["t"], None),
    )
    controller.start()
    sim = SimulatedFreeSWITCH(controller.address, virtual_time=False)
    yield controller, sim, writer
    sim.close()
    controller.drain(timeout=5)
    writer.close()


def wait_for_prompt(simulated_call) -> None:
    with gevent.Timeout(10):
        while not any("says:" in e.text for e in simulated_call.transcript):
            gevent.sleep(0.02)


def journaled(controller, writer, tmp_path) -> list[JournalEntry]:
    controller.drain(timeout=10)
    writer.close()
    return read_all(tmp_path / "journal.sqlite")


def vanishing_freeswitch(address) -> str:
    """A 'FreeSWITCH' that starts a call, takes the first command, then drops the connection."""
    call_uuid = str(uuid.uuid4())
    sock = socket.create_connection(address)
    parser = ESLCommandParser()

    def next_command() -> str:
        while True:
            commands = parser.feed(sock.recv(65536))
            if commands:
                return commands[0].name

    assert next_command() == "connect"
    sock.sendall(
        frames.encode_connect_reply(
            [
                ("Event-Name", "CHANNEL_DATA"),
                ("Unique-ID", call_uuid),
                ("Caller-Caller-ID-Number", "+15559990000"),
                ("Caller-Destination-Number", "100"),
            ]
        )
    )
    for _ in ("myevents", "nixevent", "linger"):
        next_command()
        sock.sendall(frames.encode_command_reply("+OK"))
    assert next_command() == "sendmsg"  # answer: the call is in its first node
    sock.close()
    return call_uuid


def test_freeswitch_vanishing_mid_call_still_leaves_a_closed_error_record(
    journaled_controller, tmp_path
):
    controller, sim, writer = journaled_controller
    call_uuid = gevent.spawn(vanishing_freeswitch, controller.address).get(timeout=10)
    [entry] = journaled(controller, writer, tmp_path)
    assert entry.record.call_id == call_uuid
    assert entry.record.outcome == "error"
    assert entry.record.ended_at is not None
    assert entry.record.path == ["menu"]


def test_a_caller_hanging_up_in_the_menu_leaves_an_ivr_hangup_record(
    journaled_controller, tmp_path
):
    controller, sim, writer = journaled_controller
    simulated = sim.place_call(None, dialed="100")
    wait_for_prompt(simulated)
    simulated.hangup()
    assert simulated.wait(timeout=10)
    [entry] = journaled(controller, writer, tmp_path)
    assert entry.record.outcome == "ivr_hangup"
    assert [(v.node, v.result) for v in entry.record.visits] == [("menu", None)]


def test_a_node_crashing_mid_call_leaves_an_error_record(
    journaled_controller, tmp_path, monkeypatch, caplog
):
    from ivr.nodes.play import Play

    def crash(self, call):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Play, "run", crash)
    caplog.set_level(logging.CRITICAL, logger="ivr")
    controller, sim, writer = journaled_controller
    simulated = sim.place_call(None, dialed="100")
    wait_for_prompt(simulated)
    simulated.press("1")
    assert simulated.wait(timeout=10)
    [entry] = journaled(controller, writer, tmp_path)
    assert entry.record.outcome == "error"
    assert entry.record.error == "RuntimeError: disk on fire"
    assert entry.record.path == ["menu", "tone"]


def _dead_pid() -> int:
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_calls_cut_by_a_controller_that_died_are_closed_as_lost_when_the_next_one_opens(
    tmp_path, caplog
):
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    here, dead = gethostname(), _dead_pid()
    journal.write(
        [
            OpenCall.of(record("cut"), here, dead),
            OpenCall.of(record("ended"), here, dead),
            OpenCall.of(record("running"), here, os.getpid()),
            OpenCall.of(record("elsewhere"), "another-host", dead),
            JournalEntry(record("ended")),
        ]
    )
    journal.close()

    caplog.set_level(logging.WARNING, logger="ivr.journal")
    JournalWriter.open(path).close()

    journal = SqliteJournal(path, create=False)
    calls = {e.record.call_id: e.record for e in journal.entries(CallFilter())}
    still_open = {row[0] for row in journal.db.execute("SELECT call_id FROM open_calls")}
    journal.close()
    assert sorted(calls) == ["cut", "ended"]
    assert calls["ended"].outcome == "completed"
    cut = calls["cut"]
    assert cut.outcome == "error"
    assert cut.error == (
        f"lost: the controller (process {dead} on {here}) stopped before the call's end was "
        "journaled"
    )
    assert (cut.flow, cut.caller, cut.started_at) == ("t", "+15550001111", START)
    # A controller still running, or one on another machine, keeps its calls open.
    assert still_open == {"running", "elsewhere"}
    assert any("1 call(s) cut by an earlier controller" in m for m in caplog.messages)
