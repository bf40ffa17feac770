"""Run scenario cases through the real controller and the simulated FreeSWITCH, over TCP.

The same scenario files as the in-memory runner, but every prompt, key and bridge crosses a real
event-socket connection: the controller (``ivr serve``'s ``Controller``) on a free loopback port,
the simulated FreeSWITCH placing the call with the case's scripted caller on a virtual clock, so
a ten-minute queue wait still takes milliseconds. Callbacks the call schedules are made the same
way: the agent's phone rings in the simulated FreeSWITCH, and once answered the agent's call
reaches the controller as FreeSWITCH's ``originate ... &socket(...)`` would bring it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gevent.event import AsyncResult

from ivr.acd import CALLBACK_VARIABLE, CallbackAttempt
from ivr.flow.compiler import Project
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call, CallServices
from ivr.runtime.memory import Event
from ivr.simulator.faults import FaultPlan
from ivr.testing.cases import (
    AFTER_THE_CALL_SECONDS,
    DEFAULT_START,
    AgentLog,
    CaseResult,
    case_tenant,
    expectations,
    set_up_agents,
)
from ivr.testing.dialer import ScriptedDialer
from ivr.testing.invariants import check
from ivr.testing.scenario import Case, Scenario

if TYPE_CHECKING:
    from ivr.simulator import SimulatedFreeSWITCH

CALL_TIMEOUT = 120.0
"""Real seconds one case may take before it is reported as stuck."""


class EslRunner:
    """Runs cases of one project through one controller, a fresh agent pool for each case.

    Args:
        project: the compiled folder.
        prompt_cache: where TTS prompts are rendered (a temporary folder by default).
    """

    def __init__(self, project: Project, prompt_cache: Path | None = None) -> None:
        self.project = project
        self._tmp = tempfile.TemporaryDirectory(prefix="ivr-esl-")
        cache = prompt_cache or Path(self._tmp.name) / "prompts"
        self.prompts = PromptFiles(cache, project.folder.parent / "sounds")
        self._finished: AsyncResult | None = None
        self._route = (None, None)
        self.controller = Controller(
            project,
            ("127.0.0.1", 0),
            self.prompts,
            on_call_end=self._ended,
            recordings_dir=Path(self._tmp.name) / "recordings",
            route=lambda info: self._route,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.drain(timeout=5)
        self._tmp.cleanup()
        self._finished = None

    def _ended(self, call: Call) -> None:
        if self._finished is not None:
            self._finished.set(call)

    def run_case(self, scenario: Scenario, case: Case) -> CaseResult:
        """Run one case over ESL and check its expectations."""
        from ivr.simulator import SimulatedFreeSWITCH

        flow = self.project.flows.get(scenario.flow)
        if flow is None:
            return CaseResult(case, None, failures=[f"flow '{scenario.flow}' is not loaded"])
        tenant = case_tenant(self.project, scenario, case)
        self._route = (flow, tenant)
        services = CallServices(
            self.project, recordings_dir=self.controller.services.recordings_dir
        )
        start = case.at or DEFAULT_START
        agent_log = AgentLog(services.agents, start)
        phones, mistake = set_up_agents(self.project, case, services.agents, start)
        if mistake is not None:
            return CaseResult(case, None, failures=[mistake])
        for queue in self.project.queues.values():
            phones.setdefault(queue.callback_endpoint.format(number=case.caller), case.caller_phone)
        self.controller.services = services
        self._finished = AsyncResult()
        faults = FaultPlan(case.faults.seed, case.faults.faults) if case.faults else None
        sim = SimulatedFreeSWITCH(
            self.controller.address,
            virtual_time=True,
            agents=phones,
            default_agent="available",
            faults=faults,
        )
        later: list[Event] = []
        services.callbacks.dialer = SimulatorDialer(sim, phones, start, later)
        try:
            sim_call = sim.place_call(
                list(case.steps),
                caller=case.caller,
                caller_name=case.caller_name,
                dialed=case.dialed or "18005550100",
                start=start,
            )
            if not sim_call.wait(timeout=CALL_TIMEOUT):
                return CaseResult(
                    case,
                    None,
                    list(sim_call.transcript),
                    [f"the call did not end within {CALL_TIMEOUT:g}s"],
                )
            call = self._finished.get(timeout=10)
            if services.agents.callbacks:
                services.callbacks.run_until_quiet(
                    call.record.ended_at, limit=AFTER_THE_CALL_SECONDS, timeout=CALL_TIMEOUT
                )
        finally:
            sim.close()
        callback = services.callbacks.results.get(call.record.call_id)
        failures = expectations(case, call.record, call.vars, sim_call.remaining_steps, callback)
        if faults is not None:
            # Under faults the flow may end anywhere; what must hold is that nothing is lost.
            self.controller.calls.join(timeout=CALL_TIMEOUT)
            failures += check(
                calls=sim.calls, records=[call], controller=self.controller, center=services
            )
        transcript = list(sim_call.transcript) + later
        segments = agent_log.end(call.record.ended_at)
        return CaseResult(case, call.record, transcript, failures, callback, segments=segments)


class SimulatorDialer(ScriptedDialer):
    """Rings agents for callbacks in the simulated FreeSWITCH, as ``originate`` would.

    The agent's phone behaves as the case says; once it answers, the agent's call is placed to
    the controller with ``ivr_callback`` set, on the simulated clock from the moment of answer.

    Args:
        sim: the simulated FreeSWITCH of the case.
        phones: how endpoints behave when rung.
        start: the case's start, for transcript times.
        transcript: where the callback's lines go.
    """

    ROLES = {"ivr": "system", "agent": "caller", "caller": "agent"}

    def __init__(
        self,
        sim: SimulatedFreeSWITCH,
        phones: dict[str, str],
        start: dt.datetime,
        transcript: list[Event],
    ) -> None:
        super().__init__(phones, start, transcript)
        self.sim = sim

    def connect_agent(self, attempt: CallbackAttempt, answered: dt.datetime) -> list:
        leg = self.sim.place_call(
            [],
            caller=attempt.callback.number,
            caller_name=attempt.caller_id_name,
            dialed=attempt.agent.endpoint.rpartition("/")[2],
            start=answered,
            variables={CALLBACK_VARIABLE: attempt.callback.id},
        )
        leg.wait(timeout=CALL_TIMEOUT)
        return leg.transcript
