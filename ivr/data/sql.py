"""Databases: ``sqlite:`` files and anything SQLAlchemy reaches through ``sql: {url: ...}``.

The query is written once in the flow with named parameters (``WHERE account = :key``); the call's
values are always bound to them by the driver, never pasted into the SQL, so a caller's digits or
caller ID can only ever be compared with, not run. Sources are read-only unless the flow says
``read_only: false``: the query must be a single SELECT (or WITH ... SELECT), SQLite files are
opened read-only, PostgreSQL and MySQL sessions are made read-only, and the transaction is
rolled back. The first row answers, as a record of column name to value; no row is "not found".

Drivers block, so queries run in a worker thread; a query that outlives the source's timeout is
interrupted (SQLite) or abandoned to finish in its thread (other databases).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.data.base import (
    COMMON_FIELDS,
    DataSource,
    DataSourceError,
    Timing,
    expect_mapping,
    in_thread,
    note_names,
    timing_from,
    usable,
)
from ivr.flow.fields import CheckContext, Field, Flag, Number, Obj, Text, check_options
from ivr.flow.source import LDict, Mark

_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_PARAMETER = re.compile(r"(?<![:\w\\]):([A-Za-z_][A-Za-z0-9_]*)(?![:\w])")
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
_READ_ONLY_SESSION = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}
PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between checks of a query's deadline."""


def _code(query: str) -> str:
    """The query without comments and quoted text, where parameters and keywords are found."""
    return _QUOTED.sub("''", _COMMENT.sub(" ", query))


def parameters(query: str) -> set[str]:
    """The named parameters (``:name``) of a query, outside quoted text and comments."""
    return set(_PARAMETER.findall(_code(query)))


def _check_query(query: str, read_only: bool, mark: Mark, ctx: CheckContext) -> set[str] | None:
    """Check a query as far as can be done without the database; its parameters, or None."""
    code = _code(query)
    if "?" in code or re.search(r"(?<!%)%s|%\(\w+\)s", code):
        ctx.diag.error(
            "write parameters by name, like WHERE account = :key (values are bound to them)",
            mark,
        )
        return None
    if ";" in code.strip().rstrip(";"):
        ctx.diag.error("a query is one SQL statement: remove the ';' between statements", mark)
        return None
    first = _FIRST_WORD.match(code)
    if read_only and (first is None or first.group(1).upper() not in ("SELECT", "WITH")):
        ctx.diag.error(
            "a read-only source runs a SELECT; add 'read_only: false' beside the query to let "
            "it change the database",
            mark,
        )
        return None
    names = parameters(query)
    if not names:
        ctx.diag.warning("the query has no :parameters, so every call gets the same answer", mark)
    note_names(names, mark, ctx)
    return names


def _bound(names: frozenset[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values for a query's parameters, as plain values a driver binds."""
    out: dict[str, Any] = {}
    for name in names:
        value = values.get(name)
        if isinstance(value, dt.datetime | dt.date | dt.time):
            value = value.isoformat()
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise DataSourceError(
                f"parameter :{name} is {type(value).__name__}, not one value; bind a field of it "
                "through a variable"
            )
        out[name] = value
    return out


class SqliteSource(DataSource):
    """A query on a SQLite file; read-only unless declared otherwise."""

    kind = "sqlite"

    def __init__(
        self, path: Path, query: str, names: set[str], read_only: bool, timing: Timing
    ) -> None:
        super().__init__(timing, frozenset(names))
        self.path = path
        self.query = query
        self.read_only = read_only

    @property
    def repeatable(self) -> bool:
        return self.read_only

    def describe(self) -> str:
        return str(self.path)

    def connect(self) -> sqlite3.Connection:
        mode = "ro" if self.read_only else "rw"
        uri = f"{self.path.resolve().as_uri()}?mode={mode}"
        conn = sqlite3.connect(uri, uri=True, timeout=self.timing.timeout, check_same_thread=False)
        if self.read_only:
            conn.execute("PRAGMA query_only = ON")
        return conn

    def _run(self, params: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        conn = self.connect()
        try:
            # A query past its deadline stops here instead of running on in its thread.
            conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            cursor = conn.execute(self.query, params)
            row = cursor.fetchone()
            columns = [c[0] for c in cursor.description or ()]
            if self.read_only:
                conn.rollback()
            else:
                conn.commit()
        finally:
            conn.close()
        return dict(zip(columns, row, strict=True)) if row is not None else None

    def lookup(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        params = _bound(self.reads, values)
        deadline = time.monotonic() + self.timing.timeout
        try:
            return in_thread(self._run, params, deadline)
        except sqlite3.Error as exc:
            # sqlite3 messages never contain the bound values.
            busy = "locked" in str(exc) or "busy" in str(exc)
            raise DataSourceError(f"{self.path.name}: {exc}", retryable=busy) from exc


class SqlSource(DataSource):
    """A query on any database SQLAlchemy reaches, through a pooled engine."""

    kind = "sql"

    def __init__(
        self,
        url: Any,
        query: str,
        names: set[str],
        read_only: bool,
        password_env: str | None,
        pool_size: int,
        timing: Timing,
    ) -> None:
        super().__init__(timing, frozenset(names))
        self.url = url
        self.query = query
        self.read_only = read_only
        self.password_env = password_env
        self.pool_size = pool_size
        self._engine = None
        self._engine_lock = threading.Lock()

    @property
    def repeatable(self) -> bool:
        return self.read_only

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def _engine_now(self):
        """The pooled engine, made by the first query (in a worker thread, hence the lock)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    def _make_engine(self):
        from sqlalchemy import create_engine, event

        url = self.url
        if self.password_env is not None:
            password = os.environ.get(self.password_env)
            if password is None:
                raise DataSourceError(f"environment variable {self.password_env} is not set")
            url = url.set(password=password)
        # hide_parameters: SQLAlchemy's error messages would otherwise quote the bound values.
        options: dict[str, Any] = {"hide_parameters": True, "pool_pre_ping": True}
        if url.get_backend_name() != "sqlite":
            options.update(pool_size=self.pool_size, pool_timeout=self.timing.timeout)
        engine = create_engine(url, **options)
        if self.read_only:
            backend = url.get_backend_name()

            @event.listens_for(engine, "connect")
            def read_only_session(dbapi_connection, record) -> None:
                cursor = dbapi_connection.cursor()
                if backend == "sqlite":
                    cursor.execute("PRAGMA query_only = ON")
                elif backend in _READ_ONLY_SESSION:
                    cursor.execute(_READ_ONLY_SESSION[backend])
                cursor.close()

        return engine

    def _run(self, params: dict[str, Any]) -> dict[str, Any] | None:
        from sqlalchemy import text

        engine = self._engine_now()
        with engine.connect() as conn:
            row = conn.execute(text(self.query), params).mappings().first()
            if self.read_only:
                conn.rollback()
            else:
                conn.commit()
        return dict(row) if row is not None else None

    def lookup(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        params = _bound(self.reads, values)
        try:
            return in_thread(self._run, params)
        except PoolTimeout as exc:
            raise DataSourceError(f"{self.describe()}: no free connection", retryable=True) from exc
        except DBAPIError as exc:
            raise DataSourceError(
                f"{self.describe()}: {type(exc.orig).__name__}: {exc.orig}",
                retryable=exc.connection_invalidated,
            ) from exc
        except SQLAlchemyError as exc:
            raise DataSourceError(f"{self.describe()}: {exc}") from exc


_SQLITE_DB: dict[str, Field] = {
    "file": Text("The SQLite file, relative to the flow", required=True),
    "query": Text("One SELECT with :named parameters, e.g. WHERE id = :key", required=True),
    "read_only": Flag("Refuse to change the database (the default)", default=True),
}
SQLITE_FIELDS = {
    "sqlite": Obj("The SQLite file and the query", fields=_SQLITE_DB, required=True),
    **COMMON_FIELDS,
}
_SQL_DB: dict[str, Field] = {
    "url": Text("e.g. postgresql+psycopg2://ivr@db.example/bank (no password)", required=True),
    "query": Text("One SELECT with :named parameters, e.g. WHERE id = :key", required=True),
    "read_only": Flag("Refuse to change the database (the default)", default=True),
    "password_env": Text(
        "The environment variable holding the database password",
        pattern=r"[A-Za-z_][A-Za-z0-9_]*",
        pattern_doc="an environment variable name",
    ),
    "pool_size": Number("Connections kept open", minimum=1, maximum=100, default=5),
}
SQL_FIELDS = {
    "sql": Obj("A SQLAlchemy database URL and the query", fields=_SQL_DB, required=True),
    **COMMON_FIELDS,
}
_EXAMPLE = '{file: data/bank.sqlite, query: "SELECT balance FROM accounts WHERE account = :key"}'


def make_sqlite(spec: LDict, base: Path, ctx: CheckContext) -> DataSource | None:
    """A ``sqlite:`` source from its declaration, or None after reporting its mistakes."""
    if not expect_mapping(spec.get("sqlite"), spec.value_mark("sqlite"), ctx, _EXAMPLE):
        return None
    opts = check_options(spec, SQLITE_FIELDS, ctx)
    if not usable(opts, SQLITE_FIELDS) or not usable(opts["sqlite"], _SQLITE_DB):
        return None
    db, where = opts["sqlite"], spec["sqlite"]
    names = _check_query(db["query"], db["read_only"], where.value_mark("query"), ctx)
    path = base / db["file"]
    if not path.is_file():
        ctx.diag.error(f"cannot open {path}: no such file", where.value_mark("file"))
        return None
    if names is None:
        return None
    source = SqliteSource(path, db["query"], names, db["read_only"], timing_from(opts))
    try:
        conn = source.connect()
        try:
            # Preparing the statement (without running it) finds unknown tables and columns.
            conn.execute(f"EXPLAIN {db['query']}", dict.fromkeys(names))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        ctx.diag.error(f"the query does not run on {db['file']}: {exc}", where.value_mark("query"))
        return None
    return source


def make_sql(spec: LDict, base: Path, ctx: CheckContext) -> DataSource | None:
    """A ``sql:`` source from its declaration, or None after reporting its mistakes."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    example = '{url: "postgresql+psycopg2://ivr@db.example/bank", query: "SELECT ..."}'
    if not expect_mapping(spec.get("sql"), spec.value_mark("sql"), ctx, example):
        return None
    opts = check_options(spec, SQL_FIELDS, ctx)
    if not usable(opts, SQL_FIELDS) or not usable(opts["sql"], _SQL_DB):
        return None
    db, where = opts["sql"], spec["sql"]
    names = _check_query(db["query"], db["read_only"], where.value_mark("query"), ctx)
    try:
        url = make_url(db["url"])
    except (ArgumentError, ValueError) as exc:
        ctx.diag.error(f"not a database URL: {exc}", where.value_mark("url"))
        return None
    if url.password is not None:
        ctx.diag.error(
            "a password does not belong in the flow: remove it from the URL and name the "
            "environment variable that holds it with password_env:",
            where.value_mark("url"),
        )
        names = None
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        ctx.diag.error(
            f"no driver for {url.drivername} is installed ({exc}); install it in the venv",
            where.value_mark("url"),
        )
        return None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_absolute():
            url = url.set(database=str(base / url.database))
    if names is None:
        return None
    return SqlSource(
        url,
        db["query"],
        names,
        db["read_only"],
        db["password_env"],
        db["pool_size"],
        timing_from(opts),
    )
