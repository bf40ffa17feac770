"""The ``ivr`` command: check, draw and test flows; later serve calls.

Exit codes: 0 all good, 1 the flows or tests have problems, 2 the command was used wrongly
(missing file, bad option).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from ivr.flow.compiler import SCENARIO_SUFFIX, flow_files, flow_json_schema, load_project
from ivr.flow.graph import to_dot, to_mermaid
from ivr.nodes.registry import default_registry
from ivr.testing.runner import run_scenario_files
from ivr.testing.scenario import load_scenario


class UsageError(Exception):
    """The command line names something that does not exist or cannot be used."""


def _folders(paths: list[str]) -> dict[Path, set[Path] | None]:
    """Group the paths by folder; None means the whole folder was named."""
    folders: dict[Path, set[Path] | None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            folders[path] = None
        elif path.is_file():
            chosen = folders.setdefault(path.parent, set())
            if chosen is not None:
                chosen.add(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return folders


def cmd_validate(args: argparse.Namespace) -> int:
    """Check flows and config files; print every mistake with its position."""
    registry = default_registry()
    errors = warnings = files = 0
    for problem in registry.problems:
        print(f"error: {problem}")
        errors += 1
    for folder, chosen in _folders(args.paths).items():
        project = load_project(folder, registry)
        diag, sources = project.diag, project.sources
        scenario_paths = (
            project.scenarios
            if chosen is None
            else [p for p in chosen if p.name.endswith(SCENARIO_SUFFIX)]
        )
        for path in scenario_paths:
            scenario = load_scenario(path, diag, sources)
            if scenario is not None and scenario.flow and scenario.flow not in project.flows:
                diag.error(
                    f"flow '{scenario.flow}' is not among the flows in {folder}", scenario.flow_mark
                )
        if chosen is None:
            shown = diag.sorted()
            files += len(flow_files(folder)) + len(scenario_paths)
        else:
            # A named file is checked with its folder (queues, subflows), but only mistakes
            # in the named files and the folder's config files are its business.
            names = {str(p) for p in chosen} | {
                str(folder / c)
                for c in ("queues.yaml", "agents.yaml", "schedules.yaml", "tenants.yaml")
            }
            shown = [d for d in diag.sorted() if d.mark is None or d.mark.file in names]
            files += len(chosen)
        for item in shown:
            print(item.render(sources))
            errors += item.severity == "error"
            warnings += item.severity == "warning"
    summary = f"{files} file(s) checked: {errors} error(s), {warnings} warning(s)"
    print(summary if errors or warnings else f"{summary}. All good.")
    return 1 if errors else 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the flow language's JSON Schema."""
    json.dump(flow_json_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Print a flow as Mermaid or Graphviz dot."""
    path = Path(args.flow)
    if not path.is_file():
        raise UsageError(f"{args.flow}: no such file")
    project = load_project(path.parent)
    flows = [f for f in project.flows.values() if Path(f.file) == path]
    mine = [d for d in project.diag.errors if d.mark is None or d.mark.file == str(path)]
    if mine or not flows:
        for item in mine:
            print(item.render(project.sources), file=sys.stderr)
        print(
            f"{args.flow}: the flow does not compile; run ivr validate {args.flow}", file=sys.stderr
        )
        return 1
    flow = flows[0]
    sys.stdout.write(to_dot(flow) if args.format == "dot" else to_mermaid(flow))
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """Run scenario files on the in-memory channel."""
    paths: list[Path] = []
    for raw in args.paths:
        path = Path(raw)
        if path.is_dir():
            paths.extend(sorted(path.glob(f"*{SCENARIO_SUFFIX}")))
        elif path.is_file():
            paths.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    if not paths:
        raise UsageError(f"no scenario files (*{SCENARIO_SUFFIX}) in {' '.join(args.paths)}")
    summary = run_scenario_files(paths, print, via_esl=args.via_esl)
    return 1 if summary.failed else 0


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:8084")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise argparse.ArgumentTypeError(
            f"{host} is not a loopback address: the controller only listens on 127.0.0.1 "
            "(run it on the FreeSWITCH host)"
        )
    return host, int(port)


def _compiled(folder: str):
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"{folder}: no such folder")
    project = load_project(path)
    for item in project.diag.sorted():
        print(item.render(project.sources), file=sys.stderr)
    if not project.ok:
        raise UsageError(f"the flows in {folder} have errors (above); fix them first")
    return project


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve calls from FreeSWITCH until SIGTERM or SIGINT, then drain."""
    import signal

    import gevent
    from gevent.event import Event

    from ivr.freeswitch.server import Controller
    from ivr.prompts.files import PromptFiles

    project = _compiled(args.flows)
    prompts = PromptFiles(Path(args.prompt_cache), Path(args.sounds))
    controller = Controller(
        project,
        args.listen,
        prompts,
        max_calls=args.max_calls,
        recordings_dir=Path(args.recordings),
    )
    try:
        controller.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.listen[0]}:{args.listen[1]}: {exc}") from exc
    print(
        f"ivr: serving {len(project.flows)} flow(s) from {args.flows} on "
        f"{controller.address[0]}:{controller.address[1]}",
        flush=True,
    )
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    print(f"ivr: draining {len(controller.calls)} call(s)", flush=True)
    controller.drain()
    print(f"ivr: stopped after {controller.served} call(s)", flush=True)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Call an example flow through the controller and a simulated FreeSWITCH."""
    from ivr.demo import run_demo

    project = _compiled(args.flows)
    keys = None
    if args.keys is not None:
        keys = [group.strip() for group in args.keys.split(",") if group.strip()]
        bad = [g for g in keys if not all(c in "0123456789*#ABCD" for c in g)]
        if bad:
            raise UsageError(f"--keys: {', '.join(bad)} are not phone keys (0-9, *, #)")
    start = None
    if args.at is not None:
        try:
            start = dt.datetime.fromisoformat(args.at)
        except ValueError as exc:
            raise UsageError(
                f"--at: {args.at!r} is not a date and time like 2026-11-23T10:00:00+02:00"
            ) from exc
        if args.keys is None:
            raise UsageError("--at needs --keys: a call in a terminal runs on the real clock")
    return run_demo(
        project,
        args.number,
        keys,
        lambda line: print(line, flush=True),
        caller=args.caller,
        start=start,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ivr`` command."""
    parser = argparse.ArgumentParser(
        prog="ivr",
        description="Voice menus and contact-center queues for FreeSWITCH, written in YAML.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more (-v: calls and nodes, -vv: debug)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check flows, queues, agents, schedules and tenants")
    p.add_argument("paths", nargs="+", metavar="PATH", help="flow files or folders")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the flow language")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("graph", help="draw a flow (Mermaid or Graphviz dot)")
    p.add_argument("flow", metavar="FLOW.yaml")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("serve", help="answer calls from FreeSWITCH (outbound event socket)")
    p.add_argument("flows", metavar="FLOWS_DIR")
    p.add_argument(
        "--listen",
        type=_address,
        default=("127.0.0.1", 8084),
        metavar="HOST:PORT",
        help="where FreeSWITCH connects (default 127.0.0.1:8084)",
    )
    p.add_argument(
        "--max-calls",
        type=int,
        default=None,
        metavar="N",
        help="refuse calls beyond N at once (FreeSWITCH then fails over)",
    )
    p.add_argument(
        "--prompt-cache",
        default="var/prompts",
        metavar="DIR",
        help="where TTS prompts are rendered; FreeSWITCH must read it",
    )
    p.add_argument("--sounds", default="sounds", metavar="DIR", help="recorded prompts")
    p.add_argument(
        "--recordings",
        default="var/recordings",
        metavar="DIR",
        help="where voicemail is recorded; FreeSWITCH must write it",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="call an example flow (no FreeSWITCH needed)")
    p.add_argument("flows", nargs="?", default="flows", metavar="FLOWS_DIR")
    p.add_argument("--number", default="18005550100", help="the number to call")
    p.add_argument("--caller", default="+15550001111", help="the caller's number")
    p.add_argument(
        "--keys",
        metavar="KEYS",
        help='key groups pressed in turn, e.g. "1,12345678#": runs unattended',
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="the call clock's start for --keys, e.g. 2026-11-23T10:00:00+02:00",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("test", help="run scenario tests (*.test.yaml) without a PBX")
    p.add_argument("paths", nargs="+", metavar="SCENARIO", help="scenario files or folders")
    p.add_argument(
        "--via-esl",
        action="store_true",
        help="run through the controller and a simulated FreeSWITCH over TCP",
    )
    p.set_defaults(func=cmd_test)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``ivr`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    level = {0: logging.CRITICAL, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
