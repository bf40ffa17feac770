"""Run scenario cases through the real controller and the simulated FreeSWITCH, over TCP.

The same scenario files as the in-memory runner, but every prompt, key and bridge crosses a real
event-socket connection: the controller (``ivr serve``'s ``Controller``) on a free loopback port,
the simulated FreeSWITCH placing the call with the case's scripted caller on a virtual clock, so
a ten-minute queue wait still takes milliseconds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gevent.event import AsyncResult

from ivr.flow.compiler import Project
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call, CallServices
from ivr.testing.runner import DEFAULT_START, CaseResult, expectations
from ivr.testing.scenario import Case, Scenario

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

    def _ended(self, call: Call) -> None:
        if self._finished is not None:
            self._finished.set(call)

    def run_case(self, scenario: Scenario, case: Case) -> CaseResult:
        """Run one case over ESL and check its expectations."""
        from ivr.simulator import SimulatedFreeSWITCH

        flow = self.project.flows.get(scenario.flow)
        if flow is None:
            return CaseResult(case, None, failures=[f"flow '{scenario.flow}' is not loaded"])
        tenant = self.project.route(case.dialed)[1] if case.dialed else None
        self._route = (flow, tenant)
        services = CallServices(
            self.project, recordings_dir=self.controller.services.recordings_dir
        )
        phones = {}
        for agent_id, state in case.agents.items():
            agent = self.project.agents.get(agent_id)
            if agent is None:
                return CaseResult(
                    case, None, failures=[f"agent '{agent_id}' is not in agents.yaml"]
                )
            phones[agent.endpoint] = state
            services.agents.set_state(agent_id, "available" if state == "no_answer" else state)
        self.controller.services = services
        self._finished = AsyncResult()
        sim = SimulatedFreeSWITCH(
            self.controller.address,
            virtual_time=True,
            agents=phones,
            default_agent="available",
        )
        try:
            sim_call = sim.place_call(
                list(case.steps),
                caller=case.caller,
                caller_name=case.caller_name,
                dialed=case.dialed or "18005550100",
                start=case.at or DEFAULT_START,
            )
            if not sim_call.wait(timeout=CALL_TIMEOUT):
                return CaseResult(
                    case,
                    None,
                    list(sim_call.transcript),
                    [f"the call did not end within {CALL_TIMEOUT:g}s"],
                )
            call = self._finished.get(timeout=10)
        finally:
            sim.close()
        failures = expectations(case, call.record, call.vars, sim_call.remaining_steps)
        return CaseResult(case, call.record, list(sim_call.transcript), failures)
