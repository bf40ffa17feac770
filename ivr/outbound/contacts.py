"""A campaign's contacts, from its CSV file or SQL query, with numbers in E.164 and time zones.

``contacts: {csv: FILE, number: COLUMN, timezone: COLUMN}`` reads a CSV file relative to the
folder (UTF-8, a header row; a spreadsheet's byte-order mark is fine); ``{sql: URL, query: ...}``
runs a read-only query through SQLAlchemy, as ``ivr.data``'s ``sql:`` sources do. Each row is a
contact: its id (an ``id`` column, else its number), its number normalised to E.164, its time
zones (the row's IANA zone, else those of its number's country and area code) and the other
columns as data for the flow.

A wrong file or a missing column stops the loading (``ContactsError``). A wrong row does not: it
is left out and described with its line (``ContactList.problems``), so one bad number in a list
of thousands costs that contact only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.data.base import Timing
from ivr.data.sql import SqlSource
from ivr.errors import IvrError
from ivr.outbound.numbers import BadNumber, normalise, zones_of

DEFAULT_NUMBER_COLUMN = "number"
DEFAULT_TIMEZONE_COLUMN = "timezone"
"""Read as the time zone column when the contacts say no other and the file has it."""
ID_COLUMN = "id"


class ContactsError(IvrError):
    """A campaign's contacts cannot be read at all (no file, no such column, a failing query).

    Attributes:
        key: the key of ``contacts:`` that names what is wrong (``csv``, ``number``...).
    """

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Contact:
    """One person to call.

    Attributes:
        id: stable across reloads: the row's ``id`` column, else its number.
        number: the number in E.164 (``+12125550123``).
        zones: the time zones the calling window is read in; all of them must be open.
        zone_from_number: the row gave no zone, so ``zones`` come from the number's country.
        data: the row's other columns, for the flow.
        line: where the row starts (the CSV line, or the query's row number).
    """

    id: str
    number: str
    zones: tuple[ZoneInfo, ...]
    zone_from_number: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class RowProblem:
    """A row left out, and why.

    Attributes:
        source: the CSV file, or a description of the query.
        line: the CSV line where the row starts, or the query's row number.
        message: what is wrong with it.
    """

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


@dataclass
class ContactList:
    """A campaign's contacts in file order, and the rows left out."""

    contacts: list[Contact] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def from_number(self) -> list[Contact]:
        """The contacts whose time zones come from their number (their row gave none)."""
        return [c for c in self.contacts if c.zone_from_number]


def load_contacts(spec: dict[str, Any], folder: Path, region: str | None = None) -> ContactList:
    """Read a campaign's contacts.

    Args:
        spec: the campaign's ``contacts:`` as checked (``csv`` or ``sql`` and ``query``,
            ``number``, ``timezone``).
        folder: the flows folder, which relative paths start from.
        region: the country (ISO code) of national numbers; None when numbers must be +E.164.

    Raises:
        ContactsError: the file or database cannot be read, or a named column is missing.
    """
    path = folder / spec["csv"] if spec.get("csv") is not None else None
    if path is not None:
        columns, rows = _csv_rows(path)
        source = str(path)
    else:
        columns, rows, source = _sql_rows(spec["sql"], spec["query"], folder)
    number_column = spec.get("number") or DEFAULT_NUMBER_COLUMN
    zone_column = spec.get("timezone")
    for key, column in (("number", number_column), ("timezone", zone_column)):
        if column is not None and column not in columns:
            raise ContactsError(
                f"{path or 'the contacts query'} has no column "
                f"'{column}' (its columns: {', '.join(columns) or 'none'})",
                key,
            )
    if zone_column is None and DEFAULT_TIMEZONE_COLUMN in columns:
        zone_column = DEFAULT_TIMEZONE_COLUMN
    return _contacts(rows, source, number_column, zone_column, region)


def _contacts(
    rows, source: str, number_column: str, zone_column: str | None, region: str | None
) -> ContactList:
    out = ContactList()
    seen_ids: dict[str, int] = {}
    seen_numbers: dict[str, tuple[str, int]] = {}
    for line, row in rows:
        if isinstance(row, str):
            out.problems.append(RowProblem(source, line, row))
            continue
        try:
            number = normalise(str(row.get(number_column) or ""), region)
        except BadNumber as exc:
            out.problems.append(RowProblem(source, line, f"{exc}; the contact is left out"))
            continue
        zone_text = str(row.get(zone_column) or "").strip() if zone_column else ""
        if zone_text:
            try:
                zones, guessed = (ZoneInfo(zone_text),), False
            except (ZoneInfoNotFoundError, ValueError):
                out.problems.append(
                    RowProblem(
                        source,
                        line,
                        f"unknown time zone '{zone_text}': use an IANA name such as "
                        "America/New_York or Europe/Sofia; the contact is left out",
                    )
                )
                continue
        else:
            zones, guessed = zones_of(number), True
            if not zones:
                out.problems.append(
                    RowProblem(
                        source,
                        line,
                        f"no time zone for {number}: the row gives none and its country has "
                        "none known; the contact is left out",
                    )
                )
                continue
        contact_id = str(row.get(ID_COLUMN) or "").strip() or number
        if contact_id in seen_ids:
            out.problems.append(
                RowProblem(
                    source,
                    line,
                    f"duplicate contact '{contact_id}' (first on line {seen_ids[contact_id]}); "
                    "this row is left out",
                )
            )
            continue
        if number in seen_numbers:
            first, first_line = seen_numbers[number]
            out.problems.append(
                RowProblem(
                    source,
                    line,
                    f"number {number} is already contact '{first}' (line {first_line}); this "
                    "row is left out so that no one is called twice",
                )
            )
            continue
        seen_ids[contact_id] = line
        seen_numbers[number] = (contact_id, line)
        data = {k: v for k, v in row.items() if k not in (number_column, zone_column, ID_COLUMN)}
        out.contacts.append(Contact(contact_id, number, zones, guessed, data, line))
    return out


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str] | str]]]:
    """The header and the rows of a CSV file, each with the line it starts on.

    A row whose field count differs from the header's is given as the message saying so.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip() for name in next(reader, [])]
            rows: list[tuple[int, dict[str, str] | str]] = []
            start = reader.line_num + 1
            for fields in reader:
                # A quoted field may span lines: the row starts where the previous one ended.
                line, start = start, reader.line_num + 1
                if not any(value.strip() for value in fields):
                    continue
                if len(fields) != len(header):
                    rows.append(
                        (
                            line,
                            f"the row has {len(fields)} fields where the header has "
                            f"{len(header)}; the contact is left out",
                        )
                    )
                    continue
                rows.append((line, dict(zip(header, fields, strict=True))))
    except FileNotFoundError as exc:
        raise ContactsError(f"cannot open {path}: no such file", "csv") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ContactsError(f"cannot read {path}: {exc}", "csv") from exc
    return header, rows


def _sql_rows(
    url_text: str, query: str, folder: Path
) -> tuple[list[str], list[tuple[int, dict]], str]:
    """The columns and numbered rows of the contacts query, and the database (no password).

    The query runs read-only, through the engine ``ivr.data``'s ``sql:`` sources use.
    """
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        url = make_url(url_text)
    except (ArgumentError, ValueError) as exc:
        raise ContactsError(f"not a database URL: {exc}", "sql") from exc
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_absolute():
            url = url.set(database=str(folder / url.database))
        if not Path(url.database).is_file():
            raise ContactsError(f"cannot open {url.database}: no such file", "sql")
    # The data source's engine makes the session read-only and keeps values out of messages.
    source = SqlSource(url, query, set(), True, None, 1, Timing())
    try:
        with source._engine_now().connect() as conn:
            result = conn.execute(text(query)).mappings()
            columns = list(result.keys())
            rows = [(number, dict(row)) for number, row in enumerate(result, start=1)]
            conn.rollback()
    except ImportError as exc:
        raise ContactsError(f"no driver for {url.drivername} is installed ({exc})", "sql") from exc
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise ContactsError(f"the contacts query failed: {reason}", "query") from exc
    return columns, rows, source.describe()
