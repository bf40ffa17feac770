"""Run scenario cases on the in-memory channel and judge them against their expectations.

This is the harness behind ``ivr test`` and the one plugin authors use in their own tests:
``run_case(project, scenario, case)`` runs one scripted call and says what went wrong, with
the call's transcript (what was played, what was pressed, the node path).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ivr.acd import AgentPool, CallbackResult, MemoryDialer
from ivr.flow.compiler import Project
from ivr.flow.source import Diagnostics, SourceCache
from ivr.project import load_project
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo, dialplan_endpoint
from ivr.runtime.memory import Event, MemoryChannel, Step
from ivr.runtime.record import CallRecord
from ivr.testing.scenario import AgentSetup, Case, Scenario, load_scenario

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

    ``callback`` is what became of the callback the call asked for, when it asked for one.
    ``skipped`` says why the case was not run, when it was not (nothing was called then).
    """

    case: Case
    record: CallRecord | None
    transcript: list[Event] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    callback: CallbackResult | None = None
    skipped: str = ""

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


def run_case(
    project: Project,
    scenario: Scenario,
    case: Case,
    *,
    call_id: str = "test-call",
    on_event: Callable[[Event], None] | None = None,
) -> CaseResult:
    """Run one case on the in-memory channel and check its expectations.

    Args:
        project: the compiled folder the scenario lives in.
        scenario: the scenario file (names the flow under test).
        case: the case to run.
        call_id: the id the call gets in logs.
        on_event: called with each transcript line as it happens (for live display).
    """
    flow = project.flows.get(scenario.flow)
    if flow is None:
        return CaseResult(case, None, failures=[f"flow '{scenario.flow}' is not loaded"])
    tenant = project.route(case.dialed)[1] if case.dialed else None
    services = CallServices(project)
    start = case.at or DEFAULT_START
    phones, mistake = set_up_agents(project, case, services.agents, start)
    if mistake is not None:
        return CaseResult(case, None, failures=[mistake])
    channel = MemoryChannel(
        CallInfo(call_id, case.caller, case.caller_name, case.dialed),
        start=start,
        steps=[*case.steps],
        phones=phones,
        on_time=services.agents.advance,
        due=services.agents.next_due,
    )
    if on_event is not None:
        channel.transcript = _Observed(on_event)
    services.callbacks.dialer = MemoryDialer(
        services.callbacks, phones, case.caller_phone, start, channel.transcript
    )

    def visited(visit) -> None:
        channel.transcript.append(
            Event(
                (visit.at - channel.start).total_seconds(),
                "flow",
                f"-> {visit.node} ({visit.type})",
            )
        )

    call = Call(services, flow, channel, tenant, on_visit=visited)
    record = call.run()
    if services.agents.callbacks:
        services.callbacks.run_until_quiet(record.ended_at, limit=AFTER_THE_CALL_SECONDS)
    callback = services.callbacks.results.get(record.call_id)
    failures = expectations(case, record, call.vars, channel.remaining_steps, callback)
    return CaseResult(case, record, list(channel.transcript), failures, callback)


class _Observed(list):
    """A transcript list that also shows each line as it is added."""

    def __init__(self, callback: Callable[[Event], None]) -> None:
        super().__init__()
        self._callback = callback

    def append(self, event: Event) -> None:
        super().append(event)
        self._callback(event)


@dataclass
class Summary:
    """Totals of a test run."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    deselected: int = 0


def run_scenario_files(
    paths: list[Path],
    out: Callable[[str], None],
    *,
    via_esl: bool = False,
    on_record: Callable[[Project, CallRecord], None] | None = None,
    on_callback: Callable[[str, CallbackResult], None] | None = None,
    prompt_cache: Path | None = None,
    runner_for: Callable[[Project], CaseRunner] | None = None,
    select: str | None = None,
) -> Summary:
    """Run every case of the given scenario files, printing a line per case.

    With ``select`` only the cases whose name holds it (in any case) run; the others count as
    deselected.

    With ``via_esl`` each case runs through the controller and the simulated FreeSWITCH over
    TCP instead of the in-memory channel; ``runner_for`` makes another runner for a folder's
    project (``ivr test --via-freeswitch`` runs cases on a real FreeSWITCH). Mistakes in a
    scenario file or in the flows it tests are printed and count as failures. ``on_record``
    gets each call's closed record with its project, passed or failed (``ivr test --journal``
    writes them to a journal); ``on_callback`` the calling call's id and what became of its
    callback, for each call that asked for one.
    Through ESL prompts play from ``prompt_cache`` (as ``ivr prompts build`` filled it), else
    from a temporary cache.
    """
    summary = Summary()
    projects: dict[Path, Project] = {}
    esl_runners: dict[Path, CaseRunner] = {}
    if via_esl and runner_for is None:

        def runner_for(project: Project) -> CaseRunner:
            from ivr.testing.via_esl import EslRunner

            return EslRunner(project, prompt_cache)

    try:
        hooks = (on_record, on_callback)
        runners = esl_runners if runner_for else None
        _run_files(paths, out, summary, projects, runners, hooks, runner_for, select)
    finally:
        for runner in esl_runners.values():
            runner.close()
    totals = f"{summary.passed} passed, {summary.failed} failed"
    if summary.skipped:
        totals += f", {summary.skipped} skipped"
    if summary.deselected:
        totals += f", {summary.deselected} deselected"
    out(totals)
    return summary


def _run_files(
    paths, out, summary, projects, esl_runners, hooks, runner_for=None, select=None
) -> None:
    on_record, on_callback = hooks
    for path in paths:
        folder = path.resolve().parent
        if folder not in projects:
            projects[folder] = load_project(path.parent)
        project = projects[folder]
        diag, sources = Diagnostics(), SourceCache()
        scenario = load_scenario(path, diag, sources)
        problems = [d.render(sources) for d in diag.sorted() if d.severity == "error"]
        if scenario is not None and scenario.flow and scenario.flow not in project.flows:
            known = ", ".join(sorted(project.flows)) or "none"
            problems.append(
                f"{scenario.flow_mark}: error: flow '{scenario.flow}' is not among "
                f"the flows in {path.parent} (found: {known})"
            )
        flow_errors = [d for d in project.diag.sorted() if d.severity == "error"]
        if flow_errors:
            problems.append(f"the flows in {path.parent} do not compile:")
            problems.extend(d.render(project.sources) for d in flow_errors)
        if problems or scenario is None:
            out(f"ERROR {path}")
            for problem in problems:
                out("      " + problem.replace("\n", "\n      "))
            summary.failed += max(len(scenario.cases) if scenario else 1, 1)
            continue
        for index, case in enumerate(scenario.cases):
            if select is not None and select.casefold() not in case.name.casefold():
                summary.deselected += 1
                continue
            if esl_runners is None:
                result = run_case(project, scenario, case, call_id=f"{path.stem}-{index + 1}")
            else:
                if folder not in esl_runners:
                    esl_runners[folder] = runner_for(project)
                result = esl_runners[folder].run_case(scenario, case)
            if on_record is not None and result.record is not None:
                on_record(project, result.record)
            if on_callback and result.record is not None and result.callback is not None:
                on_callback(result.record.call_id, result.callback)
            if result.skipped:
                summary.skipped += 1
                out(f"SKIP  {path}: {case.name} ({result.skipped})")
            elif result.passed:
                summary.passed += 1
                out(f"PASS  {path}: {case.name}")
            else:
                summary.failed += 1
                out(f"FAIL  {path}: {case.name}")
                out(result.report())
