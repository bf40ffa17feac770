"""The load: Poisson arrivals of scripted callers through the simulated FreeSWITCH, in real time.

Calls arrive at exponential intervals for the target rate until the duration or the call limit
is reached (or ``stop`` is set, on Ctrl-C); each takes the next scenario case in turn. Every call
is capped at ``call_limit`` seconds (its caller hangs up), and calls still going
``drain_seconds`` after the last arrival are cut off. While it runs, a sampler reads the
controller's CPU and memory and measures how late the generator's own event loop runs, which
bounds how precise its latency figures can be.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from gevent.event import Event as Flag

from ivr.flow.compiler import Project
from ivr.runtime.memory import Step
from ivr.simulator import FaultPlan, SimulatedCall, SimulatedFreeSWITCH
from ivr.testing.cases import DEFAULT_START
from ivr.testing.scenario import load_scenario

SAMPLE_SECONDS = 0.5
"""How often the controller's CPU and memory are read."""
LAG_PROBE_SECONDS = 0.01
"""How often the generator checks how late its event loop wakes up."""
FAILURE_SIGNS = (
    "could not connect to the controller",
    "sent no command within",
    "sent a malformed command",
    "the controller connection failed",
    "the simulator failed",
    "the simulated call failed",
    "closed the connection before 'connect'",
    "has no application",
    # The controller left without hanging up: FreeSWITCH would resume the dialplan (fallback).
    "the controller let go of the call",
)
"""Simulator remarks (``system`` transcript lines) that mean the call failed."""


@dataclass(frozen=True)
class CallPlan:
    """One kind of call: a scenario case's caller, what they dial, and the clock's start."""

    name: str
    steps: tuple[Step, ...]
    dialed: str
    caller: str
    start: dt.datetime

    def place(self, sim: SimulatedFreeSWITCH) -> SimulatedCall:
        """Place the call through ``sim``; returns at once, the call runs in greenlets."""
        return sim.place_call(
            list(self.steps), caller=self.caller, dialed=self.dialed, start=self.start
        )


def poisson_arrivals(
    rng: random.Random, cps: float, seconds: float, stop: Flag, count: int | None = None
) -> Iterator[int]:
    """Wait for each arrival of a Poisson process at ``cps`` per second and yield its number.

    Ends after ``seconds`` (real time), after ``count`` arrivals, or when ``stop`` is set.
    """
    started = time.perf_counter()
    next_at = started
    arrived = 0
    while not stop.is_set() and (count is None or arrived < count):
        next_at += rng.expovariate(cps)
        if next_at - started >= seconds:
            return
        if stop.wait(max(0.0, next_at - time.perf_counter())):
            return
        yield arrived
        arrived += 1


@dataclass
class LoadResult:
    """What happened under load (times in real seconds)."""

    calls: list[SimulatedCall]
    failures: dict[str, int]
    unfinished: int
    offering_seconds: float
    total_seconds: float
    peak_concurrent: int
    lag: list[float]
    stopped: bool = False
    plan_of: dict[str, str] = field(default_factory=dict)
    """The plan (scenario case) each call followed, by call uuid."""
    unfinished_cases: dict[str, int] = field(default_factory=dict)
    """How many calls of each plan were cut off."""
    struck: dict[str, int] = field(default_factory=dict)
    """Calls each kind of fault struck (``--faults``); their failures are not in ``failures``."""
    struck_failed: int = 0
    """Calls struck by a fault that failed as the simulator sees it (the fault's doing)."""


def plans_from_scenarios(project: Project, paths: list[Path]) -> list[CallPlan]:
    """Every case of the scenario files, with the number its flow answers on."""
    numbers = {tenant.flow: tenant.numbers[0] for tenant in project.tenants.values()}
    plans = []
    for path in paths:
        scenario = load_scenario(path, project.diag, project.sources)
        if scenario is None:
            raise ValueError(f"{path}: the scenario file has errors; run ivr validate {path}")
        for case in scenario.cases:
            dialed = case.dialed or numbers.get(scenario.flow, "")
            plans.append(
                CallPlan(
                    f"{path.name}: {case.name}",
                    tuple(case.steps),
                    dialed,
                    case.caller,
                    case.at or DEFAULT_START,
                )
            )
    return plans


def call_failure(call: SimulatedCall) -> str | None:
    """Why the call failed (a simulator remark or no command at all); None when it did not."""
    for line in call.transcript:
        if line.who == "system" and any(sign in line.text for sign in FAILURE_SIGNS):
            return line.text
    if call.timings.setup is None:
        return "the controller sent no command"
    return None


def run_load(
    address: tuple[str, int],
    plans: list[CallPlan],
    *,
    cps: float,
    duration: float,
    max_calls: int | None,
    call_limit: float,
    drain_seconds: float,
    sample: Callable[[], object],
    stop: Flag,
    seed: int | None = None,
    faults: FaultPlan | None = None,
) -> LoadResult:
    """Offer calls to the controller at ``address`` and wait for them to end.

    Args:
        address: where the controller listens.
        plans: the callers, taken in turn.
        cps: the mean arrival rate (calls per second).
        duration: real seconds calls are offered for.
        max_calls: offer no more calls than this (None: as many as the duration brings).
        call_limit: seconds after which a caller still on the line hangs up.
        drain_seconds: how long calls may go on after the last arrival.
        sample: reads the controller's usage (called every ``SAMPLE_SECONDS``).
        stop: set to stop offering calls and cut off the ones going (Ctrl-C).
        seed: for the arrival times (None: random).
        faults: what goes wrong on the line, the n-th call placed getting the plan's n-th draw.
    """
    sim = SimulatedFreeSWITCH(
        address,
        virtual_time=False,
        default_agent="available",
        time_limit=call_limit,
        faults=faults,
    )
    arrivals = random.Random(seed)
    live = 0
    peak = 0
    lag: list[float] = []
    done = Flag()

    def watch(call: SimulatedCall) -> None:
        nonlocal live
        call.wait()
        live -= 1

    def probe_lag() -> None:
        while not done.is_set():
            before = time.perf_counter()
            gevent.sleep(LAG_PROBE_SECONDS)
            lag.append(time.perf_counter() - before - LAG_PROBE_SECONDS)

    def sampler() -> None:
        while not done.is_set():
            sample()
            done.wait(SAMPLE_SECONDS)

    helpers = [gevent.spawn(probe_lag), gevent.spawn(sampler)]
    started = time.perf_counter()
    plan_of: dict[str, str] = {}
    for offered in poisson_arrivals(arrivals, cps, duration, stop, max_calls):
        plan = plans[offered % len(plans)]
        call = plan.place(sim)
        plan_of[call.uuid] = plan.name
        live += 1
        peak = max(peak, live)
        gevent.spawn(watch, call)
    offering = time.perf_counter() - started
    deadline = time.perf_counter() + drain_seconds
    while live and not stop.is_set() and time.perf_counter() < deadline:
        stop.wait(0.1)
    cut = {call.uuid for call in sim.calls if not call.done}
    unfinished_cases: dict[str, int] = {}
    for call_uuid in cut:
        name = plan_of.get(call_uuid, "?")
        unfinished_cases[name] = unfinished_cases.get(name, 0) + 1
    sim.close()
    done.set()
    gevent.joinall(helpers, timeout=2.0)
    failures: dict[str, int] = {}
    struck: dict[str, int] = {}
    struck_failed = 0
    for call in sim.calls:
        reason = None if call.uuid in cut else call_failure(call)
        kinds = {s.fault.kind for s in call.faults.strikes if s.done} if call.faults else set()
        for kind in kinds:
            struck[kind] = struck.get(kind, 0) + 1
        if reason is not None and kinds:
            struck_failed += 1
        elif reason is not None:
            failures[reason] = failures.get(reason, 0) + 1
    return LoadResult(
        calls=list(sim.calls),
        failures=failures,
        unfinished=len(cut),
        unfinished_cases=unfinished_cases,
        offering_seconds=offering,
        total_seconds=time.perf_counter() - started,
        peak_concurrent=peak,
        lag=lag,
        stopped=stop.is_set(),
        plan_of=plan_of,
        struck=struck,
        struck_failed=struck_failed,
    )
