"""``ivr report``: read the journal, check the options against it, write the report.

Every mistake in the options (an unknown tenant or queue, ``--from`` not before ``--to``, a
journal that is missing or is not a journal) is a ``ReportOptionError`` with a message saying
what to do; the ``ivr`` command prints it and exits with 2.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.errors import IvrError
from ivr.report.agents import read_agent_times
from ivr.report.figures import Report, build_report
from ivr.report.render import FORMATS, csv_files
from ivr.store import CallFilter, Journal, JournalError, SqliteJournal

DEFAULT_HTML = "var/report.html"
"""Where ``--format html`` writes without ``--output``: a page is for a browser, not a terminal."""


class ReportOptionError(IvrError):
    """An option of ``ivr report`` names something that does not exist or cannot be used."""


def parse_timezone(name: str | None) -> ZoneInfo | None:
    """The ``--timezone`` option: an IANA name, or None for the machine's local time."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportOptionError(
            f"--timezone: {name!r} is not a time zone name like Europe/Sofia or UTC"
        ) from exc


def parse_short_abandon(text: str) -> float:
    """The ``--short-abandon`` option: seconds (``5``, ``5s``, ``0`` for none) as a number."""
    try:
        seconds = float(text.removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ReportOptionError(
            f"--short-abandon: {text!r} is not a time in seconds like 5s (0: count none apart)"
        )
    return seconds


def parse_moment(text: str, option: str, zone: ZoneInfo | None, *, end: bool) -> dt.datetime:
    """A ``--from``/``--to`` value as an aware time.

    A date alone means the start of that day for ``--from`` and the end of that day for ``--to``
    (so ``--from 2026-11-01 --to 2026-11-30`` is all of November). A time without an offset is in
    the report's time zone.
    """
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time())
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReportOptionError(
            f"{option}: {text!r} is not a date (2026-11-23) or a time (2026-11-23T10:00)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone) if zone else moment.astimezone()
    return moment


def open_journal(path: str) -> SqliteJournal:
    """The journal at ``path`` for reading; a ReportOptionError when there is none to read."""
    try:
        return SqliteJournal(Path(path), create=False)
    except JournalError as exc:
        raise ReportOptionError(
            f"--journal: {exc} (ivr serve writes the journal; ivr test --journal PATH writes "
            "one from scenario calls)"
        ) from exc


def _check_known(option: str, value: str | None, known: list[str]) -> None:
    if value is not None and value not in known:
        listed = ", ".join(known) if known else "none"
        raise ReportOptionError(
            f"{option}: no call of {option[2:]} {value!r} in the journal (known: {listed})"
        )


def run_report(
    *,
    journal: str,
    start: str | None,
    end: str | None,
    tenant: str | None,
    queue: str | None,
    timezone: str | None,
    format: str,
    output: str | None,
    short_abandon: str = "5s",
    interval: str | None = None,
) -> str | None:
    """Write the report; returns where it was written, or None when it went to stdout.

    Raises:
        ReportOptionError: an option is wrong; the message says which and why.
    """
    short = parse_short_abandon(short_abandon)
    zone = parse_timezone(timezone)
    store = open_journal(journal)
    try:
        _check_known("--tenant", tenant, store.tenants())
        _check_known("--queue", queue, store.queues())
        tenants = store.tenant_entries()
        if zone is None and tenant in tenants and tenants[tenant].timezone:
            # A company's report is in its own hours unless --timezone says otherwise.
            zone = ZoneInfo(tenants[tenant].timezone)
        since = parse_moment(start, "--from", zone, end=False) if start else None
        until = parse_moment(end, "--to", zone, end=True) if end else None
        if since is not None and until is not None and since >= until:
            raise ReportOptionError(f"--from {start} is not before --to {end}")
        where = CallFilter(since, until, tenant, queue)
        zones = {t.id: ZoneInfo(t.timezone) for t in tenants.values() if t.timezone}
        report = report_with_previous(
            store, where, timezone=zone, short_abandon=short, interval=interval, zones=zones
        )
        report.agent_times = read_agent_times(
            store,
            start=since,
            end=until,
            # A tenant's or a queue's report: the agents who took its calls.
            agents=sorted(report.by_agent) if tenant or queue else None,
            interval_start=_interval_of(report) if interval else None,
        )
        report.tenant_names = {t.id: t.name for t in tenants.values()}
    except JournalError as exc:
        raise ReportOptionError(f"--journal: {exc}") from exc
    finally:
        store.close()
    if format == "csv" and output is not None and output != "-" and not output.endswith(".csv"):
        return _write_folder(Path(output), csv_files(report, journal))
    text = FORMATS[format](report, journal)
    if output is None and format == "html":
        output = DEFAULT_HTML
    if output is None or output == "-":
        sys.stdout.write(text)
        return None
    target = Path(output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportOptionError(f"--output: cannot write {output}: {exc}") from exc
    return str(target)


def _interval_of(report):
    """The local start of the report's interval holding a UTC time."""
    return lambda moment: report.interval_start(report.local(moment))


def report_with_previous(store: Journal, where: CallFilter, **options) -> Report:
    """The report over ``where``, with ``previous``: the period of equal length just before.

    The earlier period has the same filters; ``previous`` is None when the report's period is
    not bounded (an empty journal) or that earlier period has no call.

    Args:
        store: the journal.
        where: the calls reported on.
        options: ``build_report``'s keyword options.
    """
    report = build_report(store, where, **options)
    if report.start is not None and report.end is not None:
        length = report.end - report.start
        earlier = replace(where, start=report.start - length, end=report.start)
        previous = build_report(store, earlier, **options)
        report.previous = previous if previous.totals.calls else None
    return report


def _write_folder(folder: Path, files: dict[str, str]) -> str:
    """Write each of ``files`` (name: text) into ``folder``; returns where they went."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportOptionError(
            f"--output: cannot write the CSV files into {folder}: {exc}"
        ) from exc
    return f"{folder}/ ({len(files)} CSV files)"
