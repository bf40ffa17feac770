"""The journal and the queue store on a full disk: calls go on, losses are counted, writes resume.

The disk is a real one: a 1 MiB tmpfs mounted for the test (skipped, saying why, where mounting
is not permitted), filled with a file until the kernel says no space is left, then emptied again.
A store on a read-only file system is refused when ``ivr serve`` starts, with the reason.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowkit import build, hear

from ivr.acd import AgentPool, SqliteAcdStore
from ivr.flow.config import AgentConfig, QueueConfig
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.simulator import SimulatedFreeSWITCH
from ivr.store import CallFilter, JournalWriter, SqliteJournal
from ivr.store import writer as writer_module

FLOW = """
flow: t
start: hello
nodes:
  hello: {type: play, prompt: "Hello.", next: bye}
  bye: {type: hangup, prompt: "Goodbye."}
"""
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


class SmallDisk:
    """A 1 MiB tmpfs at ``path`` that the test fills up and empties."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Write until the kernel refuses: no byte is left for anyone."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)

    def empty(self) -> None:
        self.filler.unlink()


def _mount(path: Path, options: str) -> None:
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip() or 'refused'})")


@pytest.fixture
def disk(tmp_path) -> Iterator[SmallDisk]:
    """A 1 MiB file system of the test's own (needs the right to mount)."""
    path = tmp_path / "disk"
    path.mkdir()
    _mount(path, "size=1m")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", (0.05,))


def _serve(tmp_path, writer: JournalWriter) -> tuple[Controller, SimulatedFreeSWITCH]:
    project = build(tmp_path, FLOW)
    controller = Controller(
        project,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", tmp_path),
        on_call_end=writer.submit_call,
        recordings_dir=tmp_path / "rec",
        route=lambda info: (project.flows["t"], None),
    )
    controller.services.on_call_start = writer.submit_started
    controller.start()
    return controller, SimulatedFreeSWITCH(controller.address)


def _calls(sim: SimulatedFreeSWITCH, count: int) -> list[str]:
    """``count`` callers who each hear the flow to its goodbye; returns what each heard last."""
    calls = [sim.place_call([hear("Goodbye")]) for _ in range(count)]
    for call in calls:
        assert call.wait(timeout=20)
    return [
        next(e.text for e in reversed(c.transcript) if "says:" in e.text).split("  [")[0]
        for c in calls
    ]


def test_on_a_full_disk_calls_go_on_the_lost_entries_are_counted_once_and_writing_resumes(
    disk, tmp_path, fast_retries, caplog
):
    writer = JournalWriter(SqliteJournal(disk.path / "journal.sqlite"), capacity=4, batch=1)
    controller, sim = _serve(tmp_path, writer)
    try:
        disk.fill()
        # Every caller hears the flow out while the journal cannot write a byte.
        assert _calls(sim, 6) == ["says: Goodbye."] * 6
        lost_while_full = writer.failed
        assert lost_while_full > 0  # the entries past the four waiting in memory
        gave_up = [m for m in caplog.messages if "ivr_journal_lost_records_total" in m]
        assert len(gave_up) == 1
        assert sum("journal write failed" in m for m in caplog.messages) == 1

        disk.empty()
        writer.flush()  # what waited in memory is written at the next retry
        assert any("the store takes entries again" in m for m in caplog.messages)
        assert _calls(sim, 1) == ["says: Goodbye."]
        writer.flush()
        assert writer.failed == lost_while_full
    finally:
        sim.close()
        controller.drain(timeout=5)
        writer.close()
    journal = SqliteJournal(disk.path / "journal.sqlite", create=False)
    kept = [e.record for e in journal.entries(CallFilter())]
    still_open = {row[0] for row in journal.db.execute("SELECT call_id FROM open_calls")}
    journal.close()
    # The call after the space came back is journaled; what waited in memory was written too:
    # notes of calls whose own entries were lost, left for the next start to close as lost.
    assert [(r.call_id, r.outcome) for r in kept][-1] == (sim.calls[-1].uuid, "completed")
    full = {c.uuid for c in sim.calls[:6]}
    assert still_open and still_open <= full
    assert len(kept) - 1 + len(still_open) + lost_while_full >= 6


def test_calls_noted_while_the_disk_was_full_are_not_left_open(disk, tmp_path, fast_retries):
    writer = JournalWriter(SqliteJournal(disk.path / "journal.sqlite"), capacity=100)
    controller, sim = _serve(tmp_path, writer)
    try:
        disk.fill()
        _calls(sim, 3)
        disk.empty()
        writer.flush()
    finally:
        sim.close()
        controller.drain(timeout=5)
        writer.close()
    assert writer.failed == 0
    journal = SqliteJournal(disk.path / "journal.sqlite", create=False)
    assert [e.record.outcome for e in journal.entries(CallFilter())] == ["completed"] * 3
    assert journal.db.execute("SELECT count(*) FROM open_calls").fetchone()[0] == 0
    journal.close()


def test_the_queue_store_on_a_full_disk_keeps_agents_working_and_writes_their_state_later(
    disk, caplog
):
    agents = {"a1": AgentConfig("a1", "Anna", "user/a1")}
    queues = {"help": QueueConfig("help", agents=["a1"])}
    store = SqliteAcdStore(disk.path / "acd.sqlite")
    pool = AgentPool(agents, queues, store=store)
    pool.login("a1", NOW)
    disk.fill()
    caplog.set_level(logging.ERROR, logger="ivr.acd")
    for minute in range(1, 40):
        pool.take_break("a1", NOW + dt.timedelta(minutes=minute), until=NOW + dt.timedelta(hours=5))
        pool.login("a1", NOW + dt.timedelta(minutes=minute, seconds=30))
    pool.logout("a1", NOW + dt.timedelta(hours=1))
    assert pool.agents["a1"].state == "logged_out"  # the pool went on in memory
    assert store.failed_writes == 79  # every change made while the disk was full
    assert sum("refused a write" in m for m in caplog.messages) == 1

    disk.empty()
    pool.login("a1", NOW + dt.timedelta(hours=2))
    pool.logout("a1", NOW + dt.timedelta(hours=3))
    store.close()
    [kept] = SqliteAcdStore(disk.path / "acd.sqlite").load().agents
    assert (kept.id, kept.state, kept.since) == ("a1", "logged_out", NOW + dt.timedelta(hours=3))


@pytest.fixture
def read_only(tmp_path) -> Path:
    """A read-only file system holding an empty folder."""
    path = tmp_path / "ro"
    path.mkdir()
    _mount(path, "size=1m,ro")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize(
    ("option", "name", "says"),
    [
        ("--journal", "journal.sqlite", "--journal: "),
        ("--store", "acd.sqlite", "--store: cannot open the queue store"),
    ],
)
def test_ivr_serve_refuses_a_store_on_a_read_only_file_system_with_the_reason(
    tmp_path, read_only, option, name, says
):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flow.yaml").write_text(FLOW.replace("flow: t", "flow: default"))
    others = {"--journal": tmp_path / "journal.sqlite", "--store": tmp_path / "acd.sqlite"}
    others[option] = read_only / name
    done = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "serve", str(flows), "--listen", "127.0.0.1:0"]
        + [f"--journal={others['--journal']}", f"--store={others['--store']}", "--api=off"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert says in done.stderr and "read-only" in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr
