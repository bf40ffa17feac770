"""A report over hand-built journal entries, as ``ivr report`` would compute it from a journal."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ivr.report.figures import Report, build_report
from ivr.store import CallFilter, JournalEntry, SqliteJournal


def report_of(
    entries: Iterable[JournalEntry], folder: Path, where: CallFilter | None = None, **options
) -> Report:
    """Write ``entries`` into a new journal in ``folder`` and build the report from it.

    Args:
        entries: the calls, as the journal keeps them.
        folder: where the journal file goes (a test's ``tmp_path``).
        where: the calls reported on (all when None).
        options: ``build_report``'s keyword options (``short_abandon``, ``timezone`` ...).
    """
    path = folder / "report-journal.sqlite"
    journal = SqliteJournal(path)
    try:
        journal.write(list(entries))
        return build_report(journal, where, **options)
    finally:
        journal.close()
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            file.unlink(missing_ok=True)
