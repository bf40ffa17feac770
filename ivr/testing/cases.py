"""Judging a scenario case: its agents set up, what a case's call must show, what it showed.

Shared by every way of running a case (the in-memory channel of ``ivr.testing.runner``, the
simulated FreeSWITCH of ``via_esl``, the real one of ``via_freeswitch``), so a case means the
same thing on each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from ivr.acd import AgentPool, CallbackResult
from ivr.acd.model import WRAP_UP, AgentSegment
from ivr.flow import config
from ivr.flow.compiler import Project
from ivr.runtime.channel import dialplan_endpoint
from ivr.runtime.memory import Event, Step
from ivr.runtime.record import CallRecord
from ivr.testing.scenario import AgentSetup, Case, Scenario

DEFAULT_START = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
"""When a case gives no ``at:``: a Wednesday at 10:00 UTC, so results never depend on the day."""
AFTER_THE_CALL_SECONDS = 4 * 3600.0
"""How long after its start a case follows what the call set off (a callback) on simulated time."""
# A case's agent state as (state in the queues, how the agent's phone behaves when rung).
_AGENT_STATES = {
    "available": ("available", "available"),
    "busy": ("busy", "available"),
    "logged_out": ("logged_out", "logged_out"),
    "no_answer": ("available", "no_answer"),
    "on_break": ("on_break", "available"),
    "line_busy": ("available", "busy"),
    "unreachable": ("available", "logged_out"),
}
# A case's transfer destination state, as the phone behaviour the channels know.
_DESTINATION_PHONES = {
    "available": "available",
    "busy": "busy",
    "no_answer": "no_answer",
    "unreachable": "logged_out",
}


def agent_phones(case: Case) -> dict[str, str]:
    """How the phone of each agent the case names behaves when rung, by agent id."""
    return {
        agent_id: _AGENT_STATES[
            (given if isinstance(given, AgentSetup) else AgentSetup(str(given))).state
        ][1]
        for agent_id, given in case.agents.items()
    }


def case_tenant(project: Project, scenario: Scenario, case: Case) -> config.Tenant | None:
    """The tenant a case's call belongs to.

    The tenant owning the number the case dials; a case that dials no number calls the
    scenario's flow, which a real call reaches only through the numbers of the tenants using it:
    so when exactly one tenant uses that flow, the call is that tenant's (its language, its
    voice, its line in the journal). None when no tenant, or several, use the flow.
    """
    if case.dialed:
        return project.route(case.dialed)[1]
    users = [t for t in project.tenants.values() if t.flow == scenario.flow]
    return users[0] if len(users) == 1 else None


class AgentLog:
    """A case's agent state log: each agent's states from the case's start to its end.

    ``ivr test --journal`` journals it with the case's call, so reports of scenario runs have
    agent time (logged in, ready, talking, wrap-up, breaks) as a controller's journal has.

    Args:
        pool: the case's agents.
        start: the case's start; every agent's first state begins then.
    """

    def __init__(self, pool: AgentPool, start: dt.datetime) -> None:
        self.pool = pool
        self._segments: dict[str, AgentSegment] = {}
        pool.start_log(start, self._keep)

    def _keep(self, segment: AgentSegment) -> None:
        self._segments[segment.id] = segment  # a segment's end replaces its start

    def end(self, at: dt.datetime | None = None) -> list[AgentSegment]:
        """End the log at ``at`` (by default the last moment the pool saw); the segments.

        Agents still in the wrap-up of the case's call finish it first: the wrap-up belongs
        to the call's handle time.
        """
        wrapping = [a.until for a in self.pool.agents.values() if a.state == WRAP_UP and a.until]
        if wrapping:
            self.pool.advance(max(wrapping))
        self.pool.end_log(max(at or self.pool.latest, self.pool.latest))
        return list(self._segments.values())


def set_up_agents(
    project: Project, case: Case, pool: AgentPool, start: dt.datetime
) -> tuple[dict[str, str], str | None]:
    """Put the case's agents in their states; returns how their phones behave, or a mistake.

    The phones include the case's transfer destinations, under the endpoint a transfer rings.
    """
    phones = {
        dialplan_endpoint(destination): _DESTINATION_PHONES[state]
        for destination, state in case.destinations.items()
    }
    for agent_id, given in case.agents.items():
        setup = given if isinstance(given, AgentSetup) else AgentSetup(str(given))
        agent = project.agents.get(agent_id)
        if agent is None:
            return {}, f"agent '{agent_id}' is not in agents.yaml"
        state, phone = _AGENT_STATES[setup.state]
        phones[agent.endpoint] = phone
        until = None if setup.until is None else start + dt.timedelta(seconds=setup.until)
        pool.set_state(agent_id, state, start, until=until, then=setup.then)
    return phones, None


class CaseRunner(Protocol):
    """Runs cases through a controller and a FreeSWITCH (simulated or real), one folder's."""

    def run_case(self, scenario: Scenario, case: Case) -> CaseResult: ...

    def close(self) -> None: ...


@dataclass
class CaseResult:
    """The outcome of one case: the call's record, its transcript, and failed expectations.

    ``callback`` is what became of the callback the call asked for, when it asked for one;
    ``segments`` how the case's agents spent its time.
    ``skipped`` says why the case was not run, when it was not (nothing was called then).
    """

    case: Case
    record: CallRecord | None
    transcript: list[Event] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    callback: CallbackResult | None = None
    skipped: str = ""
    segments: list[AgentSegment] = field(default_factory=list)
    """The case's agent state log, to journal with the call."""

    @property
    def passed(self) -> bool:
        return not self.failures

    def report(self) -> str:
        """The failures, then the transcript and the path, for a person to read."""
        lines = [f"      - {failure}" for failure in self.failures]
        if self.transcript:
            lines.append("      transcript:")
            for event in self.transcript:
                lines.append(f"        {event.at:7.1f}s  {event.who:<6}  {event.text}")
        if self.record is not None:
            lines.append(f"      path: {' -> '.join(self.record.path) or '(none)'}")
            lines.append(
                f"      outcome: {self.record.outcome}"
                + (f" ({self.record.error})" if self.record.error else "")
            )
        return "\n".join(lines)


def expectations(
    case: Case,
    record: CallRecord,
    variables: dict,
    remaining: list[Step],
    callback: CallbackResult | None = None,
) -> list[str]:
    """What the call did differently from the case's expectations (empty when it passed)."""
    failures = []
    expect = case.expect
    path = record.path
    if "path" in expect and path[: len(expect["path"])] != expect["path"]:
        failures.append(
            f"expected the path to start {' -> '.join(expect['path'])}, "
            f"got {' -> '.join(path[: len(expect['path']) + 2]) or '(none)'}"
        )
    for node in expect.get("visits", []):
        if node not in path:
            failures.append(f"expected the call to visit '{node}', it did not")
    if "outcome" in expect and record.outcome != expect["outcome"]:
        failures.append(f"expected outcome '{expect['outcome']}', got '{record.outcome}'")
    if "goals" in expect and sorted(record.goals) != sorted(expect["goals"]):
        failures.append(f"expected goals {sorted(expect['goals'])}, got {sorted(record.goals)}")
    if "agent" in expect and record.agent != str(expect["agent"]):
        failures.append(
            f"expected agent '{expect['agent']}' to answer, got "
            f"{repr(record.agent) if record.agent else 'no agent'}"
        )
    if "queue" in expect and record.queue != expect["queue"]:
        failures.append(
            f"expected the caller to wait in queue '{expect['queue']}', got "
            f"{repr(record.queue) if record.queue else 'no queue'}"
        )
    if "transfer" in expect and record.transferred_to != str(expect["transfer"]):
        failures.append(
            f"expected the call to be transferred to {str(expect['transfer'])!r}, "
            + (f"got {record.transferred_to!r}" if record.transferred_to else "it was not")
        )
    for name, wanted in (expect.get("callback") or {}).items():
        if wanted is None:
            continue
        got = getattr(callback, name) if callback is not None else None
        if got is None:
            failures.append(f"expected a callback with {name} {wanted!r}, none was scheduled")
        elif str(got) != str(wanted):
            failures.append(f"expected the callback's {name} to be {wanted!r}, got {got!r}")
    for name, wanted in expect.get("vars", {}).items():
        if variables.get(name) is None:
            failures.append(f"expected variable '{name}' to be {wanted!r}, it is not set")
        elif str(variables[name]) != str(wanted):
            failures.append(f"expected variable '{name}' to be {wanted!r}, got {variables[name]!r}")
    # A caller may still be waiting silently, or about to hang up, when the call ends.
    left = [s for s in remaining if s.kind not in ("wait", "hangup")]
    if left:
        first = left[0]
        what = "was never played" if first.kind == "hear" else "was never used"
        failures.append(
            f"step at line {first.line} ({first.describe()}) {what}; the call ended first"
        )
    return failures
