"""``ivr recordings list|verify|purge``: the call recordings the journal links, checked and aged.

``list`` shows each recording of the calls chosen (time, tenant, status, length, channels,
masked spans, file). ``verify`` reads every file the journal sealed again and compares its
sha256: a file changed or gone is a failure (exit 1), a recording never sealed (the switch did
not close it before the call ended, or it went on after a transfer) is said so. ``purge``
deletes the files whose retention has run out (``keep_until``, set from the ``record:`` policy
when the call was recorded) and journals each deletion; ``--dry-run`` only says what it would
delete. Nothing else is ever deleted: a recording without retention is kept.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass

from tabulate import tabulate

from ivr.report.command import ReportOptionError, open_journal
from ivr.runtime.record import Recording
from ivr.runtime.recording import seal
from ivr.store import CallFilter, JournalError


@dataclass(frozen=True)
class Linked:
    """A recording with the call it belongs to."""

    call_id: str
    tenant: str | None
    recording: Recording


def linked(journal: str, where: CallFilter) -> list[Linked]:
    """Every recording of the calls matching ``where``, oldest call first."""
    store = open_journal(journal)
    try:
        return [
            Linked(entry.call_id, entry.record.tenant, recording)
            for entry in store.entries(where)
            for recording in entry.record.recordings
        ]
    except JournalError as exc:
        raise ReportOptionError(f"--journal: {exc}") from exc
    finally:
        store.close()


def _spans(recording: Recording) -> str:
    return ", ".join(f"{a:g}-{b:g}s" for a, b in recording.masked)


def list_table(items: list[Linked]) -> str:
    """The recordings as a table, one line each."""
    rows = [
        (
            item.recording.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            item.call_id,
            item.tenant or "",
            item.recording.status,
            "" if item.recording.seconds is None else f"{item.recording.seconds:g}",
            item.recording.channels or "",
            _spans(item.recording),
            item.recording.path,
        )
        for item in items
    ]
    headers = ("started (UTC)", "call", "tenant", "status", "seconds", "ch", "masked", "file")
    return tabulate(rows, headers=headers, tablefmt="simple") + "\n"


@dataclass(frozen=True)
class Finding:
    """What ``verify`` found for one recording: ``ok``, ``changed``, ``missing``, ``unsealed``."""

    item: Linked
    verdict: str
    detail: str = ""


def verify(items: list[Linked]) -> Iterator[Finding]:
    """Check each recorded file against the journal: there, and the same bytes."""
    for item in items:
        recording = item.recording
        if recording.status not in ("recorded", "stopped"):
            continue
        if recording.sha256 is None:
            # Nothing to hold it to: the switch never closed it while the call was ours (or it
            # was never written, as on the in-memory channel of ivr test).
            gone = "" if os.path.exists(recording.path) else "; the file is not there"
            yield Finding(item, "unsealed", (recording.detail or "no hash was journaled") + gone)
        elif not os.path.exists(recording.path):
            yield Finding(item, "missing", "the file is gone")
        else:
            try:
                _, _, digest = seal(recording.path)
            except OSError as exc:
                yield Finding(item, "missing", f"cannot read it: {exc.strerror}")
                continue
            if digest != recording.sha256:
                yield Finding(item, "changed", f"sha256 {digest} is not the journaled one")
            else:
                yield Finding(item, "ok")


def due(items: list[Linked], now: dt.datetime) -> list[Linked]:
    """The recordings whose retention has run out and whose file is still to be deleted."""
    return [
        item
        for item in items
        if item.recording.keep_until is not None
        and item.recording.keep_until <= now
        and item.recording.status in ("recorded", "stopped")
    ]


def purge(journal: str, items: list[Linked], now: dt.datetime) -> list[tuple[Linked, str]]:
    """Delete the files of ``items`` and journal each; returns what happened to each."""
    done = []
    store = open_journal(journal)
    try:
        for item in items:
            recording = item.recording
            try:
                os.remove(recording.path)
                what = "deleted"
            except FileNotFoundError:
                what = "already gone"
            except OSError as exc:
                done.append((item, f"not deleted: {exc.strerror}"))
                continue
            kept = recording.keep_until.strftime("%Y-%m-%d %H:%M")
            store.mark_recording(
                item.call_id,
                recording.path,
                "deleted",
                f"purged {now:%Y-%m-%d %H:%M} UTC: kept until {kept} UTC ({what})",
            )
            done.append((item, what))
    except JournalError as exc:
        raise ReportOptionError(f"--journal: {exc}") from exc
    finally:
        store.close()
    return done
