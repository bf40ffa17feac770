"""``ivr loadtest``: offer calls to a controller at a target rate and measure how it keeps up.

The controller runs as its own process (``ProcessUnderTest``), pinned to another core than the
generator where the machine has two; the generator (``run_load``) places Poisson arrivals
through the simulated FreeSWITCH in real time, callers scripted from scenario cases; the report
(``build_report``) has the call counts, latency percentiles and the controller's CPU and memory.
"""

from ivr.loadtest.generator import (
    CallPlan,
    LoadResult,
    plans_from_scenarios,
    poisson_arrivals,
    run_load,
)
from ivr.loadtest.process import ProcessUnderTest, free_port, serve_command, split_cores
from ivr.loadtest.report import TARGETS, build_report, render_table

__all__ = [
    "TARGETS",
    "CallPlan",
    "LoadResult",
    "ProcessUnderTest",
    "build_report",
    "free_port",
    "plans_from_scenarios",
    "poisson_arrivals",
    "render_table",
    "run_load",
    "serve_command",
    "split_cores",
]
