"""Where queue and agent state outlives the controller: agent states, callbacks, handle times.

``AcdStore`` is the interface; ``SqliteAcdStore`` keeps it in one SQLite file (WAL mode, so
``ivr agents status`` reads while the controller writes). A PostgreSQL store implements the same
methods with the same three tables: nothing here is specific to SQLite but the connection.

The pool writes through the store on every change, synchronously: the writes are a few hundred
bytes, and a restart must find every agent state and every scheduled callback as they were.

A write the disk refuses (full, read-only, failing) never reaches the call that made the change:
the pool's state in memory is the live one, the store only its copy for a restart. The change is
kept and written with the next write that succeeds (an agent's or a callback's latest state;
handle times, which only refine estimates, are not kept); the failures are logged when they
begin and when writing works again, and counted in ``failed_writes``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import sqlite3
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ivr.acd.estimate import RECENT_CALLS
from ivr.acd.model import NEVER, AgentState, Callback, Waiting
from ivr.errors import IvrError

log = logging.getLogger("ivr.acd")

SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        since TEXT,
        reason TEXT NOT NULL DEFAULT '',
        call_id TEXT NOT NULL DEFAULT '',
        pending TEXT NOT NULL DEFAULT '',
        until TEXT,
        next_state TEXT NOT NULL DEFAULT 'available',
        idle_since TEXT,
        calls INTEGER NOT NULL DEFAULT 0,
        missed INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS callbacks (
        id TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        seq INTEGER NOT NULL,
        entry TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS handle_times (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        at TEXT NOT NULL,
        seconds REAL NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS handle_times_by_queue ON handle_times (queue, id)",
]


class StoreError(IvrError):
    """The store cannot be opened or read (a corrupt file, no permission)."""


@dataclass
class AgentRow:
    """An agent's state as kept in the store."""

    id: str
    state: str
    since: dt.datetime = NEVER
    reason: str = ""
    call_id: str = ""
    pending: str = ""
    until: dt.datetime | None = None
    then: str = "available"
    idle_since: dt.datetime = NEVER
    calls: int = 0
    missed: int = 0


@dataclass
class SavedState:
    """Everything a store keeps, as the pool takes it back after a restart."""

    agents: list[AgentRow] = field(default_factory=list)
    callbacks: list[Waiting] = field(default_factory=list)
    handle_times: dict[str, list[float]] = field(default_factory=dict)


class AcdStore(ABC):
    """The interface of a store for queue and agent state."""

    @abstractmethod
    def load(self) -> SavedState:
        """Everything kept: agent states, callbacks in line, each queue's recent handle times."""

    @abstractmethod
    def save_agent(self, agent: AgentState) -> None:
        """Keep an agent's state (replacing what was kept)."""

    @abstractmethod
    def save_callback(self, entry: Waiting) -> None:
        """Keep a callback and its place in line (replacing what was kept)."""

    @abstractmethod
    def delete_callback(self, callback_id: str) -> None:
        """Forget a callback that was made or given up."""

    @abstractmethod
    def add_handle_time(self, queue: str, at: dt.datetime, seconds: float) -> None:
        """Keep one handled call's length (only the latest few per queue are kept)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store."""


class SqliteAcdStore(AcdStore):
    """The store in one SQLite file (``:memory:`` for none).

    Raises:
        StoreError: the file cannot be opened or is not a store.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=2000")
            for statement in SCHEMA:
                self._db.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the queue store {self.path}: {exc}{read_only_note(self.path)}"
            ) from exc
        self.failed_writes = 0
        """Writes the disk refused (each change is retried with the next write)."""
        self._unsaved: dict[object, list[tuple[str, tuple]]] = {}
        self._failing = False
        self._handle_times = itertools.count()

    def load(self) -> SavedState:
        try:
            agents = [
                AgentRow(
                    row[0],
                    row[1],
                    _time(row[2]) or NEVER,
                    row[3],
                    row[4],
                    row[5],
                    _time(row[6]),
                    row[7],
                    _time(row[8]) or NEVER,
                    row[9],
                    row[10],
                )
                for row in self._db.execute(
                    "SELECT id, state, since, reason, call_id, pending, until, next_state, "
                    "idle_since, calls, missed FROM agents"
                )
            ]
            callbacks = [
                _entry(json.loads(text))
                for (text,) in self._db.execute("SELECT entry FROM callbacks ORDER BY seq")
            ]
            handle_times: dict[str, list[float]] = {}
            for queue, seconds in self._db.execute(
                "SELECT queue, seconds FROM handle_times ORDER BY id"
            ):
                handle_times.setdefault(queue, []).append(seconds)
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"cannot read the queue store {self.path}: {exc}") from exc
        return SavedState(agents, callbacks, handle_times)

    def save_agent(self, agent: AgentState) -> None:
        self._write(
            ("agent", agent.id),
            "INSERT OR REPLACE INTO agents (id, state, since, reason, call_id, pending, until, "
            "next_state, idle_since, calls, missed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agent.id,
                agent.state,
                _text(agent.since),
                agent.reason,
                agent.call_id,
                agent.pending,
                _text(agent.until),
                agent.then,
                _text(agent.idle_since),
                agent.calls,
                agent.missed,
            ),
        )

    def save_callback(self, entry: Waiting) -> None:
        assert entry.callback is not None
        self._write(
            ("callback", entry.callback.id),
            "INSERT OR REPLACE INTO callbacks (id, queue, seq, entry) VALUES (?, ?, ?, ?)",
            (entry.callback.id, entry.queue, entry.seq, json.dumps(_entry_data(entry))),
        )

    def delete_callback(self, callback_id: str) -> None:
        # The same key as its saves: a delete not written yet replaces a save not written yet.
        self._write(("callback", callback_id), "DELETE FROM callbacks WHERE id = ?", (callback_id,))

    def add_handle_time(self, queue: str, at: dt.datetime, seconds: float) -> None:
        self._write(
            ("handle time", next(self._handle_times)),
            "INSERT INTO handle_times (queue, at, seconds) VALUES (?, ?, ?)",
            (queue, _text(at), seconds),
            "DELETE FROM handle_times WHERE queue = ? AND id NOT IN "
            "(SELECT id FROM handle_times WHERE queue = ? ORDER BY id DESC LIMIT ?)",
            (queue, queue, RECENT_CALLS),
            keep=False,
        )

    def _write(self, key: object, *statements: str | tuple, keep: bool = True) -> None:
        """Run ``statements`` (SQL, parameters, ...) after the changes still unwritten."""
        pairs = list(zip(statements[::2], statements[1::2], strict=True))
        if keep:
            self._unsaved.pop(key, None)  # to the end: written after what it replaces
            self._unsaved[key] = pairs
        try:
            for kept, writes in list(self._unsaved.items()):
                self._run(writes)
                del self._unsaved[kept]
            if not keep:
                self._run(pairs)
        except sqlite3.Error as exc:
            self.failed_writes += 1
            if not self._failing:
                log.error(
                    "the queue store %s refused a write (%s): agents and callbacks go on in "
                    "memory; changes are kept and written once it takes them",
                    self.path,
                    exc,
                )
            self._failing = True
            return
        if self._failing:
            self._failing = False
            log.warning(
                "the queue store %s takes writes again (%d refused meanwhile)",
                self.path,
                self.failed_writes,
            )

    def _run(self, writes: list[tuple[str, tuple]]) -> None:
        for sql, params in writes:
            self._db.execute(sql, params)

    def close(self) -> None:
        self._db.close()


def read_only_note(path: Path | str) -> str:
    """`` (its file system is read-only)`` when that is why ``path`` cannot be written; else ""."""
    folder = Path(path).parent
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return ""
    return " (its file system is read-only)" if read_only else ""


def _text(moment: dt.datetime | None) -> str | None:
    if moment is None or moment == NEVER:
        return None
    return moment.isoformat()


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _entry_data(entry: Waiting) -> dict:
    return {
        "priority": entry.priority,
        "arrived": _text(entry.arrived),
        "seq": entry.seq,
        "call_id": entry.call_id,
        "queue": entry.queue,
        "wanted": sorted(entry.wanted),
        "entered": _text(entry.entered),
        "not_before": _text(entry.not_before),
        "callback": asdict(entry.callback),
    }


def _entry(data: dict) -> Waiting:
    return Waiting(
        priority=data["priority"],
        arrived=_time(data["arrived"]) or NEVER,
        seq=data["seq"],
        call_id=data["call_id"],
        queue=data["queue"],
        wanted=frozenset(data["wanted"]),
        entered=_time(data["entered"]) or NEVER,
        not_before=_time(data["not_before"]),
        callback=Callback(**data["callback"]),
    )
