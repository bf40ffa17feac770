"""Scenario files (``*.test.yaml``): scripted callers and what their calls must end with.

An analyst writes cases of steps (``hear``, ``press``, ``wait``, ``hangup``) and expectations
(``path``, ``outcome``, ``goals``, ``vars``, ``agent``, ``queue``, ``callback``, ``transfer``). A
case may set agents' states (``agents: {1001: busy}``, or ``{1001: {state: busy, until: 3m}}``
for a state that ends after a while), how the caller's phone behaves when called back
(``caller_phone``) and how transfer destinations answer (``destinations: {"2000": busy}``).
The file is validated like a flow, with positions in every message; ``ivr schema --kind test``
is made from the same declarations.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.flow.config import AGENT_STATES, STARTING_STATES
from ivr.flow.fields import (
    DURATION_PATTERN,
    INVALID,
    AnyValue,
    CheckContext,
    Duration,
    Field,
    ListOf,
    MapOf,
    Number,
    Obj,
    Text,
    check_options,
    complete,
    describe,
    object_schema,
    parse_duration,
)
from ivr.flow.source import Diagnostics, LDict, LList, Mark, SourceCache, load_yaml, suggest
from ivr.runtime.memory import Step
from ivr.runtime.record import OUTCOMES
from ivr.simulator.faults import FLOOD_LIMIT, Fault, FaultError, FaultPlan

STEP_KINDS = ("hear", "press", "wait", "hangup")
CALLER_PHONES = ("available", "busy", "no_answer", "logged_out")
"""How the caller's phone behaves when called back."""
CALLBACK_STATUSES = ("scheduled", "answered", "failed")
DESTINATION_STATES = ("available", "busy", "no_answer", "unreachable")
"""How a transfer destination behaves when a ``transfer`` node with ``on_fail`` rings it."""
_KEYS = re.compile(r"[0-9*#ABCD]+")


@dataclass(frozen=True)
class AgentSetup:
    """An agent's state in a case: ``state`` from the start for ``until`` seconds, then ``then``."""

    state: str
    until: float | None = None
    then: str = "available"


AGENT_SETUP_FIELDS: dict[str, Field] = {
    "state": Text("The agent's state from the start", required=True, choices=AGENT_STATES),
    "until": Duration("When the state ends, counted from the start of the call"),
    "then": Text("The state after that (default available)", choices=STARTING_STATES),
}


class AgentSetupField(Field):
    """An agent's state in a case: a state, or ``{state: busy, until: 3m, then: available}``."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, LDict):
            opts = check_options(value, AGENT_SETUP_FIELDS, ctx)
            if not complete(opts, AGENT_SETUP_FIELDS):
                return INVALID
            return AgentSetup(opts["state"], opts["until"], opts["then"] or "available")
        state = Text(choices=AGENT_STATES).check(value, mark, ctx)
        return INVALID if state is INVALID else AgentSetup(state)

    def type_doc(self) -> str:
        return "a state, or a mapping of state, until, then"

    def schema(self) -> dict:
        return {"anyOf": [{"enum": list(AGENT_STATES)}, object_schema(AGENT_SETUP_FIELDS)]}


@dataclass
class Case:
    """One scripted call and its expectations."""

    name: str
    steps: list[Step]
    caller: str = "+15550001111"
    caller_name: str = ""
    dialed: str = ""
    at: dt.datetime | None = None
    agents: dict[str, str | AgentSetup] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    mark: Mark | None = None
    caller_phone: str = "available"
    destinations: dict[str, str] = field(default_factory=dict)
    faults: FaultPlan | None = None
    """What goes wrong on the line (run through the simulated FreeSWITCH only)."""


@dataclass
class Scenario:
    """A scenario file: the flow it tests and its cases."""

    path: Path
    flow: str
    cases: list[Case]
    flow_mark: Mark | None = None


class Steps(Field):
    """The caller's script: {hear: text}, {press: keys}, {wait: 10s} and {hangup: true} steps."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        return _steps(value, mark, ctx.diag)

    def type_doc(self) -> str:
        return "list of {hear: text}, {press: keys}, {wait: 10s}, {hangup: true}"

    def schema(self) -> dict:
        one = [
            ("hear", {"type": ["string", "number"]}, "Text played since the caller's last key"),
            ("press", {"type": ["string", "integer"], "pattern": _KEYS.pattern}, "Keys pressed"),
            ("wait", {"type": "string", "pattern": DURATION_PATTERN}, "Silence, e.g. 10s"),
            ("hangup", {"const": True}, "The caller hangs up"),
        ]
        return {
            "type": "array",
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {kind: {**spec, "description": doc}},
                        "required": [kind],
                        "additionalProperties": False,
                    }
                    for kind, spec, doc in one
                ]
            },
        }


class SignedDuration(Duration):
    """A duration that may be negative (``-1h``): how far a clock jumps."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        text = str(value).strip() if isinstance(value, str) else value
        negative = isinstance(text, str) and text.startswith("-")
        seconds = super().check(text[1:] if negative else text, mark, ctx)
        return seconds if seconds is INVALID else (-seconds if negative else seconds)

    def type_doc(self) -> str:
        return "duration, negative for back (-1h, 30s)"

    def schema(self) -> dict:
        return {"type": "string", "pattern": f"^-?({DURATION_PATTERN.strip('^$')})$"}


_SHARE = Number("Percent of the calls it strikes (default 100)", minimum=0, maximum=100)
_AFTER = Number("Events sent before it strikes (default: picked from the seed)", minimum=0)
FAULT_FIELDS: dict[str, dict[str, Field]] = {
    "drop_socket": {
        "after_events": _AFTER,
        "at": Duration("Or: the call time at which the connection breaks"),
        "calls": _SHARE,
    },
    "delay": {
        "hold": Duration("How long each event is held back (real time)", required=True),
        "after_events": _AFTER,
        "calls": _SHARE,
    },
    "lose_execute_complete": {
        "nth": Number("Which application's completion is lost, from 1", minimum=1),
        "calls": _SHARE,
    },
    "flood": {
        "count": Number("Events in the flood (default 100000)", minimum=1, maximum=FLOOD_LIMIT),
        "after_events": _AFTER,
        "calls": _SHARE,
    },
    "clock_jump": {
        "at": Duration("The call time of the jump", required=True),
        "by": SignedDuration("How far the wall clock jumps (-1h: back)", required=True),
        "calls": _SHARE,
    },
}
"""Each fault's options as a scenario file writes them (``ivr.simulator.faults``)."""
_RENAMED = {"hold": "seconds", "by": "seconds"}


class FaultsField(Field):
    """``faults: {seed: 7, inject: [{drop_socket: {after_events: 12}}, ...]}``."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LDict):
            return self._wrong(ctx, "a mapping of seed and inject", value, mark)
        opts = check_options(value, FAULTS_FIELDS, ctx)
        raw = opts.get("inject")
        if INVALID in opts.values() or not isinstance(raw, LList):
            return INVALID
        faults = []
        for i, item in enumerate(raw):
            where = raw.item_mark(i)
            if not isinstance(item, LDict) or len(item) != 1:
                ctx.diag.error(
                    f"a fault is one of {', '.join(f'{{{k}: {{...}}}}' for k in FAULT_FIELDS)}",
                    where,
                )
                continue
            kind, options = next(iter(item.items()))
            if kind not in FAULT_FIELDS:
                ctx.diag.error(
                    f"unknown fault '{kind}'{suggest(kind, list(FAULT_FIELDS))} "
                    f"(faults: {', '.join(FAULT_FIELDS)})",
                    item.key_mark(kind),
                )
                continue
            if options is None:  # `- flood:` alone: every option at its default
                options = LDict()
                options.mark = item.value_mark(kind)
                options.key_marks, options.value_marks = {}, {}
            if not isinstance(options, LDict):
                ctx.diag.error(f"{kind}: expected a mapping of options", item.value_mark(kind))
                continue
            given = check_options(options, FAULT_FIELDS[kind], ctx)
            if INVALID in given.values():
                continue
            values = {_RENAMED.get(k, k): v for k, v in given.items() if v is not None}
            if "calls" in values:
                values["calls"] = values["calls"] / 100
            try:
                faults.append(Fault(kind, **values))
            except FaultError as error:
                ctx.diag.error(str(error), where)
        return FaultPlan(opts["seed"] or 0, faults)

    def type_doc(self) -> str:
        return "mapping of seed and inject (a list of faults)"

    def schema(self) -> dict:
        return {
            "type": "object",
            "properties": {
                "seed": FAULTS_FIELDS["seed"].json_schema(),
                "inject": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {
                                "type": "object",
                                "properties": {kind: object_schema(fields)},
                                "required": [kind],
                                "additionalProperties": False,
                            }
                            for kind, fields in FAULT_FIELDS.items()
                        ]
                    },
                },
            },
            "required": ["inject"],
            "additionalProperties": False,
        }


class _FaultList(Field):
    """The faults of ``faults: inject:``, checked one by one by ``FaultsField``."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LList) or not value:
            return self._wrong(ctx, "a list of faults", value, mark)
        return value

    def type_doc(self) -> str:
        return "list of faults, each `{kind: {options}}` (the kinds below)"

    def schema(self) -> dict:
        return {"type": "array"}


FAULTS_FIELDS: dict[str, Field] = {
    "seed": Number("The seed the faults' calls and positions are picked from (default 0)"),
    "inject": _FaultList("The faults", required=True),
}
FAULTS_DOC = (
    "What goes wrong on the line, from a seed (the simulated FreeSWITCH only: "
    "ivr test --via-esl, ivr loadtest --faults)"
)

EXPECT_FIELDS: dict[str, Field] = {
    "path": ListOf(Text(), "The nodes the call visits first, in order (a prefix of its path)"),
    "visits": ListOf(Text(), "Nodes the call must visit somewhere, in any order"),
    "outcome": Text("The call's outcome", choices=list(OUTCOMES)),
    "goals": ListOf(Text(), "Exactly the goals the call reaches"),
    "vars": MapOf(AnyValue(), "Call variables and the values they must end with"),
    "agent": Text("The agent who answers"),
    "queue": Text("The queue the caller waited in"),
    "callback": Obj(
        "The callback the caller asked for",
        fields={
            "number": Text("The number called back"),
            "status": Text("How it ended", choices=list(CALLBACK_STATUSES)),
            "agent": Text("The agent who made it"),
        },
    ),
    "transfer": Text("The destination the call was transferred to (the rendered 'to:')"),
}
CASE_FIELDS: dict[str, Field] = {
    "name": Text("What this case checks", required=True),
    "caller": Text("The caller's number"),
    "caller_name": Text("The caller-ID name"),
    "dialed": Text("The number dialed (picks the tenant)"),
    "at": Text("The call clock at the start, e.g. 2026-11-23T10:00:00"),
    "agents": MapOf(
        AgentSetupField(),
        "Agent states for this case",
        key_pattern=r"[A-Za-z0-9_\-]+",
        key_doc="an agent id",
    ),
    "caller_phone": Text("How the caller's phone behaves when called back", choices=CALLER_PHONES),
    "destinations": MapOf(
        Text(choices=list(DESTINATION_STATES)),
        "How transfer destinations answer when rung (transfer nodes with on_fail); "
        "destinations not named answer after 2 s",
        key_pattern=r"[A-Za-z0-9_+*#@.:/\-]+",
        key_doc="a destination as the transfer node's 'to:' gives it",
    ),
    "steps": Steps("What the caller does, in order", required=True),
    "expect": Obj("What the call must end with", fields=EXPECT_FIELDS),
    "faults": FaultsField(FAULTS_DOC + "; over the file's faults"),
}


def _steps(value: Any, mark: Mark, diag: Diagnostics) -> list[Step]:
    steps: list[Step] = []
    if not isinstance(value, LList):
        diag.error(f"steps: expected a list of hear/press/wait/hangup, got {describe(value)}", mark)
        return steps
    for i, item in enumerate(value):
        where = value.item_mark(i)
        if not isinstance(item, LDict) or len(item) != 1:
            diag.error(
                "a step is one of {hear: text}, {press: keys}, {wait: 10s}, {hangup: true}", where
            )
            continue
        kind, arg = next(iter(item.items()))
        arg_mark = item.value_mark(kind)
        if kind not in STEP_KINDS:
            diag.error(
                f"unknown step '{kind}'{suggest(kind, list(STEP_KINDS))} (steps: "
                f"{', '.join(STEP_KINDS)})",
                item.key_mark(kind),
            )
        elif kind == "hear":
            if not isinstance(arg, str | int | float) or isinstance(arg, bool) or arg == "":
                diag.error(f"hear: expected text to listen for, got {describe(arg)}", arg_mark)
            else:
                steps.append(Step("hear", str(arg), where.line))
        elif kind == "press":
            keys = str(arg) if isinstance(arg, str | int) and not isinstance(arg, bool) else ""
            if not _KEYS.fullmatch(keys):
                diag.error(f"press: expected keys (0-9, *, #), got {describe(arg)}", arg_mark)
            else:
                steps.append(Step("press", keys, where.line))
        elif kind == "wait":
            seconds = parse_duration(arg)
            if seconds is None:
                diag.error(
                    f"bad duration {describe(arg)}: expected a number followed by ms, s, "
                    "m or h (e.g. 500ms, 5s, 2m)",
                    arg_mark,
                )
            else:
                steps.append(Step("wait", seconds, where.line))
        elif arg is not True:
            diag.error("hangup: write 'hangup: true'", arg_mark)
        else:
            steps.append(Step("hangup", True, where.line))
    return steps


class Cases(Field):
    """The list of cases.

    Each case is checked with CASE_FIELDS by ``load_scenario``, because its ``at:`` is read in
    the file's ``timezone:``.
    """

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LList) or not value:
            ctx.diag.error("cases: expected a list of cases", mark)
            return INVALID
        return value

    def type_doc(self) -> str:
        return "list of cases (the keys below)"

    def schema(self) -> dict:
        return {"type": "array", "minItems": 1, "items": object_schema(CASE_FIELDS)}


SCENARIO_FIELDS: dict[str, Field] = {
    "flow": Text("The id of the flow under test", required=True),
    "timezone": Text("Time zone of 'at:' times without an offset (default UTC)"),
    "cases": Cases("The cases", required=True),
    "faults": FaultsField(FAULTS_DOC + ", for every case"),
}


def _when(text: str | None, zone: dt.tzinfo, mark: Mark, diag: Diagnostics) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        diag.error(f"at: expected a date and time like 2026-11-23T10:00:00, got {text!r}", mark)
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _checked(doc: LDict, fields: dict, diag: Diagnostics) -> dict[str, Any]:
    # A value that failed its check is reported already; the case goes on without it.
    opts = check_options(doc, fields, CheckContext(diag))
    return {key: None if value is INVALID else value for key, value in opts.items()}


def _valid(plan: Any) -> FaultPlan | None:
    return plan if isinstance(plan, FaultPlan) else None


def load_scenario(path: Path, diag: Diagnostics, sources: SourceCache) -> Scenario | None:
    """Read and check a scenario file; None when it cannot be used (mistakes are in ``diag``)."""
    doc = load_yaml(path, diag, sources, kind="scenario file", may_be_empty=False)
    if doc is None:
        return None
    name = str(path)
    if not isinstance(doc, LDict):
        diag.error("a scenario file must be a mapping with flow: and cases:", Mark(name, 1, 1))
        return None
    top = _checked(doc, SCENARIO_FIELDS, diag)
    zone: dt.tzinfo = dt.UTC
    if top.get("timezone") is not None:
        try:
            zone = ZoneInfo(top["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            diag.error(f"unknown time zone {top['timezone']!r}", doc.value_mark("timezone"))
    raw_cases = top.get("cases")
    cases: list[Case] = []
    for i, raw in enumerate(raw_cases if isinstance(raw_cases, LList) else []):
        where = raw_cases.item_mark(i)
        if not isinstance(raw, LDict):
            diag.error(
                f"a case must be a mapping with name: and steps:, got {describe(raw)}", where
            )
            continue
        opts = _checked(raw, CASE_FIELDS, diag)
        steps = opts.get("steps")
        expect = opts.get("expect")
        expect = {k: v for k, v in expect.items() if v is not None} if expect else {}
        cases.append(
            Case(
                name=str(opts.get("name") or f"case {i + 1}"),
                steps=steps if isinstance(steps, list) else [],
                caller=opts.get("caller") or "+15550001111",
                caller_name=opts.get("caller_name") or "",
                dialed=opts.get("dialed") or "",
                at=_when(opts.get("at"), zone, raw.value_mark("at"), diag),
                agents=opts.get("agents") or {},
                expect=expect,
                mark=where,
                caller_phone=opts.get("caller_phone") or "available",
                destinations=opts.get("destinations") or {},
                faults=_valid(opts.get("faults")) or _valid(top.get("faults")),
            )
        )
    return Scenario(path, str(top.get("flow") or ""), cases, doc.value_mark("flow"))


def load_fault_file(path: Path, diag: Diagnostics, sources: SourceCache) -> FaultPlan | None:
    """Read a file holding only ``faults:`` (``ivr loadtest --faults``), checked as in a scenario.

    Returns None when it cannot be used (mistakes are in ``diag``).
    """
    doc = load_yaml(path, diag, sources, kind="faults file", may_be_empty=False)
    if doc is None:
        return None
    if not isinstance(doc, LDict):
        diag.error("a faults file must be a mapping with faults:", Mark(str(path), 1, 1))
        return None
    fields = {"faults": FaultsField(FAULTS_DOC, required=True)}
    plan = check_options(doc, fields, CheckContext(diag)).get("faults")
    return _valid(plan) if not diag.errors else None
