"""Run scenario cases on the in-memory channel and judge them against their expectations.

This is the harness behind ``ivr test`` and the one plugin authors use in their own tests:
``run_case(project, scenario, case)`` runs one scripted call and says what went wrong, with
the call's transcript (what was played, what was pressed, the node path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.acd import CallbackResult
from ivr.acd.model import AgentSegment
from ivr.flow.compiler import Project
from ivr.flow.source import Diagnostics, SourceCache
from ivr.project import load_project
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import Event, MemoryChannel
from ivr.runtime.record import CallRecord
from ivr.testing.cases import (
    AFTER_THE_CALL_SECONDS,
    DEFAULT_START,
    AgentLog,
    CaseResult,
    CaseRunner,
    case_tenant,
    expectations,
    set_up_agents,
)
from ivr.testing.dialer import MemoryDialer
from ivr.testing.scenario import Case, Scenario, load_scenario

FAULTS_NEED_ESL = "it has faults:, which strike the line: run it with --via-esl"


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
    if case.faults is not None:
        return CaseResult(case, None, skipped=FAULTS_NEED_ESL)
    flow = project.flows.get(scenario.flow)
    if flow is None:
        return CaseResult(case, None, failures=[f"flow '{scenario.flow}' is not loaded"])
    tenant = case_tenant(project, scenario, case)
    services = CallServices(project)
    start = case.at or DEFAULT_START
    agent_log = AgentLog(services.agents, start)
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
    segments = agent_log.end(record.ended_at)
    return CaseResult(case, record, list(channel.transcript), failures, callback, segments=segments)


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
    on_segment: Callable[[AgentSegment], None] | None = None,
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
    callback, for each call that asked for one; ``on_segment`` each segment of each case's
    agent state log.
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
        hooks = (on_record, on_callback, on_segment)
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
    on_record, on_callback, on_segment = hooks
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
            if on_segment is not None and result.record is not None:
                for segment in result.segments:
                    on_segment(segment)
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
