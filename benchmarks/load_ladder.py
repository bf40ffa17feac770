"""The controller under a step ladder of call rates, then a burst of simultaneous calls.

For each rate of the ladder (10 / 25 / 50 / 100 / 200 calls per second by default) a fresh
``ivr serve`` process (pinned to its own core, as ``ivr loadtest`` does) gets Poisson arrivals
for ``--step-seconds``, each caller hanging up after at most ``--call-seconds`` (15 s: the
scripted cases that would go on longer, such as queue waits, are cut there). Then a fresh
controller gets ``--burst`` calls placed at the same instant.

For the burst, the kernel's count of connections the listening socket had to drop
(``ListenOverflows`` / ``ListenDrops`` in ``/proc/net/netstat``, machine-wide) is read before and
after: a dropped SYN is retried by the caller's TCP after a second, so any drop is a connection
retry. Setups of a second or more are counted too.

Prints a table per part and writes everything as JSON with ``--output``; asserts nothing. Run::

    .venv/bin/python benchmarks/load_ladder.py [--steps 10,25,50,100,200] [--step-seconds 30]
        [--call-seconds 15] [--burst 500] [--output ladder.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from gevent.event import Event
from tabulate import tabulate

from ivr.gc_policy import collect_for_measuring, full_collection
from ivr.loadtest import (
    ProcessUnderTest,
    build_report,
    free_port,
    plans_from_scenarios,
    run_load,
    serve_command,
    split_cores,
)
from ivr.project import load_project

ROOT = Path(__file__).resolve().parents[1]
BURST_CPS = 1e9
"""An arrival rate at which every call of the burst is placed in the same instant."""


def listen_drops() -> dict[str, int]:
    """The kernel's ListenOverflows and ListenDrops counters (0 where not readable)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {"ListenOverflows": 0, "ListenDrops": 0}
    counters: dict[str, int] = {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=True))
    return {name: counters.get(name, 0) for name in ("ListenOverflows", "ListenDrops")}


def one_run(args, plans, *, cps: float, duration: float, max_calls: int | None) -> dict:
    """Start a controller, offer it calls, stop it; its report with a few extra figures."""
    # What the step before left behind is collected now, while nothing is timed.
    full_collection()
    controller_cores, generator_cores = split_cores()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ivr-ladder-") as tmp:
        serve = serve_command(args.flows.resolve(), port, Path(tmp), prompt_cache=args.prompt_cache)
        controller = ProcessUnderTest(serve, port, controller_cores, Path(tmp) / "serve.log")
        controller.start()
        if generator_cores:
            os.sched_setaffinity(0, generator_cores)
        drops_before = listen_drops()
        try:
            result = run_load(
                ("127.0.0.1", port),
                plans,
                cps=cps,
                duration=duration,
                max_calls=max_calls,
                call_limit=args.call_seconds,
                drain_seconds=args.call_seconds + 10.0,
                sample=controller.sample,
                stop=Event(),
                seed=args.seed,
            )
        finally:
            controller.stop()
        drops_after = listen_drops()
    report = build_report(result, controller.samples, {"cps": cps, "duration": duration})
    lengths = [call.transcript[-1].at for call in result.calls if call.transcript]
    report["mean_call_seconds"] = round(statistics.fmean(lengths), 1) if lengths else None
    report["listen_drops"] = {name: drops_after[name] - drops_before[name] for name in drops_before}
    report["setups_over_1s"] = sum(
        1 for call in result.calls if call.timings.setup is not None and call.timings.setup >= 1
    )
    return report


def _row(label: str, report: dict) -> list:
    setup, reply = report["setup_latency_ms"], report["reply_latency_ms"]
    usage = report["controller"]
    return [
        label,
        report["achieved_cps"],
        report["peak_concurrent"],
        report["mean_call_seconds"],
        report["calls"]["offered"],
        report["calls"]["failed"],
        report["calls"]["unfinished"],
        setup["p50"],
        setup["p99"],
        setup["max"],
        reply["p50"],
        reply["p99"],
        reply["max"],
        usage.get("cpu_percent"),
        usage.get("kb_per_call"),
        report["generator_loop_lag_ms"]["p99"],
    ]


HEADERS = [
    "load",
    "CPS",
    "peak calls",
    "mean call s",
    "offered",
    "failed",
    "unfinished",
    "setup p50",
    "setup p99",
    "setup max",
    "key->cmd p50",
    "key->cmd p99",
    "key->cmd max",
    "ctl CPU %",
    "KB/call",
    "gen lag p99",
]


def main() -> None:
    """Run the ladder and the burst and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=Path, default=ROOT / "flows")
    parser.add_argument("--steps", default="10,25,50,100,200", help="calls per second, in order")
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--call-seconds", type=float, default=15.0)
    parser.add_argument("--burst", type=int, default=500, help="simultaneous calls (0: none)")
    parser.add_argument("--skip-case", action="append", default=["filler"])
    parser.add_argument("--prompt-cache", default=str(ROOT / "var" / "prompts"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    project = load_project(args.flows)
    if not project.ok:
        sys.exit(f"{args.flows} has errors: run ivr validate {args.flows}")
    plans = [
        plan
        for plan in plans_from_scenarios(project, project.scenarios)
        if not any(text.lower() in plan.name.lower() for text in args.skip_case)
    ]
    collect_for_measuring()  # the generator times the controller: no full collections mid-run
    steps = [float(step) for step in args.steps.split(",") if step.strip()]
    results: dict[str, dict] = {"ladder": {}, "burst": None}
    rows = []
    for cps in steps:
        print(f"ladder: {cps:g} calls/s for {args.step_seconds:g}s ...", file=sys.stderr)
        report = one_run(args, plans, cps=cps, duration=args.step_seconds, max_calls=None)
        results["ladder"][f"{cps:g}"] = report
        rows.append(_row(f"{cps:g} CPS", report))
    print(tabulate(rows, headers=HEADERS))
    if args.burst:
        print(f"burst: {args.burst} calls at once ...", file=sys.stderr)
        report = one_run(args, plans, cps=BURST_CPS, duration=60.0, max_calls=args.burst)
        results["burst"] = report
        print()
        print(tabulate([_row(f"burst {args.burst}", report)], headers=HEADERS))
        drops = report["listen_drops"]
        print(
            f"burst: {report['calls']['failed']} failed, {report['setups_over_1s']} setups of a "
            f"second or more, listen queue overflows {drops['ListenOverflows']}, drops "
            f"{drops['ListenDrops']} (a drop is a SYN the caller must retry)"
        )
    print(
        "latencies in ms; setup: TCP connect -> first command; key->cmd: the event a command "
        "waits on -> that command; gen lag: how late the generator itself runs"
    )
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
