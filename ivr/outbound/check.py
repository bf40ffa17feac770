"""What ``ivr validate`` checks of a campaign that needs its files: contacts and do-not-call lists.

campaigns.yaml itself is checked by ``ivr.flow.campaigns``; here the files it names are read as
the dialer will read them. A missing file or column is an error at the campaigns.yaml key naming
it; a row left out (a bad number, an unknown time zone, a duplicate) is a warning at its CSV
line; contacts whose time zone comes from their number, and contacts the window never reaches
in all their zones at once, are counted in a warning. SQL contacts are read when the database
is a SQLite file; other databases are not reached at validation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.flow.campaigns import Campaign
from ivr.flow.source import LDict, Mark
from ivr.outbound.contacts import ContactList, ContactsError, RowProblem, load_contacts
from ivr.outbound.dnc import DncFileError, lists_of, load_do_not_call
from ivr.outbound.rules import DialRules, next_open

if TYPE_CHECKING:
    from ivr.flow.compiler import Project

MAX_ROW_WARNINGS = 20
"""Rows left out that are each reported; the others are counted in one more warning."""


def check_campaign(project: Project, campaign: Campaign) -> None:
    """Read the campaign's contacts and do-not-call lists; report what is wrong in them.

    A campaign made in code rather than read from campaigns.yaml (no ``spec``) has no positions
    to report at and is not checked.
    """
    spec = campaign.spec
    if spec is None:
        return
    where = spec.get("contacts")
    contacts_mark = spec.value_mark("contacts")
    region = campaign.options.get("region")
    if _readable_here(campaign.contacts):
        try:
            contacts = load_contacts(campaign.contacts, project.folder, region)
        except ContactsError as exc:
            mark = (
                where.value_mark(exc.key)
                if isinstance(where, LDict) and exc.key in where
                else contacts_mark
            )
            project.diag.error(f"campaign '{campaign.name}': {exc}", mark)
        else:
            _report_rows(project, campaign.name, contacts.problems)
            _report_zones(project, campaign, contacts, contacts_mark)
    tenant = project.tenants.get(campaign.options.get("tenant") or "")
    for path, mark in lists_of(campaign, tenant):
        try:
            dnc = load_do_not_call([path], project.folder, region)
        except DncFileError as exc:
            project.diag.error(f"campaign '{campaign.name}': do-not-call list: {exc}", mark)
            continue
        _report_rows(project, campaign.name, dnc.problems)


def _readable_here(contacts: dict) -> bool:
    """Whether validation reads these contacts: a CSV file, or an SQLite database."""
    if contacts.get("csv") is not None:
        return True
    return str(contacts.get("sql") or "").startswith("sqlite")


def _report_rows(project: Project, name: str, problems: list[RowProblem]) -> None:
    for source in {problem.source for problem in problems}:
        path = Path(source)
        if path.is_file():
            # Kept so that each warning quotes its row, as warnings in YAML files do.
            project.sources.add(source, path.read_text(encoding="utf-8-sig", errors="replace"))
    for problem in problems[:MAX_ROW_WARNINGS]:
        project.diag.warning(
            f"campaign '{name}': {problem.message}", Mark(problem.source, problem.line, 1)
        )
    if len(problems) > MAX_ROW_WARNINGS:
        last = problems[-1]
        project.diag.warning(
            f"campaign '{name}': {len(problems) - MAX_ROW_WARNINGS} more rows of "
            f"{last.source} are left out as well",
            Mark(last.source, last.line, 1),
        )


def _report_zones(
    project: Project, campaign: Campaign, contacts: ContactList, mark: Mark | None
) -> None:
    guessed = contacts.from_number
    if guessed:
        project.diag.warning(
            f"campaign '{campaign.name}': {len(guessed)} of {len(contacts.contacts)} contacts "
            "have no time zone in their row and take their number's (country and area code); "
            "where that is several zones, they are called only while the window is open in "
            "every one",
            mark,
        )
    window = DialRules.of(campaign).window
    now = dt.datetime.now(dt.UTC)
    reachable: dict[tuple, bool] = {}
    never = []
    for contact in contacts.contacts:
        if contact.zones not in reachable:
            reachable[contact.zones] = next_open(window, contact.zones, now) is not None
        if not reachable[contact.zones]:
            never.append(contact)
    if never:
        project.diag.warning(
            f"campaign '{campaign.name}': {len(never)} contacts are never called: the window "
            "is never open in all their time zones at once (first: "
            f"{never[0].number}, line {never[0].line}); give their rows a time zone",
            mark,
        )
