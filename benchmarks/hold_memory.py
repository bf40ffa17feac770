"""Whether what a call costs the controller grows with how long it holds.

A fresh ``ivr serve`` process (pinned to its own core, as ``ivr loadtest`` does) serves the line
of ``benchmarks/hold/``: a queue nobody answers, with hold music and the position and expected
wait announced every 15 seconds. ``--calls`` callers arrive at ``--cps`` and each holds for
``--hold-seconds`` before hanging up, so after the last arrival the same calls are all holding.
The controller's RSS is read every 0.5 s; the table shows it every ``--every`` seconds with the
memory per held call. Flat figures mean a call costs the same after a minute on hold as after
several; the last line gives the growth per call per minute over the second half of the hold.

Prints numbers; asserts nothing. Run::

    .venv/bin/python benchmarks/hold_memory.py [--calls 1000] [--cps 50] [--hold-seconds 300]
        [--every 30] [--output hold.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from gevent.event import Event
from tabulate import tabulate

from ivr.gc_policy import collect_for_measuring
from ivr.loadtest import (
    ProcessUnderTest,
    free_port,
    plans_from_scenarios,
    run_load,
    serve_command,
    split_cores,
)
from ivr.project import load_project

HOLD = Path(__file__).resolve().parent / "hold"


def main() -> None:
    """Hold the calls, read the controller's memory, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="callers (1000)")
    parser.add_argument("--cps", type=float, default=50.0, help="their arrival rate (50)")
    parser.add_argument("--hold-seconds", type=float, default=300.0, help="each holds (300)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between rows (30)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args()
    if args.calls < 1 or args.cps <= 0 or args.hold_seconds <= 0 or args.every <= 0:
        parser.error("--calls, --cps, --hold-seconds and --every must be positive")

    project = load_project(HOLD)
    plans = plans_from_scenarios(project, project.scenarios)
    controller_cores, generator_cores = split_cores()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ivr-hold-") as tmp:
        serve = serve_command(HOLD, port, Path(tmp), log_level="quiet")
        controller = ProcessUnderTest(serve, port, controller_cores, Path(tmp) / "serve.log")
        controller.start()
        if generator_cores:
            os.sched_setaffinity(0, generator_cores)
        collect_for_measuring()  # the generator's pauses are not the controller's memory
        before = controller.sample()
        arrivals = args.calls / args.cps
        print(
            f"hold_memory: {args.calls} callers at {args.cps:g}/s, each holding "
            f"{args.hold_seconds:g}s ...",
            file=sys.stderr,
        )
        try:
            result = run_load(
                ("127.0.0.1", port),
                plans,
                cps=args.cps,
                duration=arrivals + 60.0,
                max_calls=args.calls,
                call_limit=args.hold_seconds,
                drain_seconds=args.hold_seconds + 10.0,
                sample=controller.sample,
                stop=Event(),
                seed=args.seed,
            )
        finally:
            controller.stop()
    if before is None or result.failures or result.unfinished:
        print(f"hold_memory: the run went wrong: {result.failures} unfinished {result.unfinished}")
        sys.exit(1)

    start = before.at
    rows, figures = [], []
    due = 0.0
    for usage in controller.samples:
        seconds = usage.at - start
        if seconds + 1e-9 < due or seconds > args.hold_seconds:
            continue
        placed = min(args.calls, int(seconds * args.cps))
        per_call = (usage.rss_kb - before.rss_kb) / placed if placed else None
        holding = "all" if seconds >= arrivals else f"{placed}"
        figures.append(
            {"seconds": round(seconds, 1), "rss_kb": usage.rss_kb, "kb_per_call": per_call}
        )
        rows.append(
            [
                round(seconds),
                holding,
                round(usage.rss_kb / 1024, 1),
                per_call and round(per_call, 1),
            ]
        )
        due += args.every
    print(tabulate(rows, headers=["s", "calls holding", "controller RSS MB", "KB per call"]))
    # The first minute or so holds one-off costs (each position and wait said for the first
    # time, the allocator's arenas filling): the growth that would add up over a long hold is the
    # one in the second half.
    later = [f for f in figures if f["seconds"] >= max(arrivals + 5, args.hold_seconds / 2)]
    if len(later) >= 2:
        minutes = (later[-1]["seconds"] - later[0]["seconds"]) / 60
        growth = (later[-1]["rss_kb"] - later[0]["rss_kb"]) / args.calls / minutes
        print(
            f"from {later[0]['seconds']:g}s to {later[-1]['seconds']:g}s with all {args.calls} "
            f"calls holding: {growth:+.2f} KB per call per minute"
        )
    if args.output:
        report = {"config": vars(args) | {"output": str(args.output)}, "rss": figures}
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
