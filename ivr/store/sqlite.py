"""The call journal in one SQLite file, in WAL mode so reports read while the controller writes.

Tables: ``calls`` (one row per call, with its outcome and times), and per call its ``visits``
(the node path with timestamps and result labels), ``goals``, ``inputs`` (masked as the call
recorded them) and ``lookups``; ``callbacks`` (schema 2), one row per callback keyed by the id of
the call that asked for it, written when it is dialed and read back with that call; a visit's
``notes`` (schema 3), what its node wrote down about it, as a JSON object; ``open_calls``
(schema 4), the calls started and not ended yet, with the host and process of their controller,
so a controller killed mid-call leaves them to be closed as lost (``close_lost_calls``);
``recordings`` (schema 5), each recording of a call with its file's length, channels, sha256, the
spans masked and when retention lets it go, its status changed later by the purge;
``agent_states`` (schema 6), the agent state log: one row per stretch of time an agent spent in
one state, open (no ``ended_at``) while it lasts, with the host and process that wrote it;
``tenants`` (schema 7), each tenant's name and time zone as tenants.yaml last said. Times are
stored as UTC text in one fixed-width ISO 8601 form, so they sort and compare as text. The schema
version is SQLite's ``user_version``; opening a journal applies the migrations it has not had yet.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from ivr.acd.store import read_only_note
from ivr.runtime.record import OUTCOMES, CallRecord, Recording, Visit
from ivr.store.journal import (
    AgentSegment,
    AgentTime,
    CallbackEntry,
    CallFilter,
    CallSums,
    Journal,
    JournalEntry,
    JournalError,
    JournalUnavailable,
    NodeSums,
    OpenCall,
    SurveySums,
    TenantEntry,
)

MIGRATIONS: list[list[str]] = [
    [
        """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL UNIQUE,
            flow TEXT NOT NULL,
            tenant TEXT,
            caller TEXT NOT NULL,
            dialed TEXT NOT NULL,
            outcome TEXT NOT NULL,
            started_at TEXT NOT NULL,
            answered_at TEXT,
            queued_at TEXT,
            agent_answered_at TEXT,
            ended_at TEXT NOT NULL,
            queue TEXT,
            service_level REAL,
            wait_seconds REAL,
            agent TEXT,
            talk_seconds REAL NOT NULL DEFAULT 0,
            transferred_to TEXT,
            voicemail TEXT,
            callback TEXT,
            hung_up_by_caller INTEGER NOT NULL DEFAULT 0,
            in_queue_at_end INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )
        """,
        "CREATE INDEX calls_by_start ON calls (started_at)",
        "CREATE INDEX calls_by_tenant ON calls (tenant, started_at)",
        "CREATE INDEX calls_by_queue ON calls (queue, started_at)",
        """
        CREATE TABLE visits (
            call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            flow TEXT NOT NULL,
            node TEXT NOT NULL,
            type TEXT NOT NULL,
            at TEXT NOT NULL,
            result TEXT,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (call, seq)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE goals (
            call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            goal TEXT NOT NULL,
            PRIMARY KEY (call, seq)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE inputs (
            call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            node TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (call, seq)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE lookups (
            call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            node TEXT NOT NULL,
            source TEXT NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (call, seq)
        ) WITHOUT ROWID
        """,
    ],
    [
        # Keyed by the call's id, not its row: a call record rewritten keeps its callback.
        """
        CREATE TABLE callbacks (
            call_id TEXT PRIMARY KEY,
            number TEXT NOT NULL,
            status TEXT NOT NULL,
            agent TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            first_dialed_at TEXT,
            last_ended_at TEXT
        ) WITHOUT ROWID
        """,
    ],
    ["ALTER TABLE visits ADD COLUMN notes TEXT NOT NULL DEFAULT '{}'"],
    [
        """
        CREATE TABLE open_calls (
            call_id TEXT PRIMARY KEY,
            flow TEXT NOT NULL,
            tenant TEXT,
            caller TEXT,
            dialed TEXT,
            started_at TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
    ],
    [
        """
        CREATE TABLE recordings (
            call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            path TEXT NOT NULL,
            owner TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            stereo INTEGER NOT NULL,
            masked TEXT NOT NULL DEFAULT '[]',
            seconds REAL,
            channels INTEGER,
            sha256 TEXT,
            keep_until TEXT,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (call, seq)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX recordings_by_path ON recordings (path)",
    ],
    [
        """
        CREATE TABLE agent_states (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            call_id TEXT NOT NULL DEFAULT '',
            queue TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            ended_at TEXT,
            next_state TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL DEFAULT 0,
            start_s REAL NOT NULL,
            end_s REAL
        ) WITHOUT ROWID
        """,
        # The times again as seconds since the epoch: reports add millions of them up.
        "CREATE INDEX agent_states_by_start ON agent_states (start_s)",
        "CREATE INDEX agent_states_open ON agent_states (host, pid) WHERE ended_at IS NULL",
        "CREATE INDEX agent_states_by_call ON agent_states (call_id) WHERE state = 'wrap_up'",
        # The agent's wrap-up after an answered call, kept with the call for AHT.
        "ALTER TABLE calls ADD COLUMN wrap_up_seconds REAL NOT NULL DEFAULT 0",
    ],
    [
        """
        CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            timezone TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID
        """,
    ],
    [
        # For reports: each GROUP BY of the node funnel and the agents' sums read in index
        # order, without sorting a month's visits (see benchmarks/report_million.py).
        "CREATE INDEX IF NOT EXISTS visits_by_node ON visits (flow, node, call, seq)",
        "CREATE INDEX IF NOT EXISTS visits_by_result ON visits (flow, node, type, result)",
        "CREATE INDEX IF NOT EXISTS calls_by_agent ON calls "
        "(agent, agent_answered_at, talk_seconds, wrap_up_seconds)",
        "CREATE INDEX IF NOT EXISTS calls_by_quarter ON calls (substr(started_at, 1, 14), "
        "CAST(substr(started_at, 15, 2) AS INTEGER) / 15, tenant, queue, queued_at IS NOT NULL, "
        "wait_seconds IS NOT NULL, service_level)",
        # The survey visits among millions of others (survey_sums).
        "CREATE INDEX IF NOT EXISTS visits_surveys ON visits (call) WHERE type = 'survey'",
    ],
]
"""Schema changes in order; the journal's ``user_version`` counts those applied."""

FEW_CALLS = 10
"""A report's filter keeping fewer than one in this many calls reads its calls' visits first."""
READ_BATCH = 500
"""Calls read per query while iterating, with their visits, goals, inputs and lookups."""
QUARTER = 900
"""Agent time is cut into quarter hours (seconds) for intervals: every time zone's offset is a
whole number of them, so 15/30/60-minute and day intervals in any zone are sums of UTC quarters."""

_CALL_COLUMNS = (
    "id, call_id, flow, tenant, caller, dialed, outcome, started_at, answered_at, queued_at, "
    "agent_answered_at, ended_at, queue, service_level, wait_seconds, agent, talk_seconds, "
    "transferred_to, voicemail, callback, hung_up_by_caller, in_queue_at_end, error"
)


_GROUP = (
    "substr(c.started_at, 1, 14), CAST(substr(c.started_at, 15, 2) AS INTEGER) / 15, c.tenant, "
    "c.queue, c.queued_at IS NOT NULL, c.wait_seconds IS NOT NULL, c.service_level"
)
"""A call's group for ``call_sums``: its UTC hour (as text) and quarter, tenant, queue, whether
it entered the queue and left it after a known wait, and its target. ``calls_by_quarter``
(schema 8) is an index on these very expressions, so the groups are read in its order, with no
sort of every call."""
_KNOWN = ", ".join(f"'{outcome}'" for outcome in OUTCOMES)
_ANSWERED = "c.agent_answered_at IS NOT NULL"
_ABANDONED = "c.agent_answered_at IS NULL AND c.outcome = 'abandoned'"
_SUMS = ", ".join(
    [f"sum(CASE WHEN c.outcome = '{outcome}' THEN 1 ELSE 0 END)" for outcome in OUTCOMES]
    + [
        f"sum(CASE WHEN {_ANSWERED} THEN 1 ELSE 0 END)",
        f"sum(CASE WHEN {_ANSWERED} AND c.wait_seconds <= coalesce(c.service_level, "
        ":default_target) THEN 1 ELSE 0 END)",
        f"sum(CASE WHEN {_ANSWERED} THEN c.wait_seconds ELSE 0.0 END)",
        f"sum(CASE WHEN {_ANSWERED} THEN c.talk_seconds ELSE 0.0 END)",
        f"sum(CASE WHEN {_ANSWERED} THEN c.wrap_up_seconds ELSE 0.0 END)",
        f"sum(CASE WHEN {_ABANDONED} AND c.wait_seconds < :short THEN 1 ELSE 0 END)",
        f"sum(CASE WHEN {_ABANDONED} AND c.wait_seconds >= :short THEN c.wait_seconds "
        "ELSE 0.0 END)",
        "max(c.wait_seconds)",
        f"sum(CASE WHEN c.outcome NOT IN ({_KNOWN}) THEN 1 ELSE 0 END)",
    ]
)
"""What ``call_sums`` adds up per group: calls per known outcome, then the queue figures (of
use only in the groups of queued calls), then the calls of other outcomes."""


def _notes(visit: Visit) -> str:
    return json.dumps(visit.notes, ensure_ascii=False, sort_keys=True)


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.astimezone()  # a naive time is the machine's local time
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _wrap_up_seconds(seg: AgentSegment) -> float:
    return (seg.ended_at - seg.started_at).total_seconds()


def _condition(where: CallFilter) -> tuple[str, dict]:
    """SQL keeping the calls (table ``c``) matching ``where``, and its named parameters."""
    conditions, params = ["1 = 1"], {}
    if where.start is not None:
        conditions.append("c.started_at >= :start")
        params["start"] = _time(where.start)
    if where.end is not None:
        conditions.append("c.started_at < :end")
        params["end"] = _time(where.end)
    if where.tenant is not None:
        conditions.append("c.tenant = :tenant")
        params["tenant"] = where.tenant
    if where.queue is not None:
        conditions.append("c.queue = :queue")
        params["queue"] = where.queue
    return " AND ".join(conditions), params


def _parse(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


class SqliteJournal(Journal):
    """A journal in one SQLite file.

    Args:
        path: the journal file.
        create: make the file (and its folder) when missing; when False a missing file is a
            ``JournalError``, as a report on a mistyped path should be.

    Raises:
        JournalError: the file cannot be opened, is not a journal, or was written by a newer
            version of ivr.
    """

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise JournalError(f"{self.path}: no journal there")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(f"{self.path}: cannot create its folder: {exc}") from exc
        elif not self.path.is_file():
            raise JournalError(f"{self.path}: not a file")
        try:
            # Used by one thread at a time: the writer thread, or the reading command.
            self.db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except sqlite3.Error as exc:
            raise JournalError(
                f"{self.path}: cannot open the journal: {exc}{read_only_note(self.path)}"
            ) from exc
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise JournalError(f"{self.path}: SQLite cannot use WAL mode on this file system")
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            self.db.close()
            raise JournalError(
                f"{self.path}: not a readable call journal: {exc}{read_only_note(self.path)}"
            ) from exc
        except JournalError:
            self.db.close()
            raise

    @property
    def schema_version(self) -> int:
        """How many of ``MIGRATIONS`` the file has had."""
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        if self.schema_version == len(MIGRATIONS):
            return
        # IMMEDIATE: a second process opening the same new file waits, then sees it migrated.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version
            if version > len(MIGRATIONS):
                raise JournalError(
                    f"{self.path}: written by a newer ivr (schema {version}; this one knows "
                    f"{len(MIGRATIONS)})"
                )
            if version == 0 and self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise JournalError(f"{self.path}: an SQLite file, but not a call journal")
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")
            self.db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    # ------------------------------------------------------------------ writing

    def write(
        self, entries: list[JournalEntry | CallbackEntry | OpenCall | AgentSegment | TenantEntry]
    ) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"{self.path}: {exc}") from exc
        try:
            for entry in entries:
                if isinstance(entry, CallbackEntry):
                    self._insert_callback(entry)
                elif isinstance(entry, OpenCall):
                    self._insert_open(entry)
                elif isinstance(entry, AgentSegment):
                    self._insert_segment(entry)
                elif isinstance(entry, TenantEntry):
                    self.db.execute(
                        "INSERT OR REPLACE INTO tenants (id, name, timezone) VALUES (?, ?, ?)",
                        (entry.id, entry.name, entry.timezone),
                    )
                else:
                    self._insert(entry)
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise JournalUnavailable(f"{self.path}: {exc}") from exc
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self._rollback()
            raise JournalError(f"{self.path}: refused a call record: {exc}") from exc

    def close_lost_calls(self, host: str, running: Callable[[int], bool]) -> list[OpenCall]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"{self.path}: {exc}") from exc
        try:
            rows = self.db.execute(
                "SELECT call_id, flow, tenant, caller, dialed, started_at, host, pid "
                "FROM open_calls WHERE host = ? ORDER BY started_at",
                (host,),
            ).fetchall()
            lost = [
                OpenCall(*row[:5], _parse(row[5]), row[6], row[7])
                for row in rows
                if not running(row[7])
            ]
            for call in lost:
                self._insert(JournalEntry(call.lost()))
            self._close_lost_segments(host, running)
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise JournalUnavailable(f"{self.path}: {exc}") from exc
        except (sqlite3.Error, ValueError) as exc:
            self._rollback()
            raise JournalError(f"{self.path}: cannot close the calls left open: {exc}") from exc
        return lost

    def _insert_open(self, call: OpenCall) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO open_calls (call_id, flow, tenant, caller, dialed, "
            "started_at, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                call.call_id,
                call.flow,
                call.tenant,
                call.caller,
                call.dialed,
                _time(call.started_at),
                call.host,
                call.pid,
            ),
        )

    def _close_lost_segments(self, host: str, running: Callable[[int], bool]) -> None:
        """End the segments dead controllers of ``host`` left open, at their last change."""
        pids = [
            pid
            for (pid,) in self.db.execute(
                "SELECT DISTINCT pid FROM agent_states WHERE host = ? AND ended_at IS NULL",
                (host,),
            )
            if not running(pid)
        ]
        for pid in pids:
            (last,) = self.db.execute(
                "SELECT max(max(started_at), coalesce(max(ended_at), '')) FROM agent_states "
                "WHERE host = ? AND pid = ?",
                (host, pid),
            ).fetchone()
            self.db.execute(
                "UPDATE agent_states SET ended_at = ?, end_s = ? WHERE host = ? AND pid = ? "
                "AND ended_at IS NULL",
                (last, _parse(last).timestamp(), host, pid),
            )

    def _insert_segment(self, seg: AgentSegment) -> None:
        self.db.execute(
            "INSERT INTO agent_states (id, agent, name, state, reason, call_id, queue, "
            "started_at, ended_at, next_state, host, pid, start_s, end_s) VALUES (?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ended_at = "
            "excluded.ended_at, next_state = excluded.next_state, end_s = excluded.end_s",
            (
                seg.id,
                seg.agent,
                seg.name,
                seg.state,
                seg.reason,
                seg.call_id,
                seg.queue,
                _time(seg.started_at),
                _time(seg.ended_at),
                seg.next_state,
                seg.host,
                seg.pid,
                seg.started_at.timestamp(),
                seg.ended_at.timestamp() if seg.ended_at is not None else None,
            ),
        )
        if seg.state == "wrap_up" and seg.ended_at is not None and seg.call_id:
            # Whichever comes second, the call's record or its wrap-up's end, joins the two.
            self.db.execute(
                "UPDATE calls SET wrap_up_seconds = ? WHERE call_id = ?",
                (_wrap_up_seconds(seg), seg.call_id),
            )

    def _rollback(self) -> None:
        # SQLite rolls some failures (a full disk, an I/O error) back by itself.
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _insert_callback(self, c: CallbackEntry) -> None:
        self.db.execute(
            "INSERT INTO callbacks (call_id, number, status, agent, attempts, first_dialed_at, "
            "last_ended_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO UPDATE SET "
            "number = excluded.number, status = excluded.status, agent = excluded.agent, "
            "attempts = max(attempts, excluded.attempts), "
            "first_dialed_at = coalesce(first_dialed_at, excluded.first_dialed_at), "
            "last_ended_at = coalesce(excluded.last_ended_at, last_ended_at)",
            (
                c.call_id,
                c.number,
                c.status,
                c.agent or None,
                c.attempts,
                _time(c.first_dialed_at),
                _time(c.last_ended_at),
            ),
        )

    def _insert(self, entry: JournalEntry) -> None:
        r = entry.record
        self.db.execute("DELETE FROM open_calls WHERE call_id = ?", (r.call_id,))
        self.db.execute("DELETE FROM calls WHERE call_id = ?", (r.call_id,))
        cursor = self.db.execute(
            "INSERT INTO calls (call_id, flow, tenant, caller, dialed, outcome, started_at, "
            "answered_at, queued_at, agent_answered_at, ended_at, queue, service_level, "
            "wait_seconds, agent, talk_seconds, transferred_to, voicemail, callback, "
            "hung_up_by_caller, in_queue_at_end, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.call_id,
                r.flow,
                r.tenant,
                r.caller or "",
                r.dialed or "",
                r.outcome or r.decide_outcome(),
                _time(r.started_at),
                _time(r.answered_at),
                _time(r.queued_at),
                _time(r.agent_answered_at),
                _time(r.ended_at or r.started_at),
                r.queue,
                entry.service_level,
                r.wait_seconds,
                r.agent,
                r.talk_seconds,
                r.transferred_to,
                r.voicemail,
                r.callback,
                int(r.hung_up_by_caller),
                int(r.in_queue_at_end),
                r.error,
            ),
        )
        call = cursor.lastrowid
        if r.agent_answered_at is not None:
            # A wrap-up journaled before its call's record (or kept when the record is replaced).
            self.db.execute(
                "UPDATE calls SET wrap_up_seconds = coalesce((SELECT sum(end_s - start_s) FROM "
                "agent_states WHERE call_id = ? AND state = 'wrap_up' AND end_s IS NOT NULL), 0) "
                "WHERE id = ?",
                (r.call_id, call),
            )
        self.db.executemany(
            "INSERT INTO visits (call, seq, flow, node, type, at, result, detail, notes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (call, seq, v.flow, v.node, v.type, _time(v.at), v.result, v.detail, _notes(v))
                for seq, v in enumerate(r.visits)
            ],
        )
        self.db.executemany(
            "INSERT INTO goals (call, seq, goal) VALUES (?, ?, ?)",
            [(call, seq, goal) for seq, goal in enumerate(r.goals)],
        )
        self.db.executemany(
            "INSERT INTO inputs (call, seq, node, name, value) VALUES (?, ?, ?, ?, ?)",
            [(call, seq, *item) for seq, item in enumerate(r.inputs)],
        )
        self.db.executemany(
            "INSERT INTO lookups (call, seq, node, source, result) VALUES (?, ?, ?, ?, ?)",
            [(call, seq, *item) for seq, item in enumerate(r.lookups)],
        )
        self.db.executemany(
            "INSERT INTO recordings (call, seq, path, owner, status, started_at, stereo, masked, "
            "seconds, channels, sha256, keep_until, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    call,
                    seq,
                    c.path,
                    c.owner,
                    c.status,
                    _time(c.started_at),
                    int(c.stereo),
                    json.dumps(c.masked),
                    c.seconds,
                    c.channels,
                    c.sha256,
                    _time(c.keep_until),
                    c.detail,
                )
                for seq, c in enumerate(r.recordings)
            ],
        )

    def mark_recording(self, call_id: str, path: str, status: str, detail: str) -> bool:
        try:
            with self.db:
                cursor = self.db.execute(
                    "UPDATE recordings SET status = ?, detail = ? WHERE path = ? AND call = "
                    "(SELECT id FROM calls WHERE call_id = ?)",
                    (status, detail, path, call_id),
                )
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"{self.path}: cannot note the recording: {exc}") from exc
        return cursor.rowcount > 0

    # ------------------------------------------------------------------ reading

    def entries(self, where: CallFilter) -> Iterator[JournalEntry]:
        conditions, params = [], []
        if where.start is not None:
            conditions.append("started_at >= ?")
            params.append(_time(where.start))
        if where.end is not None:
            conditions.append("started_at < ?")
            params.append(_time(where.end))
        if where.tenant is not None:
            conditions.append("tenant = ?")
            params.append(where.tenant)
        if where.queue is not None:
            conditions.append("queue = ?")
            params.append(where.queue)
        last = (" ", -1)  # (started_at, id) of the last call read: keyset pagination
        while True:
            page = conditions + ["(started_at, id) > (?, ?)"]
            try:
                cursor = self.db.cursor()
                cursor.row_factory = sqlite3.Row
                rows = cursor.execute(
                    f"SELECT {_CALL_COLUMNS} FROM calls WHERE {' AND '.join(page)} "
                    "ORDER BY started_at, id LIMIT ?",
                    [*params, *last, READ_BATCH],
                ).fetchall()
                if not rows:
                    return
                batch = self._with_details(rows)
            except sqlite3.Error as exc:
                raise JournalError(f"{self.path}: cannot read the journal: {exc}") from exc
            yield from batch
            last = (rows[-1]["started_at"], rows[-1]["id"])

    def _read(self, sql: str, params: dict | list) -> list[tuple]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot read the journal: {exc}") from exc

    def period(self, where: CallFilter) -> tuple[dt.datetime, dt.datetime] | None:
        condition, params = _condition(where)
        # Two subqueries: SQLite reads a lone min() or max() from the index in one step.
        [(first, last)] = self._read(
            f"SELECT (SELECT min(c.started_at) FROM calls c WHERE {condition}), "
            f"(SELECT max(c.started_at) FROM calls c WHERE {condition})",
            params,
        )
        return None if first is None else (_parse(first), _parse(last))

    def call_sums(
        self, where: CallFilter, *, short_abandon: float, default_target: float
    ) -> list[CallSums]:
        condition, params = _condition(where)
        params.update(short=short_abandon, default_target=default_target)
        rows = self._read(
            f"SELECT {_GROUP}, count(*), {_SUMS} FROM calls c WHERE {condition} GROUP BY {_GROUP}",
            params,
        )
        others: dict[tuple, dict[str, int]] = {}
        if any(row[-1] for row in rows):
            for *key, outcome, calls in self._read(
                f"SELECT {_GROUP}, c.outcome, count(*) FROM calls c WHERE c.outcome NOT IN "
                f"({_KNOWN}) AND {condition} GROUP BY {_GROUP}, c.outcome",
                params,
            ):
                others.setdefault(tuple(key), {})[outcome] = calls
        buckets: dict[tuple[str, int], dt.datetime] = {}
        groups: dict[tuple, CallSums] = {}
        for *key, calls, row in ((*r[:8], r[8:]) for r in rows):
            hour, quarter, tenant, queue, entered, waited, target = key
            bucket = buckets.get((hour, quarter))
            if bucket is None:
                bucket = buckets[hour, quarter] = dt.datetime.strptime(
                    f"{hour}{quarter * 15:02d}", "%Y-%m-%dT%H:%M"
                ).replace(tzinfo=dt.UTC)
            outcomes = {name: n for name, n in zip(OUTCOMES, row, strict=False) if n}
            outcomes.update(others.get(tuple(key), {}))
            queued = entered and waited
            group = CallSums(
                bucket,
                tenant,
                queue if entered and queue is not None else None,
                (default_target if target is None else target) if queued else None,
                outcomes,
            )
            if queued:
                group.queued = calls
                (
                    group.answered,
                    group.answered_in_target,
                    group.answer_seconds,
                    group.talk_seconds,
                    group.wrap_up_seconds,
                    group.short_abandons,
                    group.abandon_seconds,
                    group.longest_wait,
                ) = row[len(OUTCOMES) : -1]
            groups[tuple(key)] = group
        for *key, made, reached in self._read(
            f"SELECT {_GROUP}, count(*), sum(CASE WHEN b.status = 'answered' THEN 1 ELSE 0 END) "
            "FROM callbacks b JOIN calls c ON c.call_id = b.call_id WHERE b.attempts > 0 AND "
            f"{condition} GROUP BY {_GROUP}",
            params,
        ):
            group = groups[tuple(key)]
            group.callbacks_made, group.callbacks_reached = made, reached
        return list(groups.values())

    def goal_counts(self, where: CallFilter) -> dict[str, int]:
        condition, params = _condition(where)
        return dict(
            self._read(
                "SELECT g.goal, count(DISTINCT g.call) FROM goals g JOIN calls c ON c.id = g.call "
                f"WHERE {condition} GROUP BY g.goal",
                params,
            )
        )

    def wait_counts(self, where: CallFilter, highs: list[float]) -> list[tuple[int, int, int]]:
        condition, params = _condition(where)
        bands = " ".join(f"WHEN wait < {float(high)!r} THEN {n}" for n, high in enumerate(highs))
        rows = self._read(
            f"SELECT CASE {bands} ELSE {len(highs)} END AS band, "
            "sum(CASE WHEN answered THEN 1 ELSE 0 END), "
            "sum(CASE WHEN NOT answered AND outcome = 'abandoned' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN NOT answered AND outcome <> 'abandoned' THEN 1 ELSE 0 END) FROM ("
            "SELECT coalesce(c.wait_seconds, 0.0) AS wait, c.outcome AS outcome, "
            "c.agent_answered_at IS NOT NULL AS answered FROM calls c "
            f"WHERE c.queue IS NOT NULL AND c.queued_at IS NOT NULL AND {condition}) GROUP BY band",
            params,
        )
        counts = dict.fromkeys(range(len(highs) + 1), (0, 0, 0))
        counts.update((band, tuple(sums)) for band, *sums in rows)
        return list(counts.values())

    def node_sums(self, where: CallFilter, gave_up: tuple[str, ...]) -> list[NodeSums]:
        condition, params = _condition(where)
        # The visits are read from their indexes in the order of each GROUP BY (schema 8), with
        # no sort of millions of rows. A filter keeping few calls (a day of a month) is quicker
        # the other way, reading those calls' visits and sorting them; "+" keeps SQLite from
        # doing that for a filter keeping many (a big tenant's month).
        chosen = ""
        if params:
            [(kept, total)] = self._read(
                f"SELECT (SELECT count(*) FROM calls c WHERE {condition}), "
                "(SELECT count(*) FROM calls)",
                params,
            )
            few = kept * FEW_CALLS < total
            chosen = (
                f"WHERE {'' if few else '+'}v.call IN (SELECT c.id FROM calls c WHERE {condition})"
            )
        nodes: dict[tuple[str, str], NodeSums] = {}
        for flow, node, type_, result, visits in self._read(
            f"SELECT v.flow, v.node, v.type, v.result, count(*) FROM visits v {chosen} "
            "GROUP BY v.flow, v.node, v.type, v.result",
            params,
        ):
            sums = nodes.get((flow, node))
            if sums is None:
                sums = nodes[flow, node] = NodeSums(flow, node, type_, 0)
            sums.type = min(sums.type, type_)
            sums.entries += visits
            if result is None:
                sums.ended += visits
            else:
                sums.results[result] = sums.results.get(result, 0) + visits
        for flow, node, depth, calls in self._read(
            f"SELECT v.flow, v.node, min(v.seq), count(DISTINCT v.call) FROM visits v {chosen} "
            "GROUP BY v.flow, v.node",
            params,
        ):
            nodes[flow, node].depth, nodes[flow, node].calls = depth, calls
        # Only a call's last visit can be where its caller gave up or it failed.
        params.update((f"gave_up{n}", outcome) for n, outcome in enumerate(gave_up))
        gave_up_in = ", ".join(f":gave_up{n}" for n in range(len(gave_up))) or "NULL"
        for flow, node, gave_up_there, visits in self._read(
            # CROSS JOIN: SQLite then reads the few calls of those outcomes first and looks up
            # their last visit, instead of looking up the call of every visit.
            f"SELECT v.flow, v.node, c.outcome IN ({gave_up_in}), count(*) FROM calls c "
            "CROSS JOIN visits v WHERE v.call = c.id AND v.seq = "
            "(SELECT max(w.seq) FROM visits w WHERE w.call = c.id) "
            f"AND v.result IS NULL AND (c.outcome IN ({gave_up_in}) OR c.outcome = 'error') "
            f"AND {condition} GROUP BY v.flow, v.node, c.outcome IN ({gave_up_in})",
            params,
        ):
            sums = nodes[flow, node]
            sums.ended -= visits
            if gave_up_there:
                sums.hangups += visits
            else:
                sums.failed += visits
        return list(nodes.values())

    def agent_sums(self, where: CallFilter) -> dict[str, tuple[int, float, float]]:
        condition, params = _condition(where)
        return {
            agent: (calls, talk, wrap_up)
            for agent, calls, talk, wrap_up in self._read(
                "SELECT c.agent, count(*), sum(c.talk_seconds), sum(c.wrap_up_seconds) FROM calls "
                f"c WHERE c.agent IS NOT NULL AND c.agent_answered_at IS NOT NULL AND {condition} "
                "GROUP BY c.agent",
                params,
            )
        }

    def survey_sums(self, where: CallFilter) -> list[SurveySums]:
        condition, params = _condition(where)
        return [
            SurveySums(*row)
            for row in self._read(
                "SELECT json_extract(v.notes, '$.question') AS q, json_extract(v.notes, "
                "'$.scale') AS scale, json_extract(v.notes, '$.answer') AS answer, c.tenant, "
                "c.queue, c.agent, count(*) FROM visits v JOIN calls c ON c.id = v.call "
                f"WHERE v.type = 'survey' AND q IS NOT NULL AND {condition} "
                "GROUP BY q, scale, answer, c.tenant, c.queue, c.agent",
                params,
            )
        ]

    def recorded(self, where: CallFilter, latest: int) -> tuple[int, list[JournalEntry]]:
        condition, params = _condition(where)
        files = "r.status IN ('recorded', 'stopped')"
        kept = f"EXISTS (SELECT 1 FROM recordings r WHERE r.call = c.id AND {files})"
        [(count,)] = self._read(
            f"SELECT count(DISTINCT r.call) FROM recordings r JOIN calls c ON c.id = r.call "
            f"WHERE {files} AND {condition}",
            params,
        )
        try:
            cursor = self.db.cursor()
            cursor.row_factory = sqlite3.Row
            rows = cursor.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls c WHERE {kept} AND {condition} "
                "ORDER BY started_at DESC, id DESC LIMIT :latest",
                {**params, "latest": latest},
            ).fetchall()
            return count, self._with_details(rows[::-1]) if rows else []
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot read the journal: {exc}") from exc

    def _with_details(self, rows: list[sqlite3.Row]) -> list[JournalEntry]:
        entries: dict[int, JournalEntry] = {}
        for row in rows:
            record = CallRecord(
                call_id=row["call_id"],
                caller=row["caller"],
                dialed=row["dialed"],
                flow=row["flow"],
                tenant=row["tenant"],
                started_at=_parse(row["started_at"]),
                answered_at=_parse(row["answered_at"]),
                ended_at=_parse(row["ended_at"]),
                queue=row["queue"],
                queued_at=_parse(row["queued_at"]),
                agent=row["agent"],
                agent_answered_at=_parse(row["agent_answered_at"]),
                talk_seconds=row["talk_seconds"],
                transferred_to=row["transferred_to"],
                voicemail=row["voicemail"],
                callback=row["callback"],
                hung_up_by_caller=bool(row["hung_up_by_caller"]),
                in_queue_at_end=bool(row["in_queue_at_end"]),
                error=row["error"],
                outcome=row["outcome"],
            )
            if record.queued_at is not None and row["wait_seconds"] is not None:
                # The wait is kept as seconds; when the queue let the caller go follows from it.
                waited = dt.timedelta(seconds=row["wait_seconds"])
                record.queue_let_go_at = record.queued_at + waited
            entries[row["id"]] = JournalEntry(record, row["service_level"])
        ids = list(entries)
        marks = ", ".join("?" * len(ids))
        for call, flow, node, type_, at, result, detail, notes in self.db.execute(
            "SELECT call, flow, node, type, at, result, detail, notes FROM visits "
            f"WHERE call IN ({marks}) ORDER BY call, seq",
            ids,
        ):
            visit = Visit(flow, node, type_, _parse(at), result, detail, json.loads(notes))
            entries[call].record.visits.append(visit)
        for call, goal in self.db.execute(
            f"SELECT call, goal FROM goals WHERE call IN ({marks}) ORDER BY call, seq", ids
        ):
            entries[call].record.goals.append(goal)
        for call, node, name, value in self.db.execute(
            f"SELECT call, node, name, value FROM inputs WHERE call IN ({marks}) "
            "ORDER BY call, seq",
            ids,
        ):
            entries[call].record.inputs.append((node, name, value))
        for call, node, source, result in self.db.execute(
            f"SELECT call, node, source, result FROM lookups WHERE call IN ({marks}) "
            "ORDER BY call, seq",
            ids,
        ):
            entries[call].record.lookups.append((node, source, result))
        for (
            call,
            path,
            owner,
            status,
            started,
            stereo,
            masked,
            *sealed,
            keep,
            detail,
        ) in self.db.execute(
            "SELECT call, path, owner, status, started_at, stereo, masked, seconds, "
            f"channels, sha256, keep_until, detail FROM recordings WHERE call IN ({marks}) "
            "ORDER BY call, seq",
            ids,
        ):
            spans = [(begun, ended) for begun, ended in json.loads(masked)]
            entries[call].record.recordings.append(
                Recording(
                    path,
                    owner,
                    status,
                    _parse(started),
                    bool(stereo),
                    spans,
                    *sealed,
                    _parse(keep),
                    detail,
                )
            )
        by_call_id = {entry.record.call_id: entry for entry in entries.values()}
        names = list(by_call_id)
        for row in self.db.execute(
            "SELECT call_id, number, status, agent, attempts, first_dialed_at, last_ended_at "
            f"FROM callbacks WHERE call_id IN ({marks})",
            names,
        ):
            call_id, number, status, agent, attempts, first, last = row
            by_call_id[call_id].callback = CallbackEntry(
                call_id, number, status, agent, attempts, _parse(first), _parse(last)
            )
        return list(entries.values())

    def agent_time(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        by_bucket: bool = False,
        agents: list[str] | None = None,
    ) -> list[AgentTime]:
        now = min(end, dt.datetime.now(dt.UTC))
        bounds = {"start": start.timestamp(), "end": end.timestamp(), "now": now.timestamp()}
        overlap = "start_s < :end AND coalesce(end_s, :now) > :start"
        if agents is not None:
            names = {f"agent{i}": agent for i, agent in enumerate(agents)}
            bounds.update(names)
            overlap += f" AND agent IN ({', '.join(':' + n for n in names) or 'NULL'})"
        begun, ended = "max(start_s, :start)", "min(coalesce(end_s, :now), :end)"
        missed = "state = 'ringing' AND end_s IS NOT NULL AND next_state != 'on_call'"
        try:
            if not by_bucket:
                rows = self.db.execute(
                    f"SELECT agent, max(name), state, reason, sum({ended} - {begun}), count(*), "
                    f"sum({missed}) FROM agent_states WHERE {overlap} "
                    "GROUP BY agent, state, reason ORDER BY agent, state, reason",
                    bounds,
                ).fetchall()
                return [AgentTime(*row) for row in rows]
            return self._agent_time_by_bucket(bounds, begun, ended, overlap)
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot read the agent state log: {exc}") from exc

    def _agent_time_by_bucket(
        self, bounds: dict, begun: str, ended: str, overlap: str
    ) -> list[AgentTime]:
        """Agent time per state and UTC quarter hour, summed over the agents.

        A segment within one quarter hour (most: a ringing, a call, a wrap-up) is summed by
        SQLite; the few that span quarters (a long break, a quiet hour) are cut here.
        """
        first = f"CAST({begun} / {QUARTER} AS INTEGER)"
        # The quarter of the segment's last instant: one ending on a boundary is not in the next.
        last = f"CAST(({ended} - 1e-6) / {QUARTER} AS INTEGER)"
        totals: dict[tuple[str, str, int], list[float]] = {}
        for state, reason, quarter, seconds, count in self.db.execute(
            f"SELECT state, reason, {first} AS q, sum({ended} - {begun}), count(*) FROM "
            f"agent_states WHERE {overlap} AND {first} >= {last} GROUP BY state, reason, q",
            bounds,
        ):
            totals[(state, reason, quarter)] = [seconds, count]
        for state, reason, low, high in self.db.execute(
            f"SELECT state, reason, {begun}, {ended} FROM agent_states "
            f"WHERE {overlap} AND {first} < {last}",
            bounds,
        ):
            quarter = int(low // QUARTER)
            while quarter * QUARTER < high:
                part = min(high, (quarter + 1) * QUARTER) - max(low, quarter * QUARTER)
                if part > 0:
                    total = totals.setdefault((state, reason, quarter), [0.0, 0])
                    total[0] += part
                    total[1] += 1
                quarter += 1
        return [
            AgentTime(
                "",
                "",
                state,
                reason,
                seconds,
                count,
                0,
                dt.datetime.fromtimestamp(q * QUARTER, dt.UTC),
            )
            for (state, reason, q), (seconds, count) in sorted(totals.items())
        ]

    def tenant_entries(self) -> dict[str, TenantEntry]:
        try:
            rows = self.db.execute("SELECT id, name, timezone FROM tenants").fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot read the journal: {exc}") from exc
        return {row[0]: TenantEntry(*row) for row in rows}

    def _distinct(self, column: str) -> list[str]:
        try:
            rows = self.db.execute(
                f"SELECT DISTINCT {column} FROM calls WHERE {column} IS NOT NULL ORDER BY 1"
            ).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot read the journal: {exc}") from exc
        return [row[0] for row in rows]

    def tenants(self) -> list[str]:
        return self._distinct("tenant")

    def queues(self) -> list[str]:
        return self._distinct("queue")

    def close(self) -> None:
        self.db.close()
