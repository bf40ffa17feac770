"""campaigns.yaml: outbound campaigns and surveys (DESIGN.md section 9), checked like the others.

The file's contract lives here: the keys a campaign takes and the do-not-call lists beside
``campaigns:``, checked with positions in every message by ``ivr validate`` and published by
``ivr schema --kind campaigns``. What needs the files a campaign names (its contacts, its lists)
is checked by ``ivr.outbound``. Nothing dials yet; the dialer will read the ``Campaign`` objects
this loader returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ivr.flow.config import WeeklyHours, complete, named_entries
from ivr.flow.fields import (
    INVALID,
    CheckContext,
    Duration,
    Field,
    ListOf,
    Number,
    Obj,
    PromptField,
    Text,
    check_options,
    describe,
    object_schema,
)
from ivr.flow.source import Diagnostics, LDict, LList, Mark

MODES = ["preview", "progressive", "predictive", "unattended"]
"""How contacts are dialled: ``preview`` shows the agent the contact first, ``progressive``
dials when an agent is free, ``predictive`` dials ahead of free agents, ``unattended`` plays the
flow with no agent."""
RETRY_DEFAULTS = {
    "busy": 10 * 60.0,
    "no_answer": 2 * 3600.0,
    "machine": 4 * 3600.0,
    "failed": 30 * 60.0,
    "abandoned": 72 * 3600.0,
}
"""Seconds before a contact is called again after each result, unless ``retry:`` says."""
MIN_ABANDONED_WAIT = 72 * 3600.0
"""A call abandoned (answered with no agent free) is not repeated within 72 h (UK Ofcom)."""
DEFAULT_MAX_ATTEMPTS = 3
LEGAL_HOURS = (8 * 60, 21 * 60)
"""08:00-21:00 in the called person's time, the US Telemarketing Sales Rule's hours."""
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

CSV_CONTACTS = {
    "csv": Text("A CSV file of contacts, relative to the folder", required=True),
    "number": Text("The column with the number to dial (default: number)"),
    "timezone": Text("The column with the contact's time zone, for the calling window"),
}
SQL_CONTACTS = {
    "sql": Text("A SQLAlchemy database URL", required=True),
    "query": Text("The query that lists contacts", required=True),
    "number": Text("The column with the number to dial (default: number)"),
    "timezone": Text("The column with the contact's time zone, for the calling window"),
}


class Contacts(Field):
    """Who to call: ``{csv: FILE, number: COLUMN, timezone: COLUMN}`` or an SQL query."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LDict) or ("csv" in value) == ("sql" in value):
            ctx.diag.error(
                "contacts: expected {csv: FILE, number: COLUMN} or {sql: URL, query: ...}, "
                f"got {describe(value)}",
                mark,
            )
            return INVALID
        return check_options(value, CSV_CONTACTS if "csv" in value else SQL_CONTACTS, ctx)

    def type_doc(self) -> str:
        return "mapping: {csv: FILE, number:, timezone:} or {sql: URL, query:, number:, timezone:}"

    def schema(self) -> dict:
        return {"oneOf": [object_schema(CSV_CONTACTS), object_schema(SQL_CONTACTS)]}


class Percent(Field):
    """A share written ``3%``; normalised to a fraction (0.03)."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        match = _PERCENT.fullmatch(value) if isinstance(value, str) else None
        if match is None or float(match.group(1)) > 100:
            ctx.diag.error(f"expected a percentage from 0% to 100%, got {describe(value)}", mark)
            return INVALID
        return float(match.group(1)) / 100

    def type_doc(self) -> str:
        return "percentage (3%)"

    def schema(self) -> dict:
        return {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"}


CAMPAIGN_FIELDS: dict[str, Field] = {
    "tenant": Text("The company the campaign calls for (tenants.yaml)"),
    "flow": Text("The flow a person who answers hears", required=True),
    "contacts": Contacts("Who to call", required=True),
    "mode": Text("How contacts are dialled (default preview)", choices=MODES),
    "queue": Text("The queue whose agents take answered calls (not for unattended)"),
    "caller_id": Text(
        "The number shown to the people called",
        pattern=r"\+?[0-9]+",
        pattern_doc="a phone number (digits)",
    ),
    "window": WeeklyHours(
        'When contacts may be called, in their own time zone, e.g. {mon-fri: "09:00-20:00"}'
    ),
    "max_attempts": Number(
        "Calls to one contact at most", minimum=1, maximum=20, default=DEFAULT_MAX_ATTEMPTS
    ),
    "region": Text(
        "The country of numbers written without +country code (ISO code: US, GB, BG)",
        pattern=r"[A-Z]{2}",
        pattern_doc="a two-letter country code in capitals, e.g. US",
    ),
    "retry": Obj(
        "How long to wait before calling a contact again, per result",
        fields={
            "busy": Duration("After a busy line", default=RETRY_DEFAULTS["busy"]),
            "no_answer": Duration("After no answer", default=RETRY_DEFAULTS["no_answer"]),
            "machine": Duration("After an answering machine", default=RETRY_DEFAULTS["machine"]),
            "failed": Duration(
                "After a call the network could not place", default=RETRY_DEFAULTS["failed"]
            ),
            "abandoned": Duration(
                "After an answered call no agent took (at least 72h)",
                default=RETRY_DEFAULTS["abandoned"],
            ),
        },
    ),
    "max_abandon_rate": Percent(
        "Of live answers, over 24 h and the whole campaign; dialling slows down to keep it"
    ),
    "abandon_message": PromptField(
        "Played within 2 s of answer when no agent is free (then the call ends)"
    ),
    "dnc": ListOf(
        Text(), "Do-not-call lists (CSV files of numbers, relative to the folder) never dialled"
    ),
    "amd": Obj(
        "What to do when answering-machine detection decides",
        fields={
            "machine": Text("On a machine", choices=["leave_message", "hang_up"]),
            "unknown": Text("When detection cannot tell", choices=["human", "machine"]),
        },
    ),
}


TOP_FIELDS: dict[str, Field] = {
    "dnc": ListOf(
        Text(),
        "Do-not-call lists (CSV files of numbers, relative to the folder) no campaign dials",
    ),
}
"""The keys beside ``campaigns:`` at the top of the file."""


@dataclass
class Campaign:
    """One outbound campaign from campaigns.yaml, checked.

    Attributes:
        name: the campaign's name.
        flow: the flow a person who answers hears.
        contacts: where the contacts come from (``csv:`` or ``sql:`` with its columns).
        options: the other keys, normalised (``None`` where not given, defaults filled in).
        mark: where the campaign's name stands.
        spec: the campaign's mapping as written, for the positions of its keys.
        global_dnc: the do-not-call files beside ``campaigns:``, with where each is named.
    """

    name: str
    flow: str
    contacts: dict[str, Any]
    options: dict[str, Any]
    mark: Mark | None = None
    spec: LDict | None = None
    global_dnc: list[tuple[str, Mark]] = field(default_factory=list)


def load_campaigns(doc: Any, name: str, diag: Diagnostics) -> dict[str, Campaign]:
    """Read campaigns.yaml: ``campaigns:`` and, beside it, an optional ``dnc:`` list."""
    if not isinstance(doc, LDict) or "campaigns" not in doc:
        mark = doc.mark if isinstance(doc, LDict | LList) else Mark(name, 1, 1)
        diag.error(
            f"{name} must have the top-level key 'campaigns:' holding a mapping "
            "(and may have 'dnc:' beside it)",
            mark,
        )
        return {}
    body = doc["campaigns"]
    if not isinstance(body, LDict):
        diag.error(
            "'campaigns:' must be a mapping of names to settings", doc.value_mark("campaigns")
        )
        return {}
    top = check_options(doc, TOP_FIELDS, CheckContext(diag), ignore=("campaigns",))
    shared = doc.get("dnc")
    global_dnc = (
        [(path, shared.item_mark(i)) for i, path in enumerate(top["dnc"])]
        if isinstance(shared, LList) and top.get("dnc") not in (None, INVALID)
        else []
    )
    out: dict[str, Campaign] = {}
    for key, value in named_entries(body, diag, "campaign"):
        opts = check_options(value, CAMPAIGN_FIELDS, CheckContext(diag))
        if not complete(opts, CAMPAIGN_FIELDS):
            continue
        _check_rules(opts, value, diag)
        rest = {k: v for k, v in opts.items() if k not in ("flow", "contacts")}
        rest["retry"] = {
            **RETRY_DEFAULTS,
            **{k: v for k, v in (opts["retry"] or {}).items() if v is not None},
        }
        out[key] = Campaign(
            key, opts["flow"], opts["contacts"], rest, body.key_mark(key), value, global_dnc
        )
    return out


def _check_rules(opts: dict[str, Any], spec: LDict, diag: Diagnostics) -> None:
    """Warn about calling hours the law frowns on; refuse a repeat too soon after an abandon."""
    abandoned = (opts["retry"] or {}).get("abandoned")
    if abandoned is not None and abandoned < MIN_ABANDONED_WAIT:
        diag.error(
            "retry.abandoned is shorter than 72h: a person whose call was abandoned (answered "
            "with no agent free) may not be called again within 72 hours (UK Ofcom)",
            spec["retry"].value_mark("abandoned"),
        )
    window = opts["window"]
    if window is None:
        diag.warning(
            "the campaign has no window: contacts are called 09:00-20:00 Monday to Saturday in "
            'their own time zone; say window: {mon-sat: "09:00-20:00"} to make it explicit',
            spec.mark,
        )
        return
    first, last = LEGAL_HOURS
    outside = sorted(
        {
            day
            for day, ranges in window.items()
            for start, end in ranges
            if start < first or end > last
        }
    )
    if outside:
        days = ", ".join(_DAY_NAMES[day] for day in outside)
        diag.warning(
            f"the window calls outside 08:00-21:00 on {days}: the US Telemarketing Sales Rule "
            "allows calls only from 8:00 to 21:00 in the called person's time",
            spec.value_mark("window"),
        )
