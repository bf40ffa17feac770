"""Tables in files beside the flow, looked up by one column: ``csv:`` and ``yaml:``.

Both are re-read when the file changes (its modification time or size), so an analyst can update
opening hours or a price list without restarting anything. A file that cannot be read at call
time is a source failure (the lookup's ``on_error``), never a crash.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.data.base import (
    COMMON_FIELDS,
    DataSource,
    DataSourceError,
    Timing,
    timing_from,
    usable,
)
from ivr.flow.fields import CheckContext, Text, check_options
from ivr.flow.source import Diagnostics, LDict, LList, SourceCache, load_yaml, suggest

_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def _value(text: str) -> Any:
    """CSV cells are text; numbers and true/false become values templates can compare."""
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


class _Table(DataSource):
    """Rows by key from a file, re-read when the file changes."""

    def __init__(self, path: Path, key: str | None, timing: Timing) -> None:
        super().__init__(timing, frozenset({"key"}))
        self.path = path
        self.key = key
        self._stamp: tuple[float, int] | None = None
        self._rows: dict[str, dict[str, Any]] = {}

    def describe(self) -> str:
        return str(self.path)

    def _open(self):
        """The file opened as text; a FIFO or a device is refused, as opening it could block."""
        if self.path.exists() and not self.path.is_file():
            raise DataSourceError(f"cannot read {self.path}: not a regular file")
        return self.path.open(newline="", encoding="utf-8")

    def _read(self) -> dict[str, dict[str, Any]]:
        """The rows by key, read from the file.

        Raises:
            DataSourceError: the file cannot be read or has the wrong shape.
        """
        raise NotImplementedError

    def _load(self) -> None:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise DataSourceError(f"cannot read {self.path}: {exc}") from exc
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            self._rows, self._stamp = self._read(), stamp

    def lookup(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        self._load()
        row = self._rows.get(str(values.get("key")))
        return dict(row) if row is not None else None


class CsvSource(_Table):
    """A CSV table with a header row, looked up by one column."""

    kind = "csv"

    def header(self) -> list[str]:
        """The column names, for compile-time checks.

        Raises:
            DataSourceError: the file cannot be read.
        """
        try:
            with self._open() as f:
                return next(csv.reader(f), [])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataSourceError(f"cannot read {self.path}: {exc}") from exc

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            with self._open() as f:
                return {
                    row[self.key]: {k: (v if k == self.key else _value(v)) for k, v in row.items()}
                    for row in csv.DictReader(f)
                    if row.get(self.key) is not None
                }
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataSourceError(f"cannot read {self.path}: {exc}") from exc


class YamlSource(_Table):
    """A YAML table: a list of records looked up by one field, or a mapping of key to record."""

    kind = "yaml"

    def rows(self, diag: Diagnostics) -> dict[str, dict[str, Any]] | None:
        """Read and check the file, reporting mistakes with their positions; None when wrong."""
        doc = load_yaml(self.path, diag, SourceCache())
        if doc is None:
            if not diag.errors:
                diag.error(f"{self.path} is empty: expected records", None)
            return None
        rows: dict[str, dict[str, Any]] = {}
        if isinstance(doc, LList):
            if self.key is None:
                diag.error(
                    "a yaml source whose file is a list of records needs 'key:', the field to "
                    "look up by",
                    doc.mark,
                )
                return None
            for i, record in enumerate(doc):
                if not isinstance(record, LDict) or self.key not in record:
                    diag.error(
                        f"expected a record (a mapping) with the field '{self.key}'",
                        doc.item_mark(i),
                    )
                    continue
                rows[str(record[self.key])] = dict(record)
        elif isinstance(doc, LDict):
            for key, record in doc.items():
                if not isinstance(record, LDict):
                    diag.error(
                        f"expected the record of '{key}' as a mapping of fields",
                        doc.value_mark(key),
                    )
                    continue
                rows[key] = dict(record)
        else:
            diag.error("expected a list of records or a mapping of key to record", None)
            return None
        return None if diag.errors else rows

    def _read(self) -> dict[str, dict[str, Any]]:
        diag = Diagnostics()
        rows = self.rows(diag)
        if rows is None:
            first = diag.errors[0]
            where = f"{first.mark}: " if first.mark else ""
            raise DataSourceError(f"cannot use {self.path}: {where}{first.message}")
        return rows


CSV_FIELDS = {
    "csv": Text("The CSV file, relative to the flow", required=True),
    "key": Text("The column to look up by", required=True),
    **COMMON_FIELDS,
}
YAML_FIELDS = {
    "yaml": Text("The YAML file, relative to the flow", required=True),
    "key": Text("The field to look up by, when the file is a list of records"),
    **COMMON_FIELDS,
}


def make_csv(spec: LDict, base: Path, ctx: CheckContext) -> DataSource | None:
    """A ``csv:`` source from its declaration, or None after reporting its mistakes."""
    opts = check_options(spec, CSV_FIELDS, ctx)
    if not usable(opts, CSV_FIELDS):
        return None
    source = CsvSource(base / opts["csv"], opts["key"], timing_from(opts))
    try:
        header = source.header()
    except DataSourceError as exc:
        ctx.diag.error(str(exc), spec.value_mark("csv"))
        return None
    if opts["key"] not in header:
        ctx.diag.error(
            f"column '{opts['key']}' is not in {opts['csv']} (columns: {', '.join(header)})"
            + suggest(opts["key"], header),
            spec.value_mark("key"),
        )
        return None
    return source


def make_yaml(spec: LDict, base: Path, ctx: CheckContext) -> DataSource | None:
    """A ``yaml:`` source from its declaration, or None after reporting its mistakes."""
    opts = check_options(spec, YAML_FIELDS, ctx)
    if not usable(opts, YAML_FIELDS):
        return None
    source = YamlSource(base / opts["yaml"], opts["key"], timing_from(opts))
    if not source.path.is_file():
        ctx.diag.error(f"cannot read {source.path}: no such file", spec.value_mark("yaml"))
        return None
    problems = Diagnostics()
    if source.rows(problems) is None:
        for problem in problems.errors:
            ctx.diag.error(problem.message, problem.mark or spec.value_mark("yaml"))
        return None
    return source
