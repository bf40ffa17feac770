"""The call journal: one record per call, stored off the call's path, read back by reports.

``Journal`` is the interface a store implements (``SqliteJournal`` here; a PostgreSQL journal
implements the same methods). ``JournalWriter`` hands entries to a store from a thread of
its own, so calls never wait for the disk.
"""

from ivr.store.journal import (
    AgentSegment,
    AgentTime,
    CallbackEntry,
    CallFilter,
    Journal,
    JournalEntry,
    JournalError,
    JournalUnavailable,
    OpenCall,
    TenantEntry,
)
from ivr.store.sqlite import SqliteJournal
from ivr.store.writer import JournalWriter

__all__ = [
    "AgentSegment",
    "AgentTime",
    "CallbackEntry",
    "CallFilter",
    "Journal",
    "JournalEntry",
    "JournalError",
    "JournalUnavailable",
    "JournalWriter",
    "OpenCall",
    "SqliteJournal",
    "TenantEntry",
]
