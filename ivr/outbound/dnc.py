"""Do-not-call lists: numbers no campaign dials, whoever asks.

Three kinds of list apply to a campaign, all CSV files relative to the folder: the campaign's own
(``dnc:`` in the campaign), its tenant's (``dnc:`` in tenants.yaml) and the platform's (``dnc:``
beside ``campaigns:``). A file holds one number per row, in its ``number`` column when its first
row names one, else in its first column (a first row that is no number is taken as a header).
Numbers are normalised as the contacts are, so ``(212) 555-0123`` in a list stops
``+12125550123`` in the contacts. A lookup is one set membership test.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.errors import IvrError
from ivr.flow.campaigns import Campaign
from ivr.flow.config import Tenant
from ivr.flow.source import LList, Mark
from ivr.outbound.contacts import RowProblem
from ivr.outbound.numbers import BadNumber, normalise

NUMBER_COLUMN = "number"


class DncFileError(IvrError):
    """A do-not-call file that cannot be read at all.

    Attributes:
        path: the file.
    """

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class DoNotCall:
    """The numbers of several do-not-call lists, and which list named each first.

    Attributes:
        lists: for each number (E.164), the file that lists it.
        problems: the rows left out (numbers that could not be read).
    """

    lists: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    def __contains__(self, number: str) -> bool:
        return number in self.lists

    def __len__(self) -> int:
        return len(self.lists)

    def listed_by(self, number: str) -> str | None:
        """The file that forbids calling ``number`` (E.164), or None when none does."""
        return self.lists.get(number)


def lists_of(campaign: Campaign, tenant: Tenant | None) -> list[tuple[str, Mark | None]]:
    """The do-not-call files that apply to a campaign, each once, with where each is named.

    The campaign's own, then its tenant's, then those beside ``campaigns:``.
    """
    own = campaign.spec.get("dnc") if campaign.spec is not None else None
    files: list[tuple[str, Mark | None]] = [
        (path, own.item_mark(i) if isinstance(own, LList) else None)
        for i, path in enumerate(campaign.options.get("dnc") or [])
    ]
    files.extend(tenant.dnc if tenant is not None else [])
    files.extend(campaign.global_dnc)
    unique: dict[str, Mark | None] = {}
    for path, mark in files:
        unique.setdefault(path, mark)
    return list(unique.items())


def load_do_not_call(paths: Iterable[str], folder: Path, region: str | None = None) -> DoNotCall:
    """Read do-not-call files into one list.

    Args:
        paths: the files, relative to ``folder``.
        folder: the flows folder.
        region: the country (ISO code) of national numbers in the files.

    Raises:
        DncFileError: a file is missing or unreadable (which one, in ``path``).
    """
    out = DoNotCall()
    for name in paths:
        path = folder / name
        for line, text in _numbers(path):
            try:
                number = normalise(text, region)
            except BadNumber as exc:
                if line == 1:
                    continue  # a header such as "phone"
                out.problems.append(RowProblem(str(path), line, f"{exc}; the row is ignored"))
                continue
            out.lists.setdefault(number, str(path))
    return out


def _numbers(path: Path) -> list[tuple[int, str]]:
    """Each row's number as written, with its line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            column = 0
            found = []
            start = 1
            for fields in reader:
                line, start = start, reader.line_num + 1
                names = [f.strip().lower() for f in fields]
                if line == 1 and NUMBER_COLUMN in names:
                    column = names.index(NUMBER_COLUMN)
                    continue
                if len(fields) > column and fields[column].strip():
                    found.append((line, fields[column]))
            return found
    except FileNotFoundError as exc:
        raise DncFileError(f"cannot open {path}: no such file", str(path)) from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DncFileError(f"cannot read {path}: {exc}", str(path)) from exc
