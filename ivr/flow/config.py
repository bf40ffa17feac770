"""The YAML files beside the flows: queues, agents, opening-hours schedules and tenants.

Each file is optional and validated the same way as a flow, with positions in every message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.flow.fields import (
    INVALID,
    CheckContext,
    Duration,
    Field,
    ListOf,
    Number,
    Text,
    check_options,
    complete,
    describe,
)
from ivr.flow.recording import RecordPolicy, record_field, record_policy
from ivr.flow.source import Diagnostics, LDict, LList, Mark

STRATEGIES = ["longest_idle", "round_robin", "ring_all", "fewest_calls", "skills"]
AGENT_STATES = [
    "available",
    "busy",
    "logged_out",
    "no_answer",
    "on_break",
    "line_busy",
    "unreachable",
]
"""Agent states a scenario case may give (DESIGN.md §5): the agent's state in the queues and how
their phone behaves. ``busy`` is on another call; ``no_answer`` rings out; ``line_busy`` is
available but the phone answers busy; ``unreachable`` is available but the phone is not
registered."""
STARTING_STATES = ["available", "logged_out", "on_break"]
DEFAULT_HOLD_MUSIC = "local_stream://moh"
DEFAULT_CALLBACK_ENDPOINT = "loopback/{number}/default"
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_\-]*"


@dataclass
class QueueConfig:
    """An operator queue from queues.yaml."""

    name: str
    agents: list[str]
    strategy: str = "longest_idle"
    hold_music: str | None = None
    ring_timeout: float = 15.0
    wrap_up: float = 10.0
    service_level: float = 20.0
    max_no_answer: int = 3
    skills: list[str] = field(default_factory=list)
    callback_endpoint: str = DEFAULT_CALLBACK_ENDPOINT
    record: RecordPolicy | None = None
    """Records this queue's calls from the agent's answer, unless the call is recorded already."""
    mark: Mark | None = None
    agent_marks: list[Mark] = field(default_factory=list)


@dataclass
class AgentConfig:
    """An agent (operator) from agents.yaml: a FreeSWITCH endpoint and skills."""

    id: str
    name: str
    endpoint: str
    skills: list[str] = field(default_factory=list)
    mark: Mark | None = None
    initial_state: str = "available"


@dataclass
class Schedule:
    """Opening hours: weekly ranges in minutes since midnight, holidays, in a time zone."""

    name: str
    timezone: ZoneInfo
    weekly: dict[int, list[tuple[int, int]]]
    holidays: set[dt.date]
    mark: Mark | None = None

    def is_holiday(self, when: dt.datetime) -> bool:
        return when.astimezone(self.timezone).date() in self.holidays

    def is_open(self, when: dt.datetime) -> bool:
        """Whether the schedule is open at ``when`` (an aware datetime), in its own time zone."""
        local = when.astimezone(self.timezone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.weekly.get(local.weekday(), []))


@dataclass
class Tenant:
    """A client company served from this platform: its numbers, flow, language and voice."""

    id: str
    name: str
    numbers: list[str]
    flow: str
    language: str | None = None
    voice: str | None = None
    mark: Mark | None = None
    flow_mark: Mark | None = None
    hold_music: str | None = None
    record: RecordPolicy | None = None
    """Records this company's calls; wins over the flow's ``record:``."""
    dnc: list[tuple[str, Mark]] = field(default_factory=list)
    """Do-not-call files (relative to the folder) none of its campaigns dials, and where named."""
    timezone: ZoneInfo | None = None
    """Where the company's days and hours are counted in reports (None: the report's zone)."""


class TimeZoneField(Field):
    """An IANA time zone name such as ``Europe/Sofia``; normalised to a ZoneInfo."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            ctx.diag.error(
                f"unknown time zone {describe(value)}; use an IANA name "
                "such as Europe/Sofia or America/New_York",
                mark,
            )
            return INVALID

    def type_doc(self) -> str:
        return "time zone (IANA name, e.g. Europe/Sofia)"

    def schema(self) -> dict:
        return {"type": "string", "pattern": r"^[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*$"}


QUEUE_FIELDS = {
    "agents": ListOf(Text(), "Agent ids from agents.yaml, in order of preference", required=True),
    "strategy": Text("How the next agent is chosen", choices=STRATEGIES, default="longest_idle"),
    "hold_music": Text(
        "What callers hear while waiting (default: the tenant's, else local_stream://moh)"
    ),
    "ring_timeout": Duration(
        "How long one agent's phone rings before the next is tried", default=15.0
    ),
    "wrap_up": Duration("Agent rest after each call", default=10.0),
    "service_level": Duration("Answer-time target, for reports", default=20.0),
    "max_no_answer": Number(
        "Calls an agent may leave unanswered in a row before being put on a break",
        minimum=1,
        default=3,
    ),
    "skills": ListOf(Text(), "Skills every agent taking this queue's calls must have"),
    "callback_endpoint": Text(
        "Where callbacks are dialed, with {number} for the caller's number",
        pattern=r"[a-z_]+/\S*\{number\}\S*",
        pattern_doc="an endpoint with {number}, e.g. sofia/gateway/pstn/{number}",
        default=DEFAULT_CALLBACK_ENDPOINT,
    ),
    "record": record_field("agent"),
}
AGENT_FIELDS = {
    "name": Text("The agent's name", required=True),
    "endpoint": Text(
        "FreeSWITCH endpoint, e.g. user/1001",
        required=True,
        pattern=r"[a-z_]+/\S+",
        pattern_doc="an endpoint like user/1001",
    ),
    "skills": ListOf(Text(), "Skills such as languages: [en, ru]"),
    "initial_state": Text(
        "The agent's state when the controller first meets them (later the store keeps it)",
        choices=STARTING_STATES,
        default="available",
    ),
}
TENANT_FIELDS = {
    "name": Text("The company name agents hear and see", required=True),
    "numbers": ListOf(
        Text(pattern=r"\+?[0-9*#]+", pattern_doc="a phone number (digits)"),
        "Dialed numbers that belong to this company",
        required=True,
    ),
    "flow": Text("The flow id that answers these numbers", required=True),
    "language": Text(
        "Default language of this company's calls",
        pattern=r"[a-z]{2}(-[a-z]{2})?",
        pattern_doc="a language code like en, ru, bg",
    ),
    "voice": Text("TTS voice for this company"),
    "hold_music": Text("What this company's callers hear while waiting, unless the queue says"),
    "record": record_field("answer"),
    "dnc": ListOf(
        Text(),
        "Do-not-call lists (CSV files of numbers, relative to the folder) none of this "
        "company's campaigns dials",
    ),
    "timezone": TimeZoneField(
        "Where this company's days and intervals are counted in reports (default: the "
        "report's --timezone)"
    ),
}
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


def _any_case(word: str) -> str:
    """A regular expression matching ``word`` in any case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


_DAY = "(?:" + "|".join(_any_case(d) for d in _DAYS) + ")"
_DAY_PIECE = rf"\s*{_DAY}\s*(?:-\s*{_DAY}\s*)?"
DAYS_PATTERN = rf"^{_DAY_PIECE}(?:,{_DAY_PIECE})*$"
"""Day keys of weekly hours: ``mon``, ``mon-fri``, ``sat,sun`` (the loader ignores case)."""
RANGE_PATTERN = r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


class WeeklyHours(Field):
    """Opening hours per day: ``{mon-fri: "09:00-18:00", sat: closed}``.

    A day may have several ranges (``["09:00-12:00", "13:00-18:00"]`` for a lunch break); days
    not named are closed. Normalised to minutes since midnight per weekday (0 is Monday).
    """

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        return _weekly(value, mark, ctx.diag)

    def type_doc(self) -> str:
        return 'days (mon, mon-fri, sat,sun) to "HH:MM-HH:MM", a list of those, or closed'

    def schema(self) -> dict:
        one = {"type": "string", "pattern": RANGE_PATTERN}
        return {
            "type": "object",
            "propertyNames": {"pattern": DAYS_PATTERN},
            "additionalProperties": {
                "anyOf": [{"const": "closed"}, one, {"type": "array", "items": one}]
            },
        }


class Holidays(Field):
    """Dates (``YYYY-MM-DD``) the schedule is closed all day, whatever ``weekly`` says."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        holidays: set[dt.date] = set()
        for i, day in enumerate(value if isinstance(value, list) else [value]):
            try:
                holidays.add(dt.date.fromisoformat(str(day)))
            except ValueError:
                where = value.item_mark(i) if isinstance(value, LList) else mark
                ctx.diag.error(f"bad holiday {describe(day)}: expected a date YYYY-MM-DD", where)
                return INVALID
        return holidays

    def type_doc(self) -> str:
        return "list of dates (YYYY-MM-DD)"

    def schema(self) -> dict:
        one = {"type": "string", "pattern": DATE_PATTERN}
        return {"anyOf": [one, {"type": "array", "items": one}]}


SCHEDULE_FIELDS = {
    "timezone": TimeZoneField(
        "The time zone the hours and holidays are in, e.g. Europe/Sofia", required=True
    ),
    "weekly": WeeklyHours(
        'Opening hours per day, e.g. {mon-fri: "09:00-18:00", sat: "10:00-14:00"}; several '
        'ranges for a break: {mon-fri: ["09:00-12:00", "13:00-18:00"]}; days not named are closed',
        required=True,
    ),
    "holidays": Holidays(
        "Dates closed all day whatever weekly says (YYYY-MM-DD), in the schedule's time zone"
    ),
}


def top_mapping(doc: Any, key: str, name: str, diag: Diagnostics) -> LDict | None:
    """The mapping under a config file's one top-level key (``queues:``), or None after an error."""
    if not isinstance(doc, LDict) or set(doc) != {key}:
        mark = doc.mark if isinstance(doc, LDict | LList) else Mark(name, 1, 1)
        diag.error(f"{name} must have one top-level key '{key}:' holding a mapping", mark)
        return None
    body = doc[key]
    if not isinstance(body, LDict):
        diag.error(f"'{key}:' must be a mapping of names to settings", doc.value_mark(key))
        return None
    return body


def named_entries(body: LDict, diag: Diagnostics, what: str):
    """The well-named entries of such a mapping that are mappings; the others are reported."""
    for key, value in body.items():
        if not re.fullmatch(_NAME, key):
            diag.error(
                f"'{key}' is not a valid {what} name (letters, digits, _ and -)", body.key_mark(key)
            )
            continue
        if not isinstance(value, LDict):
            diag.error(
                f"{what} '{key}' must be a mapping of settings, got {describe(value)}",
                body.value_mark(key),
            )
            continue
        yield key, value


def load_queues(doc: Any, name: str, diag: Diagnostics) -> dict[str, QueueConfig]:
    """Read queues.yaml."""
    body = top_mapping(doc, "queues", name, diag)
    out: dict[str, QueueConfig] = {}
    if body is None:
        return out
    for key, value in named_entries(body, diag, "queue"):
        ctx = CheckContext(diag)
        opts = check_options(value, QUEUE_FIELDS, ctx)
        if not complete(opts, QUEUE_FIELDS):
            continue
        record = record_policy(opts.pop("record"), f"queue {key}", value, ctx)
        if record is not None and record.start != "agent":
            diag.error(
                "a queue's recording starts when an agent answers (from: agent); to record "
                "from the answer, give record: to the flow or the tenant",
                value.value_mark("record"),
            )
        given = {k: v for k, v in opts.items() if v is not None and k != "agents"}
        given["record"] = record
        agents = opts["agents"]
        marks = value["agents"].item_marks if isinstance(value.get("agents"), LList) else []
        out[key] = QueueConfig(key, agents, mark=body.key_mark(key), agent_marks=marks, **given)
    return out


def load_agents(doc: Any, name: str, diag: Diagnostics) -> dict[str, AgentConfig]:
    """Read agents.yaml."""
    body = top_mapping(doc, "agents", name, diag)
    out: dict[str, AgentConfig] = {}
    if body is None:
        return out
    for key, value in named_entries(body, diag, "agent"):
        opts = check_options(value, AGENT_FIELDS, CheckContext(diag))
        if not complete(opts, AGENT_FIELDS):
            continue
        out[key] = AgentConfig(
            key,
            opts["name"],
            opts["endpoint"],
            opts["skills"] or [],
            body.key_mark(key),
            opts["initial_state"] or "available",
        )
    return out


def load_tenants(doc: Any, name: str, diag: Diagnostics) -> dict[str, Tenant]:
    """Read tenants.yaml; a number may belong to one tenant only."""
    body = top_mapping(doc, "tenants", name, diag)
    out: dict[str, Tenant] = {}
    if body is None:
        return out
    owners: dict[str, str] = {}
    for key, value in named_entries(body, diag, "tenant"):
        ctx = CheckContext(diag)
        opts = check_options(value, TENANT_FIELDS, ctx)
        if not complete(opts, TENANT_FIELDS):
            continue
        for i, number in enumerate(opts["numbers"]):
            if number in owners:
                diag.error(
                    f"number {number} already belongs to tenant '{owners[number]}'",
                    value["numbers"].item_mark(i),
                )
            owners[number] = key
        out[key] = Tenant(
            key,
            opts["name"],
            opts["numbers"],
            opts["flow"],
            opts["language"],
            opts["voice"],
            body.key_mark(key),
            value.value_mark("flow"),
            opts["hold_music"],
            record_policy(opts["record"], f"tenant {key}", value, ctx),
            [(path, value["dnc"].item_mark(i)) for i, path in enumerate(opts["dnc"] or [])],
            opts["timezone"],
        )
    return out


def _weekly(value: Any, mark: Mark, diag: Diagnostics) -> dict[int, list[tuple[int, int]]]:
    weekly: dict[int, list[tuple[int, int]]] = {}
    if not isinstance(value, LDict):
        diag.error('expected day ranges, e.g. {mon-fri: "09:00-18:00", sat: closed}', mark)
        return weekly
    for days_text, hours in value.items():
        days = _days(days_text)
        if days is None:
            diag.error(
                f"'{days_text}' is not a day or day range; use mon, tue, wed, thu, fri, sat, sun, "
                "ranges like mon-fri, or lists like mon,wed",
                value.key_mark(days_text),
            )
            continue
        ranges = _ranges(hours, value.value_mark(days_text), diag)
        for day in days:
            weekly.setdefault(day, []).extend(ranges)
    return weekly


def _days(text: str) -> list[int] | None:
    days: list[int] = []
    for piece in text.lower().replace(" ", "").split(","):
        if "-" in piece:
            first, _, last = piece.partition("-")
            if first not in _DAYS or last not in _DAYS:
                return None
            a, b = _DAYS.index(first), _DAYS.index(last)
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif piece in _DAYS:
            days.append(_DAYS.index(piece))
        else:
            return None
    return days


def _ranges(value: Any, mark: Mark, diag: Diagnostics) -> list[tuple[int, int]]:
    if value == "closed":
        return []
    items = value if isinstance(value, LList) else [value]
    out = []
    for item in items:
        match = _RANGE.fullmatch(item) if isinstance(item, str) else None
        if not match:
            diag.error(
                f'bad opening hours {describe(item)}: expected "HH:MM-HH:MM" or closed', mark
            )
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            diag.error(
                f"bad opening hours '{item}': the end must come after the start, "
                "within one day (00:00-24:00)",
                mark,
            )
            continue
        out.append((start, end))
    return out


def load_schedules(doc: Any, name: str, diag: Diagnostics) -> dict[str, Schedule]:
    """Read schedules.yaml."""
    body = top_mapping(doc, "schedules", name, diag)
    out: dict[str, Schedule] = {}
    if body is None:
        return out
    for key, value in named_entries(body, diag, "schedule"):
        opts = check_options(value, SCHEDULE_FIELDS, CheckContext(diag))
        # A mistake in one day's hours is reported but keeps the schedule, so the flows using
        # it are not also told that it does not exist.
        if not complete(opts, SCHEDULE_FIELDS):
            continue
        out[key] = Schedule(
            key, opts["timezone"], opts["weekly"], opts["holidays"] or set(), body.key_mark(key)
        )
    return out
