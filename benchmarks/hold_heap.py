"""Whether the controller's own Python objects grow while calls hold, on the simulated clock.

``hold_memory.py`` reads RSS, which also holds what the allocator keeps after a peak. This one
counts the controller's live Python allocations with ``tracemalloc``: a controller and the
simulated FreeSWITCH in one process, in virtual time, so ``--calls`` callers hold in the queue of
``benchmarks/hold/`` (hold music, position and wait every 15 s) for hours of simulated time in
seconds. A snapshot is taken every ``--every`` real seconds; the table shows the simulated minutes
on hold and how the allocations made by the controller (the simulator's and the frame codec's
left out) changed since the previous snapshot. Allocations that grow with every announcement
show up as a steady rise; in-flight playbacks come and go.

Prints numbers; asserts nothing. Run::

    .venv/bin/python benchmarks/hold_heap.py [--calls 40] [--snapshots 4] [--every 8]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import tracemalloc
from pathlib import Path

import gevent
from tabulate import tabulate

from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.simulator import SimulatedFreeSWITCH

ROOT = Path(__file__).resolve().parents[1]
HOLD = ROOT / "benchmarks" / "hold"
LINE = "18005550170"
"""The hold line's number in ``benchmarks/hold/tenants.yaml``."""
NOT_THE_CONTROLLER = [
    tracemalloc.Filter(False, "*/ivr/simulator/*", all_frames=True),
    tracemalloc.Filter(False, "*/ivr/freeswitch/esl.py", all_frames=True),
    tracemalloc.Filter(False, tracemalloc.__file__),
]


def main() -> None:
    """Hold the calls, snapshot the controller's allocations, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40, help="callers on hold (40)")
    parser.add_argument("--snapshots", type=int, default=4, help="snapshots taken (4)")
    parser.add_argument("--every", type=float, default=8.0, help="real seconds between them (8)")
    parser.add_argument("--prompt-cache", type=Path, default=ROOT / "var" / "prompts")
    args = parser.parse_args()
    if args.calls < 1 or args.snapshots < 2 or args.every <= 0:
        parser.error("--calls must be positive, --snapshots at least 2, --every positive")

    project = load_project(HOLD)
    with tempfile.TemporaryDirectory(prefix="ivr-hold-heap-") as tmp:
        prompts = PromptFiles(args.prompt_cache, ROOT / "sounds")
        controller = Controller(project, ("127.0.0.1", 0), prompts, recordings_dir=Path(tmp))
        controller.start()
        sim = SimulatedFreeSWITCH(controller.address, virtual_time=True, settle=0.005)
        # Callers driven live: on hold until they are hung up at the end.
        calls = [sim.place_call(dialed=LINE) for _ in range(args.calls)]
        gevent.sleep(args.every)
        tracemalloc.start(8)
        rows, previous = [], None
        for _ in range(args.snapshots):
            gevent.sleep(args.every)
            gc.collect()
            held = min(call.transcript[-1].at for call in calls if call.transcript) / 60
            snapshot = tracemalloc.take_snapshot().filter_traces(NOT_THE_CONTROLLER)
            size = sum(stat.size for stat in snapshot.statistics("filename"))
            change = None if previous is None else (size - previous) / 1024 / args.calls
            rows.append([f"{held:.0f}", f"{size / 1024:.0f}", change])
            previous = size
        tracemalloc.stop()
        for call in calls:
            call.hangup()
        for call in calls:
            call.wait(10)
        sim.close()
        controller.drain(timeout=5)
    print(
        tabulate(
            rows,
            ["minutes on hold", "controller KB traced", "KB per call since the last"],
            floatfmt=".2f",
        )
    )


if __name__ == "__main__":
    main()
