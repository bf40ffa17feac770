"""The same menu served by our controller and by a plain greenswitch application, side by side.

Measures what the framework costs (or saves) over a minimal hand-written greenswitch
``OutboundESLServer`` application that does the same thing for each call. Both serve the menu of
``benchmarks/menu/`` (welcome, a one-key menu with a retry, an answer, goodbye): the ivr
controller runs ``menu.yaml`` with ``ivr serve``, the baseline is ``greenswitch_menu.py``, which
sends the same dialplan applications with the same arguments. Each runs as its own process,
pinned to one core while the load generator runs on the other (where there are two), one after
the other, so each gets the same core. Both get the same load: Poisson arrivals at the same rate
for the same time with the same seed, through the simulated FreeSWITCH, callers scripted by the
cases of ``menu/menu.test.yaml`` (press 1, press 2, an invalid key then 1, silence, hanging up
during the welcome), taken in turn; calls last 0-16 s.

Every prompt is a recording, played by both servers by the same absolute path: this script
writes them into a temporary folder before the runs, silent WAVs as long as their words take to
say (the rule ``ivr test`` times prompts by), with the words in a ``.txt`` beside each, so the
simulated FreeSWITCH times and transcribes them as it does rendered prompts.

It prints one table: each figure of ``ivr loadtest`` for the ivr controller and for the
greenswitch application, and their ratio (greenswitch / ivr). It asserts nothing.

    .venv/bin/python benchmarks/side_by_side.py --cps 50 --duration 30 [--seed 1]
        [--call-limit 30] [--output side_by_side.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

import gevent
from gevent.event import Event
from tabulate import tabulate

from ivr.flow.compiler import Project
from ivr.flow.prompts import Prompt, SoundPart
from ivr.gc_policy import collect_for_measuring, full_collection
from ivr.loadtest import (
    CallPlan,
    ProcessUnderTest,
    build_report,
    free_port,
    plans_from_scenarios,
    run_load,
    serve_command,
    split_cores,
)
from ivr.project import load_project
from ivr.runtime.memory import SOUND_SECONDS, SPEECH_CHARS_PER_SECOND
from ivr.simulator.media import write_silence_wav

HERE = Path(__file__).resolve().parent
MENU = HERE / "menu"
SCENARIO = MENU / "menu.test.yaml"
BASELINE = HERE / "greenswitch_menu.py"
FLOW = "bench_menu"
RATE = 8000
"""The rate folder of the recordings: ``ivr serve``'s default ``--rate``, and the baseline's."""
SERVERS = ("ivr", "greenswitch")
TITLES = {"ivr": "ivr controller", "greenswitch": "greenswitch app"}
ROWS = (
    ("calls offered", "calls.offered", None),
    ("calls completed", "calls.completed", "higher"),
    ("calls failed", "calls.failed", "lower"),
    ("calls unfinished", "calls.unfinished", "lower"),
    ("failed %", "failed_percent", "lower"),
    ("achieved CPS", "achieved_cps", None),
    ("peak concurrent calls", "peak_concurrent", None),
    ("call setup ms p50", "setup_latency_ms.p50", "lower"),
    ("call setup ms p99", "setup_latency_ms.p99", "lower"),
    ("call setup ms p99.9", "setup_latency_ms.p99.9", "lower"),
    ("call setup ms max", "setup_latency_ms.max", "lower"),
    ("key -> next command ms p50", "reply_latency_ms.p50", "lower"),
    ("key -> next command ms p99", "reply_latency_ms.p99", "lower"),
    ("key -> next command ms p99.9", "reply_latency_ms.p99.9", "lower"),
    ("key -> next command ms max", "reply_latency_ms.max", "lower"),
    ("events/s sent", "events_per_second", None),
    ("commands/s received", "commands_per_second", None),
    ("CPU % (mean)", "controller.cpu_percent", "lower"),
    ("CPU % (peak 0.5 s)", "controller.cpu_percent_peak", "lower"),
    ("RSS KB (start)", "controller.rss_kb_start", "lower"),
    ("RSS KB (peak)", "controller.rss_kb_peak", "lower"),
    ("KB per call at peak", "controller.kb_per_call", "lower"),
)
"""Table rows: label, figure in ``build_report``'s dict, and which way is better (None: load)."""
FOOTNOTE = """\
ratio = greenswitch app / ivr controller.
Lower is better for failures, latencies, CPU and memory: there a ratio above 1 means the ivr
controller did better. Higher is better for calls completed: above 1 means greenswitch did. The
other rows (offered, CPS, concurrency, events and commands per second) describe the load each got
and should be close to 1."""


def write_sounds(project: Project, folder: Path) -> list[str]:
    """Write every recording of the menu flow as silence, timed as ``ivr test`` times it.

    Args:
        project: the compiled benchmarks/menu project.
        folder: the sounds folder both servers are given (``<language>/<rate>/<name>.wav``).

    Returns:
        The names written.

    Raises:
        ValueError: the flow has a prompt that is not a recording, which a greenswitch
            application could not play from the same file.
    """
    flow = project.flows[FLOW]
    written = []
    for node in flow.nodes.values():
        for option, value in node.opts.items():
            if not isinstance(value, Prompt):
                continue
            for parts in value.variants.values():
                for part in parts:
                    if not isinstance(part, SoundPart):
                        raise ValueError(
                            f"{FLOW}: {node.name}.{option} is not a recording ({{sound: ...}}); "
                            "the baseline plays files, so every prompt of the menu must be one"
                        )
                    words = part.text or ""
                    # The in-memory channel of ``ivr test`` says words at this rate, so the
                    # scenario's timing and the load's agree.
                    seconds = (
                        max(len(words) / SPEECH_CHARS_PER_SECOND, 0.5) if words else SOUND_SECONDS
                    )
                    path = folder / flow.language / str(RATE) / f"{part.name}.wav"
                    write_silence_wav(path, seconds)
                    # The simulated FreeSWITCH reads a file's words from this (transcripts, hear).
                    path.with_suffix(".txt").write_text(words or part.name, encoding="utf-8")
                    written.append(part.name)
    return written


def server_command(name: str, port: int, sounds: Path, tmp: Path) -> list[str]:
    """The command that starts one server on ``port``, playing the recordings in ``sounds``."""
    if name == "ivr":
        # As ivr loadtest starts it, with the recordings and a prompt cache of its own (nothing
        # is rendered: every prompt is a recording).
        return serve_command(MENU, port, tmp, prompt_cache=f"{tmp}/prompts", sounds=sounds)
    return [sys.executable, str(BASELINE), "--listen", f"127.0.0.1:{port}", "--sounds", str(sounds)]


def run_server(
    name: str,
    plans: list[CallPlan],
    args: argparse.Namespace,
    sounds: Path,
    tmp: Path,
    cores: set[int] | None,
    stop: Event,
) -> tuple[dict, str]:
    """Start one server, offer it the load, stop it; its report and what it printed."""
    port = free_port()
    server = ProcessUnderTest(
        server_command(name, port, sounds, tmp), port, cores, tmp / f"{name}.log"
    )
    server.start()
    print(
        f"side_by_side: {TITLES[name]} on 127.0.0.1:{port}: offering {args.cps:g} calls/s for "
        f"{args.duration:g}s ({len(plans)} scripted callers; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        result = run_load(
            ("127.0.0.1", port),
            plans,
            cps=args.cps,
            duration=args.duration,
            max_calls=None,
            call_limit=args.call_limit,
            drain_seconds=args.call_limit + 10.0,
            sample=server.sample,
            stop=stop,
            seed=args.seed,
        )
    finally:
        server.stop()
    config = {
        "server": name,
        "command": server.argv,
        "scenarios": [str(SCENARIO)],
        "cps": args.cps,
        "duration": args.duration,
        "seed": args.seed,
        "call_limit": args.call_limit,
        "server_cores": sorted(cores or []),
    }
    return build_report(result, server.samples, config), server.output()


def figure(report: dict | None, key: str):
    """A figure of a report by its dotted name (``setup_latency_ms.p99``); None when absent."""
    value = report
    for part in key.split(".", 1):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def ratio(ivr, greenswitch) -> float | None:
    """The greenswitch app's figure over the ivr controller's; None if either is missing or 0."""
    if not isinstance(ivr, int | float) or not isinstance(greenswitch, int | float) or ivr == 0:
        return None
    return round(greenswitch / ivr, 3)


def render(reports: dict[str, dict]) -> str:
    """The side-by-side table, with the footnote."""
    rows = []
    for label, key, _ in ROWS:
        values = [figure(reports.get(name), key) for name in SERVERS]
        quotient = ratio(*values)
        rows.append(
            (
                label,
                *("-" if v is None else v for v in values),
                "-" if quotient is None else f"{quotient:.2f}",
            )
        )
    table = tabulate(
        rows,
        headers=("figure", *(TITLES[name] for name in SERVERS), "ratio"),
        disable_numparse=True,
    )
    lag = ", ".join(
        f"{TITLES[name]} run {figure(reports[name], 'generator_loop_lag_ms.p99')} ms"
        for name in SERVERS
        if name in reports
    )
    return (
        f"{table}\n\n{FOOTNOTE}\n"
        f"The load generator's own event loop lag (p99; latencies below it are not resolved): "
        f"{lag}."
    )


def main() -> int:
    """Run both servers under the same load and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cps", type=float, default=50.0, help="mean calls per second (50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of arrivals (30)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the arrival times (1)")
    parser.add_argument(
        "--call-limit",
        type=float,
        default=30.0,
        help="a caller still on the line after this many seconds hangs up (30)",
    )
    parser.add_argument("--output", metavar="FILE.json", help="also write both reports here")
    args = parser.parse_args()
    if args.cps <= 0 or args.duration <= 0 or args.call_limit <= 0:
        parser.error("--cps, --duration and --call-limit must be more than 0")

    project = load_project(MENU)
    for item in project.diag.sorted():
        print(item.render(project.sources), file=sys.stderr)
    if not project.ok:
        print(f"side_by_side: {MENU} has errors (above)", file=sys.stderr)
        return 2
    plans = plans_from_scenarios(project, [SCENARIO])
    server_cores, generator_cores = split_cores()
    stop = Event()
    gevent.signal_handler(signal.SIGINT, stop.set)
    reports: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ivr-side-by-side-") as folder:
        tmp = Path(folder)
        sounds = tmp / "sounds"
        write_sounds(project, sounds)
        if generator_cores:
            os.sched_setaffinity(0, generator_cores)
        # The generator times the servers: a full collection in it would read as their latency
        # (as ivr loadtest does).
        collect_for_measuring()
        for name in SERVERS:
            if stop.is_set():
                break
            # What the run before left behind is collected now, while nothing is timed, so the
            # second server is not timed by a generator with a bigger heap to scan.
            full_collection()
            (tmp / name).mkdir()
            report, output = run_server(name, plans, args, sounds, tmp / name, server_cores, stop)
            reports[name] = report
            # A server that printed a traceback is worth knowing about, whatever the figures.
            tracebacks = output.count("Traceback (most recent call last)")
            report["server_log_tracebacks"] = tracebacks
            if tracebacks:
                last = output.strip().splitlines()[-1][:200]
                print(
                    f"side_by_side: {TITLES[name]} printed {tracebacks} traceback(s); "
                    f"its last line: {last}",
                    file=sys.stderr,
                )
                if name == "greenswitch":
                    # ProcessUnderTest's readiness probe connects and closes at once;
                    # greenswitch's _accept_call then fails on 'connect' with a traceback.
                    print(
                        "side_by_side: (greenswitch prints one for the readiness probe's "
                        "connection, which closes without a word)",
                        file=sys.stderr,
                    )
    print(render(reports))
    if args.output:
        document = {
            "reports": reports,
            "ratios": {
                key: {
                    "ratio": ratio(*(figure(reports.get(name), key) for name in SERVERS)),
                    "better": better,
                }
                for _, key, better in ROWS
            },
            "ratio_is": "greenswitch / ivr",
        }
        Path(args.output).write_text(json.dumps(document, indent=2) + "\n")
        print(f"side_by_side: reports written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
