"""Data sources: where a flow gets its answers (balances, order status, opening hours).

A flow names its sources under ``data:`` (or shares them with every flow of the folder in
``data.yaml``); ``lookup``, ``authenticate`` and ``http`` nodes ask them. Kinds:

- ``csv:`` and ``yaml:`` tables beside the flow, re-read when the file changes;
- ``sqlite:`` files and ``sql:`` databases through SQLAlchemy URLs, queried with bound
  ``:parameters`` only, read-only unless declared otherwise;
- ``http:`` JSON APIs, over pooled gevent connections, credentials from environment variables.

Every kind takes ``timeout``, ``retries``, ``cache: {ttl: 30s}``, ``filler_after`` and ``filler``.
A source that fails or is too slow raises ``DataSourceError``: the node takes its ``on_error``
edge. A new kind implements ``DataSource`` and adds its ``make`` function to ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivr.data.base import COMMON_FIELDS, SPECIAL_NAMES, DataSource, DataSourceError, Timing
from ivr.data.http import HTTP_FIELDS, HttpSource, make_http
from ivr.data.sql import SQL_FIELDS, SQLITE_FIELDS, SqliteSource, SqlSource, make_sql, make_sqlite
from ivr.data.tables import CSV_FIELDS, YAML_FIELDS, CsvSource, YamlSource, make_csv, make_yaml
from ivr.flow.fields import INVALID, CheckContext, Field, MapOf, describe, object_schema
from ivr.flow.source import Diagnostics, LDict, Mark, suggest
from ivr.flow.templates import BUILTIN_VARIABLES

KINDS: dict[str, Callable[[LDict, Path, CheckContext], DataSource | None]] = {
    "csv": make_csv,
    "yaml": make_yaml,
    "sqlite": make_sqlite,
    "sql": make_sql,
    "http": make_http,
}
SOURCE_FIELDS: dict[str, dict[str, Field]] = {
    "csv": CSV_FIELDS,
    "yaml": YAML_FIELDS,
    "sqlite": SQLITE_FIELDS,
    "sql": SQL_FIELDS,
    "http": HTTP_FIELDS,
}
"""The keys of each kind of source, as its ``make`` function checks them."""


class DataSourceField(Field):
    """A data source declaration under ``data:``; ``base`` resolves relative paths."""

    def __init__(self, base: Path, doc: str = "") -> None:
        super().__init__(doc)
        self.base = base

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LDict):
            ctx.diag.error(
                f"expected a data source like {{csv: data/accounts.csv, key: account}}"
                f", got {describe(value)}",
                mark,
            )
            return INVALID
        kinds = [k for k in value if k in KINDS]
        if len(kinds) != 1:
            unknown = [k for k in value if k not in COMMON_FIELDS and k != "key"]
            hint = suggest(unknown[0], list(KINDS)) if unknown and not kinds else ""
            ctx.diag.error(
                f"a data source names exactly one kind{hint}; supported: {', '.join(KINDS)}",
                value.mark,
            )
            return INVALID
        source = KINDS[kinds[0]](value, self.base, ctx)
        return source if source is not None else INVALID

    def type_doc(self) -> str:
        return "data source (one of csv:, yaml:, sqlite:, sql:, http:)"

    def schema(self) -> dict:
        return {"anyOf": [object_schema(fields) for fields in SOURCE_FIELDS.values()]}


def load_shared_data(doc: Any, name: str, diag: Diagnostics) -> dict[str, DataSource]:
    """The sources of a folder's ``data.yaml``, which every flow of the folder may use.

    A shared source serves flows that know different variables, so its question may read only
    the built-ins (``caller``, ``dialed``...), ``key`` and ``pin``.
    """
    if not isinstance(doc, LDict) or not isinstance(doc.get("data"), LDict) or len(doc) != 1:
        diag.error(
            "data.yaml holds one key, data:, naming sources like those under a flow's data:",
            getattr(doc, "mark", Mark(name, 1, 1)),
        )
        return {}
    ctx = CheckContext(diag)
    sources = MapOf(DataSourceField(Path(name).parent)).check(
        doc["data"], doc.value_mark("data"), ctx
    )
    known = set(BUILTIN_VARIABLES)
    for ref in ctx.templates:
        if ref.source not in known:
            diag.error(
                f"a source in data.yaml reads '{ref.source}', which only some flows may have; "
                f"it may read key, pin and the built-ins ({', '.join(sorted(known))})",
                ref.mark,
            )
    return {k: v for k, v in sources.items() if v is not INVALID}


__all__ = [
    "KINDS",
    "SPECIAL_NAMES",
    "CsvSource",
    "DataSource",
    "DataSourceError",
    "DataSourceField",
    "HttpSource",
    "SqlSource",
    "SqliteSource",
    "Timing",
    "YamlSource",
    "load_shared_data",
]
