"""Journal writes off the call's path: calls hand entries over; a thread of its own writes them.

A call that ends puts its entry in a bounded queue and goes on at once. One OS thread takes
entries in batches and writes each batch in one transaction, so a slow or failing disk only makes
the queue longer: no prompt of any call waits for it (the controller's calls are greenlets in
another thread; SQLite lets that thread run while it writes). When the queue is full, the call
handing over an entry waits for room (only that greenlet, cooperatively), so no entry is dropped
and memory stays bounded. A batch the store cannot take for a passing reason (disk full, database
locked) is kept and retried; ``close()`` writes everything handed over before it returns.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import gevent

from ivr.store.journal import (
    CallbackEntry,
    Journal,
    JournalEntry,
    JournalError,
    JournalUnavailable,
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
        self._queue: queue.Queue = queue.Queue(capacity)
        self._closing = threading.Event()
        self._closed = False
        self._behind = False
        self._thread = threading.Thread(target=self._run, name="ivr-journal", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Entries handed over and not written yet."""
        return self._queue.qsize()

    def submit(self, entry: JournalEntry | CallbackEntry) -> None:
        """Hand an entry over; returns at once unless the queue is full."""
        if self._closed:
            raise JournalError("the journal is closed")
        self._put(entry)

    @classmethod
    def open(cls, path: Path) -> JournalWriter:
        """A writer to the SQLite journal at ``path``, created (with its folder) when missing.

        Raises:
            JournalError: the file cannot be opened as a journal.
        """
        return cls(SqliteJournal(path))

    def submit_call(self, call: Call) -> None:
        """Hand over the entry of a finished call (the controller's ``on_call_end``)."""
        self.submit(JournalEntry.of(call.record, call.project))

    def submit_record(self, project: Project, record: CallRecord) -> None:
        """Hand over the entry of a finished call of ``project`` (a scenario run's call)."""
        self.submit(JournalEntry.of(record, project))

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
                if not self._behind:
                    self._behind = True
                    log.warning("the journal is behind: %d entries wait for the disk", self.pending)
                # Cooperative: other calls go on while this finished one waits for room.
                gevent.sleep(0.01)

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

    def _write(self, entries: list[JournalEntry | CallbackEntry]) -> None:
        attempt = 0
        while True:
            try:
                self.journal.write(entries)
                callbacks = sum(isinstance(e, CallbackEntry) for e in entries)
                self.written += len(entries) - callbacks
                self.callbacks_written += callbacks
                return
            except JournalUnavailable as exc:
                attempt += 1
                if self._closing.is_set() and attempt >= ATTEMPTS_WHEN_CLOSING:
                    self._lost(entries, exc)
                    return
                pause = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1]
                log.error("journal write failed (%s); retrying in %gs", exc, pause)
                time.sleep(pause)
            except Exception as exc:
                # One entry the store refuses must not take the rest of its batch with it.
                if len(entries) == 1:
                    log.exception("journal refused call %s", entries[0].call_id)
                    self._lost(entries, exc)
                    return
                for entry in entries:
                    self._write([entry])
                return

    def _lost(self, entries: list[JournalEntry | CallbackEntry], reason: Exception) -> None:
        self.failed += len(entries)
        log.error(
            "journal: %d entries not written (%s): %s",
            len(entries),
            reason,
            ", ".join(e.call_id for e in entries),
        )
