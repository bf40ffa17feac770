"""The call journal's interface: what any journal store (SQLite, PostgreSQL) must do.

A journal keeps one entry per call: the call's closed ``CallRecord`` and the queue's answer-time
target at the time of the call, so service levels stay as they were when the call was taken even
after ``queues.yaml`` changes. Writers append entries in batches; reports read them back by time,
tenant and queue.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from ivr.flow.compiler import Project
from ivr.runtime.record import CallRecord


class JournalError(Exception):
    """The journal cannot be opened, read or written (a missing or foreign file, a bad schema)."""


class JournalUnavailable(JournalError):
    """A write failed for a reason that may pass (disk full, database locked); retry later."""


@dataclass
class JournalEntry:
    """One call as the journal keeps it.

    Attributes:
        record: the call's closed record (outcome decided, inputs already masked).
        service_level: the answer-time target in seconds of the queue the caller waited in,
            as configured when the call was taken; None when the caller never queued.
    """

    record: CallRecord
    service_level: float | None = None

    @classmethod
    def of(cls, record: CallRecord, project: Project) -> JournalEntry:
        """The entry for a finished call of ``project``, with its queue's target."""
        queue = project.queues.get(record.queue) if record.queue else None
        return cls(record, queue.service_level if queue is not None else None)


@dataclass(frozen=True)
class CallFilter:
    """Which calls a report reads: started in [start, end), of a tenant, through a queue.

    Each field left None does not filter.
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    tenant: str | None = None
    queue: str | None = None


class Journal(abc.ABC):
    """A store of call journal entries.

    Implementations create or migrate their schema when opened. ``write`` is called from one
    writer thread at a time (see ``JournalWriter``); reads may run in other processes while it
    writes.
    """

    @abc.abstractmethod
    def write(self, entries: list[JournalEntry]) -> None:
        """Store the entries in one transaction.

        An entry whose call id is already in the journal replaces the earlier one: a call has
        exactly one record.

        Raises:
            JournalUnavailable: the store failed in a way that may pass; nothing was written.
            JournalError: the store refused the entries.
        """

    @abc.abstractmethod
    def entries(self, where: CallFilter) -> Iterator[JournalEntry]:
        """The entries matching ``where``, oldest call first, read as the iterator advances."""

    @abc.abstractmethod
    def tenants(self) -> list[str]:
        """Every tenant id that appears in the journal, sorted."""

    @abc.abstractmethod
    def queues(self) -> list[str]:
        """Every queue name that appears in the journal, sorted."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; the journal is not used afterwards."""
