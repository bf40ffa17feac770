"""Journal writes off the call's path: calls hand entries over; a thread of its own writes them.

A call that ends puts its entry in a bounded queue and goes on at once. One OS thread takes
entries in batches and writes each batch in one transaction, so a slow or failing disk only makes
the queue longer: no prompt of any call waits for it (the controller's calls are greenlets in
another thread; SQLite lets that thread run while it writes). When the queue is full, the call
handing over an entry waits for room (only that greenlet, cooperatively), so no entry is dropped
for a slow disk and memory stays bounded. A batch the store cannot take for a passing reason (disk
full, read-only, database locked) is kept and retried, logged once when the failures begin and
once when writing works again. While the store fails, entries wait in memory up to the capacity;
past it, new entries are given up at once and counted (``failed``, the metric
``ivr_journal_lost_records_total``), logged once: a finished call waiting for a disk that may
stay full would hold its connection and its place under ``--max-calls`` for as long.
``close()`` writes everything handed over before it returns.

Each call is also noted when it starts (``submit_started``); opening the writer closes as lost
the calls an earlier controller on this host left open when it died (see ``OpenCall``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import gevent

from ivr.store.journal import (
    AgentSegment,
    CallbackEntry,
    Journal,
    JournalEntry,
    JournalError,
    JournalUnavailable,
    OpenCall,
    TenantEntry,
)
from ivr.store.sqlite import SqliteJournal

if TYPE_CHECKING:
    from ivr.acd.callbacks import CallbackResult
    from ivr.flow.compiler import Project
    from ivr.runtime.call import Call
    from ivr.runtime.record import CallRecord

log = logging.getLogger("ivr.journal")

CAPACITY = 10_000
"""Entries waiting for the disk before calls handing over more have to wait for room."""
BATCH = 500
"""Most entries written in one transaction."""
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Pauses between attempts at a batch the store could not take; the last one repeats."""
LINGER = 0.05
"""Seconds the thread lets entries gather after the first one before it writes them.

The thread shares the interpreter lock with the calls: each time it wakes it takes the lock
from them, and a call that then wants it back waits up to the switch interval. Waking once per
finished call (100 times a second at 100 calls per second) put up to 90 ms on a caller's next
prompt under load; waking every 50 ms writes the same entries in fewer transactions."""
ATTEMPTS_WHEN_CLOSING = 3
"""When closing, a batch that still fails after this many attempts is given up (and logged)."""

_STOP = object()


class JournalWriter:
    """Writes entries to ``journal`` from a thread of its own.

    Args:
        journal: the store; from now on only the writer's thread uses it.
        capacity: entries that may wait to be written.
        batch: most entries per transaction.
        linger: seconds entries gather before a write (cut short when the writer closes).
    """

    def __init__(
        self,
        journal: Journal,
        *,
        capacity: int = CAPACITY,
        batch: int = BATCH,
        linger: float = LINGER,
    ) -> None:
        self.journal = journal
        self.batch = batch
        self.linger = linger
        self.written = 0
        """Call entries written (callback entries are counted in ``callbacks_written``)."""
        self.callbacks_written = 0
        self.failed = 0
        """Entries given up: refused by the store, or lost while it kept failing."""
        self.host = socket.gethostname()
        self._counting = threading.Lock()  # ``failed`` is counted by calls and by the thread
        self._failing = False
        self._dropping = False
        self._queue: queue.Queue = queue.Queue(capacity)
        self._closing = threading.Event()
        self._closed = False
        self._behind = False
        self._projects: set[int] = set()  # whose tenants were handed over (submit_tenants)
        self._thread = threading.Thread(target=self._run, name="ivr-journal", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Entries handed over and not written yet."""
        return self._queue.qsize()

    def submit(self, entry: JournalEntry | CallbackEntry | OpenCall) -> None:
        """Hand an entry over; returns at once unless the queue is full and the disk slow.

        While the store is failing, an entry finding the queue full is given up and counted.
        """
        if self._closed:
            raise JournalError("the journal is closed")
        self._put(entry)

    @classmethod
    def open(cls, path: Path) -> JournalWriter:
        """A writer to the SQLite journal at ``path``, created (with its folder) when missing.

        The calls an earlier controller on this host left open when it died are closed first.

        Raises:
            JournalError: the file cannot be opened as a journal.
        """
        journal = SqliteJournal(path)
        try:
            lost = journal.close_lost_calls(socket.gethostname(), _running)
        except JournalError as exc:
            # Kept open: the next controller to start closes them once the disk takes it.
            log.error("journal: cannot close the calls an earlier run left open: %s", exc)
            lost = []
        if lost:
            log.warning(
                "journal: %d call(s) cut by an earlier controller that stopped without ending "
                "them, closed as lost: %s",
                len(lost),
                ", ".join(call.call_id for call in lost),
            )
        return cls(journal)

    def submit_tenants(self, project: Project) -> None:
        """Hand over the tenants of ``project`` (once per project), so reports name them."""
        if id(project) in self._projects:
            return
        self._projects.add(id(project))
        for tenant in project.tenants.values():
            zone = tenant.timezone.key if tenant.timezone is not None else ""
            self.submit(TenantEntry(tenant.id, tenant.name, zone))

    def submit_started(self, call: Call) -> None:
        """Note a call that starts (``CallServices.on_call_start``), until its entry comes."""
        self.submit(OpenCall.of(call.record, self.host, os.getpid()))

    def submit_call(self, call: Call) -> None:
        """Hand over the entry of a finished call (the controller's ``on_call_end``)."""
        self.submit(JournalEntry.of(call.record, call.project))

    def submit_record(self, project: Project, record: CallRecord) -> None:
        """Hand over the entry of a finished call of ``project`` (a scenario run's call)."""
        self.submit_tenants(project)
        self.submit(JournalEntry.of(record, project))

    def submit_segment(self, segment: AgentSegment) -> None:
        """Hand over an agent state segment as it starts or ends (the pool's ``on_segment``).

        The segment is marked with this controller's host and process, so that the next
        controller on this host can end the segments this one leaves open if it is killed.
        """
        self.submit(dataclasses.replace(segment, host=self.host, pid=os.getpid()))

    def submit_callback(self, call_id: str, result: CallbackResult) -> None:
        """Hand over what became of the callback call ``call_id`` asked for (so far).

        The controller's ``CallbackService.on_dialed`` after each dial of the caller's phone;
        ``ivr test`` once the case's simulated time has run out.
        """
        self.submit(
            CallbackEntry(
                call_id,
                result.number,
                result.status,
                result.agent or None,
                result.attempts,
                result.first_dialed_at,
                result.last_ended_at,
            )
        )

    def _put(self, item: object) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                if self._failing and item is not _STOP:
                    self._give_up(item)
                    return
                if not self._behind:
                    self._behind = True
                    log.warning("the journal is behind: %d entries wait for the disk", self.pending)
                # Cooperative: other calls go on while this finished one waits for room.
                gevent.sleep(0.01)

    def _give_up(self, item: JournalEntry | CallbackEntry | OpenCall) -> None:
        with self._counting:
            self.failed += 1
            first = not self._dropping
            self._dropping = True
        if first:
            log.error(
                "journal: the store keeps failing and %d entries wait for it: entries handed "
                "over from now on are lost (counted in ivr_journal_lost_records_total) until it "
                "writes again; the first is call %s",
                self.pending,
                item.call_id,
            )

    def flush(self) -> None:
        """Wait until every entry handed over so far is written (or given up)."""
        self._queue.join()

    def close(self) -> None:
        """Write what was handed over, stop the thread and close the store."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._put(_STOP)
        self._thread.join()
        self.journal.close()
        log.info("journal closed: %d entries written, %d lost", self.written, self.failed)

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            if items[0] is not _STOP:
                self._closing.wait(self.linger)
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [item for item in items if item is not _STOP]
            try:
                if entries:
                    self._write(entries)
            finally:
                for _ in items:
                    self._queue.task_done()
            if self._behind and self._queue.empty():
                self._behind = False
                log.warning("the journal has caught up")
            if len(entries) < len(items):
                return

    def _write(self, entries: list[JournalEntry | CallbackEntry | OpenCall]) -> None:
        attempt = 0
        while True:
            try:
                self.journal.write(entries)
            except JournalUnavailable as exc:
                attempt += 1
                if self._closing.is_set() and attempt >= ATTEMPTS_WHEN_CLOSING:
                    self._lost(entries, exc)
                    return
                pause = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1]
                if not self._failing:
                    self._failing = True
                    log.error(
                        "journal write failed (%s); entries are kept and retrying in %gs, "
                        "until the store takes them",
                        exc,
                        pause,
                    )
                else:
                    log.debug("journal write failed again (%s); retrying in %gs", exc, pause)
                time.sleep(pause)
                continue
            except Exception as exc:
                # One entry the store refuses must not take the rest of its batch with it.
                if len(entries) == 1:
                    log.exception("journal refused call %s", entries[0].call_id)
                    self._lost(entries, exc)
                    return
                for entry in entries:
                    self._write([entry])
                return
            self._written(entries)
            return

    def _written(self, entries: list[JournalEntry | CallbackEntry | OpenCall]) -> None:
        self.written += sum(isinstance(e, JournalEntry) for e in entries)
        self.callbacks_written += sum(isinstance(e, CallbackEntry) for e in entries)
        if self._failing:
            with self._counting:
                self._failing = self._dropping = False
                lost = self.failed
            log.warning("journal: the store takes entries again (%d lost so far)", lost)

    def _lost(
        self, entries: list[JournalEntry | CallbackEntry | OpenCall], reason: Exception
    ) -> None:
        with self._counting:
            self.failed += len(entries)
        log.error(
            "journal: %d entries not written (%s): %s",
            len(entries),
            reason,
            ", ".join(e.call_id for e in entries),
        )


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (a signal 0 reaches it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it runs
    return True
