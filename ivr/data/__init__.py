"""Data sources the ``lookup`` node asks: the interface, and the sources declared under ``data:``.

A source answers one question: the record for a key, or None when there is none. A source that
fails or is too slow raises ``DataSourceError``, which sends the call down the node's ``on_error``
edge. New kinds (SQL, HTTP) implement ``DataSource`` and add a ``make`` function to ``KINDS``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.flow.fields import INVALID, CheckContext, Field, describe
from ivr.flow.source import Diagnostics, LDict, Mark, suggest


class DataSourceError(Exception):
    """A source could not answer (unreadable, failed, too slow): the lookup takes ``on_error``."""


class DataSource:
    """Answers lookups by key. Implementations must be safe to call from many calls at once."""

    kind = ""

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The record for ``key``, or None when there is none.

        Raises:
            DataSourceError: the source failed.
        """
        raise NotImplementedError


_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def _value(text: str) -> Any:
    """CSV cells are text; numbers and true/false become values templates can compare."""
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


@dataclass
class CsvSource(DataSource):
    """A CSV table with a header row, looked up by one column; re-read when the file changes."""

    path: Path
    key: str
    kind = "csv"

    def __post_init__(self) -> None:
        self._stamp: tuple[float, int] | None = None
        self._rows: dict[str, dict[str, Any]] = {}

    def header(self) -> list[str]:
        """The column names, for compile-time checks.

        Raises:
            DataSourceError: the file cannot be read.
        """
        try:
            with self.path.open(newline="", encoding="utf-8") as f:
                return next(csv.reader(f), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise DataSourceError(f"cannot read {self.path}: {exc}") from exc

    def _load(self) -> None:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime, stat.st_size)
            if stamp == self._stamp:
                return
            with self.path.open(newline="", encoding="utf-8") as f:
                rows = {
                    row[self.key]: {k: (v if k == self.key else _value(v)) for k, v in row.items()}
                    for row in csv.DictReader(f)
                    if row.get(self.key) is not None
                }
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataSourceError(f"cannot read {self.path}: {exc}") from exc
        self._rows, self._stamp = rows, stamp

    def lookup(self, key: str) -> dict[str, Any] | None:
        self._load()
        row = self._rows.get(key)
        return dict(row) if row is not None else None


def _make_csv(spec: LDict, base: Path, diag: Diagnostics) -> DataSource | None:
    unknown = [k for k in spec if k not in ("csv", "key")]
    for k in unknown:
        diag.error(
            f"unknown key '{k}' in a csv source{suggest(k, ['csv', 'key'])} "
            "(allowed here: csv, key)",
            spec.key_mark(k),
        )
    key = spec.get("key")
    if not isinstance(key, str):
        diag.error("a csv source needs 'key:', the column to look up by", spec.mark)
        return None
    path = base / str(spec["csv"])
    source = CsvSource(path, key)
    try:
        header = source.header()
    except DataSourceError as exc:
        diag.error(str(exc), spec.value_mark("csv"))
        return None
    if key not in header:
        diag.error(
            f"column '{key}' is not in {spec['csv']} (columns: {', '.join(header)})"
            + suggest(key, header),
            spec.value_mark("key"),
        )
        return None
    return None if unknown else source


KINDS: dict[str, Callable[[LDict, Path, Diagnostics], DataSource | None]] = {"csv": _make_csv}


class DataSourceField(Field):
    """A data source declaration under a flow's ``data:``; ``base`` resolves relative paths."""

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
            ctx.diag.error(
                f"a data source names exactly one kind; supported: {', '.join(KINDS)}", value.mark
            )
            return INVALID
        source = KINDS[kinds[0]](value, self.base, ctx.diag)
        return source if source is not None else INVALID

    def schema(self) -> dict:
        return {
            "type": "object",
            "properties": {
                "csv": {"type": "string", "description": "CSV file, relative to the flow"},
                "key": {"type": "string", "description": "the column to look up by"},
            },
            "additionalProperties": False,
        }
