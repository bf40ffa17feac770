"""The load test's figures: counts, latency percentiles, the controller's CPU and memory.

``build_report`` turns a ``LoadResult`` and the controller's usage samples into a plain dict
(written as JSON); ``render_table`` prints it with the issue's targets beside the figures.
"""

from __future__ import annotations

import numpy
from tabulate import tabulate

from ivr.loadtest.generator import LoadResult
from ivr.loadtest.process import Usage

PERCENTILES = {"p50": 50.0, "p99": 99.0, "p99.9": 99.9, "max": 100.0}
TARGETS = {
    "failed_percent": ("< 0.01 %", lambda v: v < 0.01),
    "setup_latency_ms.p99": ("< 5 ms", lambda v: v < 5.0),
    "reply_latency_ms.p99": ("< 5 ms", lambda v: v < 5.0),
    "reply_latency_ms.max": ("< 50 ms", lambda v: v < 50.0),
    "controller.kb_per_call": ("<= 100 KB", lambda v: v <= 100.0),
}
"""One controller on a 2-core machine (issue 8): what each figure should stay within."""


def percentiles_ms(seconds: list[float]) -> dict[str, float | int | None]:
    """p50 / p99 / p99.9 / max in milliseconds, and how many values there were."""
    figures: dict[str, float | int | None] = {"count": len(seconds)}
    values = (
        numpy.percentile(numpy.asarray(seconds) * 1000.0, list(PERCENTILES.values()))
        if (seconds)
        else [None] * len(PERCENTILES)
    )
    for name, value in zip(PERCENTILES, values, strict=True):
        figures[name] = None if value is None else round(float(value), 3)
    return figures


def _usage(samples: list[Usage], peak_concurrent: int) -> dict[str, float | int | None]:
    if len(samples) < 2:
        return {"cpu_percent": None, "cpu_percent_peak": None, "rss_kb_start": None}
    first, last = samples[0], samples[-1]
    busy = [
        100.0 * (b.cpu_seconds - a.cpu_seconds) / (b.at - a.at)
        for a, b in zip(samples, samples[1:], strict=False)
        if b.at > a.at
    ]
    peak_rss = max(s.rss_kb for s in samples)
    grown = peak_rss - first.rss_kb
    return {
        "cpu_percent": round(
            100.0 * (last.cpu_seconds - first.cpu_seconds) / (last.at - first.at), 1
        ),
        "cpu_percent_peak": round(max(busy), 1),
        "rss_kb_start": first.rss_kb,
        "rss_kb_peak": peak_rss,
        "kb_per_call": round(grown / peak_concurrent, 1) if peak_concurrent else None,
    }


def build_report(result: LoadResult, samples: list[Usage], config: dict) -> dict:
    """The figures of one run as plain data."""
    calls = result.calls
    failed = sum(result.failures.values())
    completed = len(calls) - failed - result.struck_failed - result.unfinished
    events = sum(call.timings.events for call in calls)
    commands = sum(len(call.commands) for call in calls)
    return {
        "config": config,
        "stopped_early": result.stopped,
        "calls": {
            "offered": len(calls),
            "completed": completed,
            "failed": failed,
            "unfinished": result.unfinished,
        },
        "failed_percent": round(100.0 * failed / len(calls), 4) if calls else 0.0,
        "failures": result.failures,
        "unfinished_cases": result.unfinished_cases,
        "achieved_cps": round(len(calls) / result.offering_seconds, 2)
        if result.offering_seconds
        else 0.0,
        "peak_concurrent": result.peak_concurrent,
        "setup_latency_ms": percentiles_ms(
            [c.timings.setup for c in calls if c.timings.setup is not None]
        ),
        "reply_latency_ms": percentiles_ms([r for c in calls for r in c.timings.replies]),
        "events_per_second": round(events / result.total_seconds, 1),
        "commands_per_second": round(commands / result.total_seconds, 1),
        "seconds": round(result.total_seconds, 2),
        "controller": _usage(samples, result.peak_concurrent),
        "generator_loop_lag_ms": percentiles_ms(result.lag),
        "slowest_cases": _slowest_cases(result),
        "faults": {"struck": result.struck, "struck_calls_failed": result.struck_failed},
    }


def _slowest_cases(result: LoadResult, keep: int = 5) -> list[dict]:
    """The scenario cases whose key -> next command waits were longest, slowest first.

    A case whose flow waits on purpose (a slow data source, a filler after 800 ms) shows here,
    so a high percentile can be told apart from the controller being slow.
    """
    replies: dict[str, list[float]] = {}
    for call in result.calls:
        name = result.plan_of.get(call.uuid)
        if name is not None:
            replies.setdefault(name, []).extend(call.timings.replies)
    ranked = sorted(
        ((name, percentiles_ms(values)) for name, values in replies.items() if values),
        key=lambda item: item[1]["max"],
        reverse=True,
    )
    return [{"case": name, **figures} for name, figures in ranked[:keep]]


def _lookup(report: dict, key: str):
    section, _, name = key.partition(".")
    value = report.get(section)
    return value.get(name) if name and isinstance(value, dict) else value


def render_table(report: dict) -> str:
    """The report as a table: figure, value, target, whether it is met."""
    rows = []

    def row(label: str, key: str, value=None) -> None:
        value = _lookup(report, key) if value is None else value
        target, met = TARGETS.get(key, ("", None))
        verdict = "" if met is None or value is None else ("yes" if met(value) else "NO")
        rows.append((label, "-" if value is None else value, target, verdict))

    for name in ("offered", "completed", "failed", "unfinished"):
        row(f"calls {name}", f"calls.{name}")
    row("failed %", "failed_percent")
    for kind, count in sorted(report["faults"]["struck"].items()):
        row(f"calls struck by {kind}", f"faults.struck.{kind}", count)
    if report["faults"]["struck"]:
        row("struck calls that failed", "faults.struck_calls_failed")
    row("achieved CPS", "achieved_cps")
    row("peak concurrent calls", "peak_concurrent")
    for figure, label in (
        ("setup_latency_ms", "call setup ms"),
        ("reply_latency_ms", "key -> next command ms"),
        ("generator_loop_lag_ms", "generator loop lag ms"),
    ):
        for name in PERCENTILES:
            row(f"{label} {name}", f"{figure}.{name}")
    row("events/s sent", "events_per_second")
    row("commands/s received", "commands_per_second")
    row("controller CPU % (mean)", "controller.cpu_percent")
    row("controller CPU % (peak 0.5 s)", "controller.cpu_percent_peak")
    row("controller RSS KB (start)", "controller.rss_kb_start")
    row("controller RSS KB (peak)", "controller.rss_kb_peak")
    row("controller KB per call at peak", "controller.kb_per_call")
    table = tabulate(rows, headers=("figure", "value", "target", "met"))
    slowest = report.get("slowest_cases") or []
    if not slowest:
        return table
    cases = tabulate(
        [(case["case"], case["count"], case["p50"], case["p99"], case["max"]) for case in slowest],
        headers=("slowest cases (key -> next command)", "replies", "p50 ms", "p99 ms", "max ms"),
    )
    return f"{table}\n\n{cases}"
