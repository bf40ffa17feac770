"""campaigns.yaml: outbound campaigns and surveys (DESIGN.md section 9), checked like the others.

Only the file's contract lives here so far: the keys a campaign takes, checked with positions in
every message by ``ivr validate`` and published by ``ivr schema --kind campaigns``. Nothing dials
yet; the dialer will read the ``Campaign`` objects this loader returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ivr.flow.config import WeeklyHours, complete, named_entries, top_mapping
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
from ivr.flow.source import Diagnostics, LDict, Mark

MODES = ["preview", "progressive", "predictive", "unattended"]
"""How contacts are dialled: ``preview`` shows the agent the contact first, ``progressive``
dials when an agent is free, ``predictive`` dials ahead of free agents, ``unattended`` plays the
flow with no agent."""
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")

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
    "max_attempts": Number("Calls to one contact at most", minimum=1, maximum=20),
    "retry": Obj(
        "How long to wait before calling a contact again, per result",
        fields={
            "busy": Duration("After a busy line"),
            "no_answer": Duration("After no answer"),
            "machine": Duration("After an answering machine"),
        },
    ),
    "max_abandon_rate": Percent(
        "Of live answers, over 24 h and the whole campaign; dialling slows down to keep it"
    ),
    "abandon_message": PromptField(
        "Played within 2 s of answer when no agent is free (then the call ends)"
    ),
    "dnc": ListOf(Text(), "Do-not-call lists (CSV files of numbers) never dialled"),
    "amd": Obj(
        "What to do when answering-machine detection decides",
        fields={
            "machine": Text("On a machine", choices=["leave_message", "hang_up"]),
            "unknown": Text("When detection cannot tell", choices=["human", "machine"]),
        },
    ),
}


@dataclass
class Campaign:
    """One outbound campaign from campaigns.yaml, checked."""

    name: str
    flow: str
    contacts: dict[str, Any]
    options: dict[str, Any]
    mark: Mark | None = None


def load_campaigns(doc: Any, name: str, diag: Diagnostics) -> dict[str, Campaign]:
    """Read campaigns.yaml."""
    body = top_mapping(doc, "campaigns", name, diag)
    out: dict[str, Campaign] = {}
    if body is None:
        return out
    for key, value in named_entries(body, diag, "campaign"):
        opts = check_options(value, CAMPAIGN_FIELDS, CheckContext(diag))
        if not complete(opts, CAMPAIGN_FIELDS):
            continue
        rest = {k: v for k, v in opts.items() if k not in ("flow", "contacts")}
        out[key] = Campaign(key, opts["flow"], opts["contacts"], rest, body.key_mark(key))
    return out
