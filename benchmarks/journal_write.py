"""Whether journal writes keep up with a controller taking 100 calls per second, and then some.

Three runs on a fresh SQLite journal in a temporary folder, each with realistic records (a dozen
node visits, inputs, a lookup, a queue wait and an agent):

1. flat out: calls hand records to the ``JournalWriter`` as fast as they can; prints records
   written per second and how long a call waits to hand its record over;
2. paced: 100 calls per second for ``SECONDS`` seconds, from greenlets as the controller's calls
   are; prints how far behind the journal ever got and the hand-over times;
3. a slow disk: every write takes an extra 200 ms; the hand-over times show that calls do not
   wait for the disk.

Prints numbers; asserts nothing. Run: ``.venv/bin/python benchmarks/journal_write.py [SECONDS]``
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gevent

from ivr.runtime.record import CallRecord, Visit
from ivr.store import JournalEntry, JournalWriter, SqliteJournal

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PATH = [
    ("welcome", "play", "next"),
    ("open_check", "hours", "open"),
    ("main_menu", "menu", "1"),
    ("ask_account", "input", "next"),
    ("find_account", "lookup", "found"),
    ("tell_balance", "play", "next"),
    ("main_menu", "menu", "2"),
    ("cards", "menu", "1"),
    ("main_menu", "menu", "0"),
    ("operator", "queue", None),
]


def sample_record(n: int) -> CallRecord:
    """Call ``n``: the Acme Bank path, a masked PIN, a lookup, 40 s in the queue, 3 min talk."""
    started = START + dt.timedelta(milliseconds=10 * n)
    visits = [
        Visit("acme_bank", node, kind, started + dt.timedelta(seconds=4 * i), result)
        for i, (node, kind, result) in enumerate(PATH)
    ]
    queued = visits[-1].at
    return CallRecord(
        call_id=f"bench-{n}",
        caller=f"+1555{n:07d}",
        dialed="18005550100",
        flow="acme_bank",
        tenant="acme",
        started_at=started,
        answered_at=started,
        ended_at=queued + dt.timedelta(seconds=220),
        visits=visits,
        goals=["balance_told"],
        inputs=[("main_menu", "choice", "1"), ("ask_account", "account", "********")],
        lookups=[("find_account", "accounts", "found")],
        queue="retail",
        queued_at=queued,
        agent="1001",
        agent_answered_at=queued + dt.timedelta(seconds=40),
        talk_seconds=180.0,
        outcome="answered",
    )


def microseconds(seconds: list[float]) -> str:
    """Median, 99th percentile and worst of hand-over times, in microseconds."""
    ordered = sorted(seconds)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"hand-over median {statistics.median(ordered) * 1e6:.0f} us, "
        f"p99 {p99 * 1e6:.0f} us, max {ordered[-1] * 1e6:.0f} us"
    )


class SlowDisk(SqliteJournal):
    """A journal on a disk that takes 200 ms more for every write."""

    def write(self, entries):
        time.sleep(0.2)
        super().write(entries)


def flat_out(folder: Path, calls: int) -> None:
    """Hand ``calls`` records over as fast as possible; print the write rate."""
    writer = JournalWriter(SqliteJournal(folder / "flat.sqlite"))
    entries = [JournalEntry(sample_record(n), 20.0) for n in range(calls)]
    handover = []
    began = time.perf_counter()
    for entry in entries:
        t = time.perf_counter()
        writer.submit(entry)
        handover.append(time.perf_counter() - t)
    writer.close()
    elapsed = time.perf_counter() - began
    print(f"flat out: {calls} records in {elapsed:.2f} s = {calls / elapsed:,.0f} records/s")
    print(f"          {microseconds(handover)}")


def paced(folder: Path, seconds: float, journal_class=SqliteJournal, label="paced") -> None:
    """Finish 100 calls per second from greenlets for ``seconds``; print backlog and hand-over."""
    writer = JournalWriter(journal_class(folder / f"{label}.sqlite"))
    rate = 100
    handover: list[float] = []
    backlog = [0]

    def finished_call(n: int) -> None:
        t = time.perf_counter()
        writer.submit(JournalEntry(sample_record(n), 20.0))
        handover.append(time.perf_counter() - t)
        backlog[0] = max(backlog[0], writer.pending)

    began = time.perf_counter()
    greenlets = []
    for n in range(int(seconds * rate)):
        due = began + n / rate
        gevent.sleep(max(0.0, due - time.perf_counter()))
        greenlets.append(gevent.spawn(finished_call, n))
    gevent.joinall(greenlets)
    submitted = time.perf_counter() - began
    writer.close()
    drained = time.perf_counter() - began - submitted
    print(
        f"{label}: {len(handover)} calls at {rate}/s over {submitted:.1f} s; most waiting "
        f"{backlog[0]}; all written {drained * 1000:.0f} ms after the last call"
    )
    print(f"{' ' * len(label)}  {microseconds(handover)}")


def main() -> None:
    """Run the three benchmarks."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    with tempfile.TemporaryDirectory(prefix="ivr-journal-bench-") as tmp:
        folder = Path(tmp)
        flat_out(folder, 20_000)
        paced(folder, seconds)
        paced(folder, seconds, SlowDisk, "slow disk (+200 ms a write)")


if __name__ == "__main__":
    main()
