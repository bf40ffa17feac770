"""The ``ivr`` command: check, draw and test flows; later serve calls.

Exit codes: 0 all good, 1 the flows or tests have problems, 2 the command was used wrongly
(missing file, bad option), 130 interrupted (Ctrl-C). A mistake on the command line is one line
on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

from ivr import __version__
from ivr.docs import DEFAULT_OUTPUT, write_reference
from ivr.errors import IvrError
from ivr.flow.compiler import CONFIG_FILES, SCENARIO_SUFFIX, flow_files
from ivr.flow.graph import to_dot, to_mermaid
from ivr.gc_policy import FULL_EVERY_DEFAULT, collect_for_measuring, collect_for_serving
from ivr.nodes.registry import default_registry
from ivr.project import load_project
from ivr.schemas import KINDS, schema_for
from ivr.testing.runner import run_scenario_files
from ivr.testing.scenario import load_scenario

DEFAULT_JOURNAL = "var/journal.sqlite"
"""Where ``ivr serve`` writes the call journal and ``ivr report`` reads it by default."""
DEFAULT_ACD_STORE = "var/acd.sqlite"
"""Where ``ivr serve`` keeps agent states and callbacks, and ``ivr agents`` finds them."""
DEFAULT_AGENTS_API = ("127.0.0.1", 8085)
"""Where ``ivr serve`` answers the agents API and ``ivr agents`` asks it."""
DRAIN_TIMEOUT_DEFAULT = 300.0
"""Seconds ``ivr serve`` lets calls in progress go on after SIGTERM: most IVR calls end well
within five minutes; a longer one is handed to the dialplan's failover, so nobody is cut off."""
DEFAULT_MAX_LAG_MS = 500.0
"""Event-loop lateness at which ``ivr serve`` refuses new calls: half a second is what every caller
of the controller would wait more after a key; a healthy loaded loop runs a few ms late."""


class UsageError(IvrError):
    """The command line names something that does not exist or cannot be used."""


def _flows_folder(path: Path) -> Path:
    """The folder of flows that a named folder stands for.

    A project folder (as ``ivr init`` writes it, or this repository) stands for its ``flows/``.
    """
    if (path / "flows").is_dir() and not any(
        p.suffix in (".yaml", ".yml") for p in path.iterdir() if p.is_file()
    ):
        return path / "flows"
    return path


def _folders(paths: list[str]) -> dict[Path, set[Path] | None]:
    """Group the paths by folder; None means the whole folder was named."""
    folders: dict[Path, set[Path] | None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            folders[_flows_folder(path)] = None
        elif path.is_file():
            project = path.parent.parent
            if path.parent.name == "data" and any(project.glob("*.yaml")):
                # A project's data folder: its tables and mock answers are no flows.
                raise UsageError(
                    f"{raw}: a data file, checked with the flows whose data sources name it: "
                    f"ivr validate {project}"
                )
            if path.suffix not in (".yaml", ".yml"):
                raise UsageError(f"{raw}: not a flow, scenario or config file (YAML)")
            chosen = folders.setdefault(path.parent, set())
            if chosen is not None:
                chosen.add(path)
        else:
            raise _unreadable(raw, path)
    return folders


def _unreadable(raw: str, path: Path) -> UsageError:
    """Why a path named on the command line that is neither a folder nor a file cannot be read."""
    if path.exists():
        return UsageError(f"{raw}: not a regular file (a FIFO, a device or a socket)")
    return UsageError(f"{raw}: no such file or folder")


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
            names = {str(p) for p in chosen} | {str(folder / c) for c in CONFIG_FILES}
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
    """Print the JSON Schema of one kind of YAML file (flows by default)."""
    json.dump(schema_for(args.kind), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """Write the reference pages from the node registry and the schemas."""
    written = write_reference(Path(args.output))
    print(f"{len(written)} reference pages written to {args.output}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Write a starter project that validates, tests and demos as it stands."""
    from ivr.starter import InitError, write_starter

    folder = Path(args.folder)
    try:
        written = write_starter(folder)
    except InitError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or folder}: {exc.strerror or exc}") from exc
    for path in written:
        print(f"wrote {path}{'/' if path.is_dir() else ''}")
    print(f"next: cd {folder} && ivr validate . && ivr test . && ivr demo --keys 0")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Print a flow as Mermaid or Graphviz dot."""
    path = Path(args.flow)
    if path.is_dir():
        examples = flow_files(_flows_folder(path))[:1]
        hint = f", e.g. {examples[0]}" if examples else ""
        raise UsageError(f"{args.flow} is a folder: name one flow file{hint}")
    if not path.is_file():
        raise UsageError(f"{args.flow}: no such file")
    if path.name in CONFIG_FILES or path.name.endswith(SCENARIO_SUFFIX):
        examples = flow_files(path.parent)[:1]
        hint = f", e.g. {examples[0]}" if examples else ""
        what = "scenario file" if path.name.endswith(SCENARIO_SUFFIX) else "config file"
        raise UsageError(f"{args.flow} is a {what}, not a flow: name a flow file{hint}")
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
            paths.extend(sorted(_flows_folder(path).glob(f"*{SCENARIO_SUFFIX}")))
        elif path.is_file():
            paths.append(path)
        else:
            raise _unreadable(raw, path)
    if not paths:
        raise UsageError(f"no scenario files (*{SCENARIO_SUFFIX}) in {' '.join(args.paths)}")
    if args.prompt_cache and not (args.via_esl or args.via_freeswitch):
        raise UsageError(
            "--prompt-cache needs --via-esl or --via-freeswitch: only calls through ESL play files"
        )
    if args.via_esl and args.via_freeswitch:
        raise UsageError("--via-esl and --via-freeswitch: choose one")
    if args.max_wait is not None and not args.via_freeswitch:
        raise UsageError(
            "--max-wait needs --via-freeswitch: elsewhere a case's waits take no real time"
        )
    prompt_cache = Path(args.prompt_cache) if args.prompt_cache else None
    with contextlib.ExitStack() as stack:
        runner_for = None
        if args.via_freeswitch:
            runner_for = _freeswitch_runners(
                stack, args.via_freeswitch, args.fs_password, prompt_cache, args.max_wait
            )
        journal = _journal_writer(args.journal) if args.journal else None
        if journal is not None:
            stack.callback(journal.close)
        summary = run_scenario_files(
            paths,
            print,
            via_esl=args.via_esl,
            on_record=journal.submit_record if journal else None,
            on_callback=journal.submit_callback if journal else None,
            on_segment=journal.submit_segment if journal else None,
            prompt_cache=prompt_cache,
            runner_for=runner_for,
            select=args.case,
        )
    if args.case is not None and not (summary.passed or summary.failed or summary.skipped):
        print(f"ivr: no case's name holds {args.case!r}", file=sys.stderr)
        return 1
    if journal is not None:
        written = f"{journal.written} call(s)"
        if journal.callbacks_written:
            written += f" and {journal.callbacks_written} callback(s)"
        print(f"journal: {written} written to {args.journal}")
    return 1 if summary.failed else 0


def _freeswitch_runners(stack, address, password, prompt_cache, max_wait):
    """Connect to the FreeSWITCH and make a runner per folder that uses it; ``stack`` cleans up."""
    import shutil
    import tempfile

    from ivr.freeswitch.esl import ESLError
    from ivr.freeswitch.inbound import InboundClient
    from ivr.testing.via_freeswitch import MAX_WAIT, FreeSwitchRunner

    host, port = address
    try:
        client = InboundClient.connect(host, port, password=password)
    except (ESLError, OSError) as exc:
        raise UsageError(f"--via-freeswitch {host}:{port}: {exc}") from exc
    stack.callback(client.close)
    # FreeSWITCH plays the prompts as its own user: the folder must be readable by others.
    work = Path(tempfile.mkdtemp(prefix="ivr-via-freeswitch-"))
    work.chmod(0o755)
    stack.callback(shutil.rmtree, work, ignore_errors=True)
    limit = MAX_WAIT if max_wait is None else max_wait
    return lambda project: FreeSwitchRunner(
        project, client, work, prompt_cache, max_wait=limit, esl=(host, port, password)
    )


def _journal_writer(path: str):
    from ivr.store import JournalError, JournalWriter

    try:
        return JournalWriter.open(Path(path))
    except JournalError as exc:
        raise UsageError(f"--journal: {exc}") from exc


def cmd_report(args: argparse.Namespace) -> int:
    """Report on the call journal as a table, CSV or an HTML page with charts."""
    from ivr.report import ReportOptionError, run_report

    try:
        written = run_report(
            journal=args.journal,
            start=args.start,
            end=args.end,
            tenant=args.tenant,
            queue=args.queue,
            timezone=args.timezone,
            format=args.format,
            output=args.output,
            short_abandon=args.short_abandon,
            interval=args.interval,
        )
    except ReportOptionError as exc:
        raise UsageError(str(exc)) from exc
    if written is not None:
        print(f"ivr: report written to {written}", file=sys.stderr)
    return 0


def cmd_recordings(args: argparse.Namespace) -> int:
    """List the journal's recordings, verify their files, or purge those past retention."""
    from ivr.report import recordings
    from ivr.report.command import ReportOptionError, parse_moment
    from ivr.store import CallFilter

    try:
        since = parse_moment(args.start, "--from", None, end=False) if args.start else None
        until = parse_moment(args.end, "--to", None, end=True) if args.end else None
        found = recordings.linked(args.journal, CallFilter(since, until, args.tenant))
        if args.action == "list":
            sys.stdout.write(recordings.list_table(found))
            return 0
        if args.action == "verify":
            findings = list(recordings.verify(found))
            for finding in findings:
                if finding.verdict != "ok":
                    print(
                        f"{finding.verdict}: {finding.item.recording.path} (call "
                        f"{finding.item.call_id}): {finding.detail}"
                    )
            bad = [f for f in findings if f.verdict in ("changed", "missing")]
            intact = sum(f.verdict == "ok" for f in findings)
            unsealed = sum(f.verdict == "unsealed" for f in findings)
            print(
                f"{len(findings)} recording(s) checked: {intact} intact, "
                f"{len(bad)} changed or missing, {unsealed} never sealed"
            )
            return 1 if bad else 0
        now = dt.datetime.now(dt.UTC)
        due = recordings.due(found, now)
        if args.dry_run:
            for item in due:
                print(
                    f"would delete {item.recording.path} (kept until "
                    f"{item.recording.keep_until:%Y-%m-%d %H:%M} UTC)"
                )
            print(f"{len(due)} recording(s) past their retention; nothing deleted (--dry-run)")
            return 0
        done = recordings.purge(args.journal, due, now)
        for item, what in done:
            print(f"{what}: {item.recording.path}")
        failed = sum(what.startswith("not deleted") for _, what in done)
        print(f"{len(done) - failed} recording(s) past their retention deleted, {failed} failed")
        return 1 if failed else 0
    except ReportOptionError as exc:
        raise UsageError(str(exc)) from exc


def _port(text: str, port: str) -> int:
    if int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: port {port} is not between 0 and 65535")
    return int(port)


def _max_lag(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not milliseconds between 0 and 60000")
    return value


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:8084")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise argparse.ArgumentTypeError(
            f"{host} is not a loopback address: the controller only listens on 127.0.0.1 "
            "(run it on the FreeSWITCH host)"
        )
    return host, _port(text, port)


def _duration(text: str) -> float:
    from ivr.flow.fields import parse_duration

    seconds = parse_duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration, e.g. 90s or 15m")
    return seconds


def _metrics_address(text: str) -> tuple[str, int]:
    from ivr.metrics import parse_metrics_address

    try:
        return parse_metrics_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _compiled(folder: str | Path):
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"{folder}: no such folder")
    project = load_project(_flows_folder(path))
    for item in project.diag.sorted():
        print(item.render(project.sources), file=sys.stderr)
    if not project.ok:
        raise UsageError(f"the flows in {folder} have errors (above); fix them first")
    return project


def _staff(folder: str | Path):
    """The agents and queues of a flows folder, for ``ivr agents`` without a controller."""
    project = _compiled(folder)
    return project.agents, project.queues


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve calls from FreeSWITCH until SIGTERM or SIGINT, then drain."""
    import signal

    import gevent
    from gevent.event import Event

    from ivr.freeswitch.server import Controller
    from ivr.metrics import ControllerMetrics
    from ivr.prompts.files import PromptFiles

    if args.gc_full_every < 0:
        raise UsageError("--gc-full-every must be 0 or more")
    if args.drain_timeout < 0:
        raise UsageError("--drain-timeout must be 0 or more seconds")
    if args.api == "off" and args.api_token_file is not None:
        raise UsageError("--api-token-file is for the agents API, which --api off turns off")
    token = _api_token(args.api_token_file)
    project = _compiled(args.flows)
    prompts = PromptFiles(Path(args.prompt_cache), Path(args.sounds), args.rate)
    journal = _journal_writer(args.journal)
    link = None
    if args.esl is not None:
        from ivr.freeswitch.link import FreeSwitchLink

        link = FreeSwitchLink(args.esl[0], args.esl[1], args.esl_password)
    center = _contact_center(args, project, link)
    try:
        controller = Controller(
            project,
            args.listen,
            prompts,
            max_calls=args.max_calls,
            max_lag=args.max_lag / 1000 if args.max_lag else None,
            recordings_dir=Path(args.recordings),
            center=center,
        )
    except OSError as exc:  # the only thing it touches on disk is the recordings folder
        raise UsageError(f"--recordings {args.recordings}: {exc.strerror}") from exc
    metrics = ControllerMetrics(controller, journal)

    def call_ended(call) -> None:
        journal.submit_call(call)
        metrics.call_ended(call)

    controller.on_call_end = call_ended
    controller.services.on_call_start = journal.submit_started
    journal.submit_tenants(project)
    center.callbacks.on_dialed = journal.submit_callback
    where = f"; journal {args.journal}"
    if args.metrics is not None:
        try:
            metrics.serve(args.metrics)
        except OSError as exc:
            host, port = args.metrics
            raise UsageError(f"--metrics: cannot listen on {host}:{port}: {exc}") from exc
        where += f"; metrics at http://{args.metrics[0]}:{metrics.address[1]}/metrics"
    try:
        controller.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.listen[0]}:{args.listen[1]}: {exc}") from exc
    center.pool.start_log(center.clock(), journal.submit_segment, clock=center.clock)
    center.start(lambda call_id: call_id in controller.live)
    where += f"; agents kept in {args.store}"
    if link is not None:
        link.on_connected(_resynchronise(controller, center))
        link.start()
        where += f"; event socket {link.address}"
    api = _agents_api(center, args.api, link.status if link is not None else None, token)
    if api is not None:
        where += f"; agents API at http://{api.server_host}:{api.server_port}/status"
        if token is not None:
            where += " (token needed)"
    collect_for_serving(args.gc_full_every)
    print(
        f"ivr: serving {len(project.flows)} flow(s) from {args.flows} on "
        f"{controller.address[0]}:{controller.address[1]}{where}",
        flush=True,
    )
    stop, hurry = Event(), Event()

    def signalled() -> None:
        # The first signal starts the drain; another one ends it at once.
        (hurry if stop.is_set() else stop).set()

    gevent.signal_handler(signal.SIGTERM, signalled)
    gevent.signal_handler(signal.SIGINT, signalled)
    stop.wait()
    limit = args.drain_timeout or None
    print(
        f"ivr: draining {len(controller.calls)} call(s): new calls are refused (FreeSWITCH fails "
        f"them over); calls in progress get {f'{limit:g}s' if limit else 'all the time they need'}"
        "; signal again to stop now",
        flush=True,
    )
    cut = controller.drain(limit, hurry=hurry)
    if cut:
        print(f"ivr: handed {cut} unfinished call(s) back to FreeSWITCH", flush=True)
    if api is not None:
        api.stop()
    if link is not None:
        link.stop()
    center.stop()
    journal.close()
    metrics.stop()
    print(f"ivr: stopped after {controller.served} call(s)", flush=True)
    return 0


def _resynchronise(controller, center):
    """What ``ivr serve`` does on each connection to FreeSWITCH's event socket.

    When FreeSWITCH came back as another run (it restarted or crashed), every call of its
    earlier run is gone, even where the call's connection still looks open: those calls end
    and are journaled, their callers leave the queues, their agents are freed; then the agents
    are checked against the calls really running.
    """
    import logging

    log = logging.getLogger("ivr.controller")

    def resynchronise(client, before: str, now: str) -> None:
        if not before or before == now:
            return
        ended = controller.end_calls_of(
            before, f"FreeSWITCH restarted (core {now}): the call's channel is gone"
        )
        repairs = center.sweep()
        log.warning(
            "resynchronised with the restarted FreeSWITCH: %d call(s) of its earlier run ended, "
            "%d agent repair(s)",
            ended,
            len(repairs),
        )

    return resynchronise


def _contact_center(args: argparse.Namespace, project, link):
    from ivr.acd import SqliteAcdStore, StoreError
    from ivr.acd.center import ContactCenter
    from ivr.freeswitch.callbacks import InboundDialer

    try:
        store = SqliteAcdStore(args.store)
    except StoreError as exc:
        raise UsageError(f"--store: {exc}") from exc
    dialer = None
    if link is not None:
        dialer = InboundDialer(link, args.listen)
    elif any(
        "callback_dialer" in node.needs()
        for flow in project.flows.values()
        for node in flow.nodes.values()
    ):
        print("ivr: no --esl given: callbacks are not offered to callers", file=sys.stderr)
    try:
        return ContactCenter(project.agents, project.queues, store=store, dialer=dialer)
    except StoreError as exc:
        raise UsageError(f"--store: {exc}") from exc


def _agents_api(center, address: tuple[str, int] | str | None, links=None, token=None):
    from ivr.acd.api import serve_api

    if address == "off":
        return None
    try:
        return serve_api(center, address or DEFAULT_AGENTS_API, links, token=token)
    except OSError as exc:
        host, port = address or DEFAULT_AGENTS_API
        if address is None:
            # Only the default address is busy (another controller?): serve calls anyway.
            print(f"ivr: agents API not started: {host}:{port}: {exc}", file=sys.stderr)
            return None
        raise UsageError(f"--api: cannot listen on {host}:{port}: {exc}") from exc


def _api_token(path: str | None) -> str | None:
    """The agents API's token, from ``--api-token-file`` (``None`` without one)."""
    from ivr.acd.api import TokenFileError, read_token_file

    if path is None:
        return None
    try:
        return read_token_file(Path(path))
    except TokenFileError as exc:
        raise UsageError(f"--api-token-file: {exc}") from exc


def _break_minutes(text: str) -> float:
    from ivr.acd.control import break_minutes

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    try:
        return break_minutes(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _api_address(text: str) -> tuple[str, int] | str:
    return "off" if text == "off" else _address(text)


def _esl_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:8021")
    return host, _port(text, port)


def cmd_agents(args: argparse.Namespace) -> int:
    """Agent states: show them, or log an agent in, out or on a break (live when serving)."""
    from ivr.acd.control import agents_command

    if args.action != "status" and not args.agent:
        raise UsageError(f"ivr agents {args.action} needs the agent's id")
    if args.minutes is not None and args.action != "break":
        raise UsageError("--minutes is for break only")
    return agents_command(
        args.action,
        args.agent,
        api=args.api,
        store=Path(args.store),
        staff=lambda: _staff(args.flows),
        minutes=args.minutes,
        out=lambda line: print(line, flush=True),
        token=_api_token(args.api_token_file),
    )


def cmd_freeswitch_conf(args: argparse.Namespace) -> int:
    """Install the drop-in configuration into a FreeSWITCH and say what changed."""
    from ivr.freeswitch.conf_install import ConfInstallError, install_conf

    prefix = Path(args.prefix) if args.prefix else None
    conf_dir = Path(args.conf_dir) if args.conf_dir else prefix and prefix / "etc/freeswitch"
    sounds = (
        Path(args.sounds_dir)
        if args.sounds_dir
        else prefix and prefix / "share/freeswitch/sounds/ivr"
    )
    if conf_dir is None or sounds is None:
        raise UsageError(
            "name the FreeSWITCH: --prefix DIR, or --conf-dir DIR and --sounds-dir DIR"
        )
    numbers = None
    if args.flows is not None:
        project = _compiled(args.flows)
        numbers = sorted(
            {number for tenant in project.tenants.values() for number in tenant.numbers}
        )
        if not numbers:
            raise UsageError(
                f"--flows {args.flows}: its tenants.yaml gives no numbers for the dialplan"
            )
    try:
        report = install_conf(
            conf_dir,
            sounds,
            esl_password=args.esl_password,
            controller=args.controller,
            numbers=numbers,
        )
    except (ConfInstallError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    for line in report.changes or ["nothing to change: installed already"]:
        print(line)
    if numbers:
        print(f"service numbers handed to the controller: {', '.join(numbers)}")
    for agent, agent_password in report.agent_passwords.items():
        print(f"agent {agent}: SIP password {agent_password}")
    if report.esl_password_made:
        print(
            f"event-socket password: {report.esl_password_made} "
            "(ivr serve --esl-password, fs_cli -p)"
        )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.event_socket_changed:
        print("restart FreeSWITCH: its event socket takes new settings only when it starts")
    elif report.changes:
        print("run fs_cli -x reloadxml (or restart FreeSWITCH) to load the changes")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Call an example flow through the controller and a simulated FreeSWITCH."""
    from ivr.bundled import bundled
    from ivr.demo import run_demo

    # Without a folder named: the one here, else the example flows that came with ivr.
    project = _compiled(args.flows or ("flows" if Path("flows").is_dir() else bundled("flows")))
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
        prompt_cache=Path(args.prompt_cache) if args.prompt_cache else None,
        start=start,
    )


def cmd_prompts_build(args: argparse.Namespace) -> int:
    """Pre-render every static prompt of the flows into the prompt cache."""
    from ivr.prompts.build import run_build
    from ivr.prompts.files import PromptFiles

    project = _compiled(args.flows)
    prompts = PromptFiles(Path(args.prompt_cache), Path(args.sounds), args.rate)
    return run_build(project, prompts, lambda line: print(line, flush=True))


def cmd_loadtest(args: argparse.Namespace) -> int:
    """Run ``ivr serve`` in its own process and offer it Poisson arrivals of scripted callers."""
    import signal
    import tempfile

    import gevent
    from gevent.event import Event

    from ivr.loadtest import (
        ProcessUnderTest,
        build_report,
        free_port,
        plans_from_scenarios,
        render_table,
        run_load,
        serve_command,
        split_cores,
    )

    if args.cps <= 0 or args.duration <= 0:
        raise UsageError("--cps and --duration must be more than 0")
    project = _compiled(args.flows)
    scenarios = [Path(p) for p in args.scenario] if args.scenario else project.scenarios
    missing = [str(p) for p in scenarios if not p.is_file()]
    if missing:
        raise UsageError(f"--scenario: no such file: {', '.join(missing)}")
    if not scenarios:
        raise UsageError(f"no scenario files in {args.flows}; name one with --scenario")
    try:
        plans = plans_from_scenarios(project, scenarios)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    skip = [text.lower() for text in args.skip_case]
    plans = [plan for plan in plans if not any(text in plan.name.lower() for text in skip)]
    if not plans:
        raise UsageError("--skip-case left no case to call with")
    faults = _fault_plan(Path(args.faults)) if args.faults else None
    journal = _loadtest_journal(Path(args.journal)) if args.journal else None
    controller_cores, generator_cores = split_cores()
    port = free_port()
    flows = _flows_folder(Path(args.flows)).resolve()
    with tempfile.TemporaryDirectory(prefix="ivr-loadtest-") as tmp:
        serve = serve_command(
            flows,
            port,
            Path(tmp),
            prompt_cache=args.prompt_cache,
            log_level=args.controller_log,
            journal=journal,
        )
        controller = ProcessUnderTest(serve, port, controller_cores, Path(tmp) / "serve.log")
        try:
            controller.start()
        except RuntimeError as exc:
            raise UsageError(f"the controller did not start: {exc}") from exc
        if generator_cores:
            os.sched_setaffinity(0, generator_cores)
        # The generator times the controller: a full collection here would read as its latency.
        collect_for_measuring()
        stop = Event()
        gevent.signal_handler(signal.SIGINT, stop.set)
        print(
            f"ivr: offering {args.cps:g} calls/s for {args.duration:g}s to the controller on "
            f"127.0.0.1:{port} ({len(plans)} scripted callers; Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        try:
            result = run_load(
                ("127.0.0.1", port),
                plans,
                cps=args.cps,
                duration=args.duration,
                max_calls=args.max_calls,
                call_limit=args.call_limit,
                drain_seconds=args.call_limit + 10.0,
                sample=controller.sample,
                stop=stop,
                seed=args.seed,
                faults=faults,
            )
        finally:
            controller.stop()
    report = build_report(
        result,
        controller.samples,
        {
            "flows": str(args.flows),
            "scenarios": [str(p) for p in scenarios],
            "skipped_cases_with": args.skip_case,
            "cases": len(plans),
            "cps": args.cps,
            "duration": args.duration,
            "max_calls": args.max_calls,
            "call_limit": args.call_limit,
            "controller_log": args.controller_log,
            "faults": args.faults,
            "controller_cores": sorted(controller_cores or []),
            "generator_cores": sorted(generator_cores or []),
        },
    )
    print(render_table(report))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
        print(f"ivr: report written to {args.output}", file=sys.stderr)
    if journal is not None:
        print(
            f"ivr: the calls are in the journal {journal} "
            f"(ivr report --journal {journal} --interval 15m --format html)",
            file=sys.stderr,
        )
    return 0


def _loadtest_journal(path: Path) -> Path:
    """``ivr loadtest --journal PATH``, made ready before the load starts.

    The controller runs in its own process with the working folder of this one, so it is given
    the absolute path; opening the journal here refuses a folder that cannot be written or a
    file that is not a journal while nothing has been started yet.
    """
    from ivr.store import JournalError, SqliteJournal

    try:
        SqliteJournal(path).close()
    except JournalError as exc:
        raise UsageError(f"--journal: {exc}") from exc
    return path.resolve()


def _fault_plan(path: Path):
    """The fault plan of ``--faults FILE``; its mistakes as a usage error at file:line:col."""
    from ivr.flow.source import Diagnostics, SourceCache
    from ivr.testing.scenario import load_fault_file

    if not path.is_file():
        raise UsageError(f"--faults: no such file: {path}")
    diag, sources = Diagnostics(), SourceCache()
    plan = load_fault_file(path, diag, sources)
    if plan is None:
        errors = [d.render(sources) for d in diag.sorted() if d.severity == "error"]
        raise UsageError("--faults: the file has errors:\n" + "\n".join(errors))
    return plan


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, with the global options in every command.

    ``add_subparsers`` makes every command's parser of this class too, so ``ivr -v serve`` and
    ``ivr serve -v`` mean the same, whoever adds a command.
    """

    def __init__(self, *args, top: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument(
            "-v",
            "--verbose",
            action="count",
            # Only the top parser sets a default: a command's own must not reset a -v given
            # before it.
            default=0 if top else argparse.SUPPRESS,
            help="log more (-v: calls and nodes, -vv: debug)",
        )

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ivr`` command."""
    parser = _Parser(
        prog="ivr",
        description="Voice menus and contact-center queues for FreeSWITCH, written in YAML.",
        epilog="Exit codes: 0 all good; 1 the command found problems (errors in flows, failed "
        "tests, a refused change); 2 the command was used wrongly (a missing file, a bad option); "
        "130 interrupted.",
        top=True,
    )
    parser.add_argument("--version", action="version", version=f"ivr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="write a starter project into a new folder")
    p.add_argument("folder", metavar="DIR", help="a new or empty folder")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("validate", help="check flows, queues, agents, schedules and tenants")
    p.add_argument("paths", nargs="+", metavar="PATH", help="flow files or folders")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of flows or another YAML file")
    p.add_argument(
        "--kind",
        choices=KINDS,
        default="flow",
        help="which file: flow (default), queues, agents, schedules, tenants, campaigns, data, "
        "test (*.test.yaml)",
    )
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("docs", help="write the reference of node types and files (Markdown)")
    p.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        metavar="DIR",
        help=f"where the pages go (default {DEFAULT_OUTPUT})",
    )
    p.set_defaults(func=cmd_docs)

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
        "--max-lag",
        type=_max_lag,
        default=DEFAULT_MAX_LAG_MS,
        metavar="MS",
        help="refuse new calls while the event loop runs MS milliseconds late or more "
        f"(FreeSWITCH then fails over; default {DEFAULT_MAX_LAG_MS:g}, 0 never refuses)",
    )
    p.add_argument(
        "--prompt-cache",
        default="var/prompts",
        metavar="DIR",
        help="where TTS prompts are rendered; FreeSWITCH must read it",
    )
    p.add_argument("--sounds", default="sounds", metavar="DIR", help="recorded prompts")
    p.add_argument(
        "--rate",
        type=int,
        choices=(8000, 16000),
        default=8000,
        help="sample rate of rendered prompts in Hz (16000 for wideband calls)",
    )
    p.add_argument(
        "--recordings",
        default="var/recordings",
        metavar="DIR",
        help="where voicemail is recorded; FreeSWITCH must write it",
    )
    p.add_argument(
        "--journal",
        default=DEFAULT_JOURNAL,
        metavar="PATH",
        help=f"the call journal (SQLite) every call is written to (default {DEFAULT_JOURNAL})",
    )
    p.add_argument(
        "--metrics",
        type=_metrics_address,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at /metrics on this loopback address, e.g. 127.0.0.1:9108",
    )
    p.add_argument(
        "--store",
        default=DEFAULT_ACD_STORE,
        metavar="PATH",
        help=f"where agent states and callbacks outlive a restart (default {DEFAULT_ACD_STORE})",
    )
    p.add_argument(
        "--api",
        type=_api_address,
        metavar="HOST:PORT",
        help="the JSON agents API on this loopback address (default 127.0.0.1:8085; off: none)",
    )
    p.add_argument(
        "--api-token-file",
        metavar="PATH",
        help="make every request to the agents API carry Authorization: Bearer TOKEN, the one "
        "line of this file (which only its owner may read: chmod 600)",
    )
    p.add_argument(
        "--esl",
        type=_esl_address,
        metavar="HOST:PORT",
        help="FreeSWITCH's event socket (e.g. 127.0.0.1:8021): kept connected, to ring agents "
        "for callbacks and to notice a FreeSWITCH restart (its lost calls are then closed)",
    )
    p.add_argument(
        "--esl-password",
        default=os.environ.get("IVR_ESL_PASSWORD", "ClueCon"),
        metavar="PASSWORD",
        help="its password (default: $IVR_ESL_PASSWORD, else ClueCon)",
    )
    p.add_argument(
        "--gc-full-every",
        type=float,
        default=FULL_EVERY_DEFAULT,
        metavar="SECONDS",
        help="run Python's full garbage collection on this timer instead of whenever the heap "
        f"grows (default {FULL_EVERY_DEFAULT:g}; 0: Python's own policy)",
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=DRAIN_TIMEOUT_DEFAULT,
        metavar="SECONDS",
        help="on SIGTERM, how long calls in progress may go on before they are handed back to "
        f"FreeSWITCH's failover (default {DRAIN_TIMEOUT_DEFAULT:g}; 0: as long as they last)",
    )
    # A server's warnings and errors are its operator's only news of trouble: logged by default.
    p.set_defaults(func=cmd_serve, quiet_log_level=logging.WARNING)

    p = sub.add_parser(
        "agents", help="agents' states: status, login, logout, break (live on a running controller)"
    )
    p.add_argument("action", choices=["status", "login", "logout", "break"])
    p.add_argument("agent", nargs="?", metavar="ID", help="the agent (for login, logout, break)")
    p.add_argument(
        "--minutes",
        type=_break_minutes,
        help="for break: how long, above 0 and at most 1440 (default: until login)",
    )
    p.add_argument(
        "--api",
        type=_address,
        default=DEFAULT_AGENTS_API,
        metavar="HOST:PORT",
        help="the running controller's agents API (default 127.0.0.1:8085)",
    )
    p.add_argument(
        "--api-token-file",
        default=os.environ.get("IVR_API_TOKEN_FILE"),
        metavar="PATH",
        help="the token file of ivr serve --api-token-file (default: $IVR_API_TOKEN_FILE)",
    )
    p.add_argument(
        "--store",
        default=DEFAULT_ACD_STORE,
        metavar="PATH",
        help=f"used when no controller answers (default {DEFAULT_ACD_STORE})",
    )
    p.add_argument(
        "--flows", default="flows", metavar="FLOWS_DIR", help="agents.yaml and queues.yaml"
    )
    p.set_defaults(func=cmd_agents)

    p = sub.add_parser("freeswitch-conf", help="install our configuration into a FreeSWITCH")
    conf = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = conf.add_parser(
        "install",
        help="back up, then add the dialplan with failover, event socket, hold music and agents",
    )
    p.add_argument(
        "--prefix",
        metavar="DIR",
        help="a source-built FreeSWITCH's prefix (/usr/local/freeswitch, /opt/fs): "
        "configuration in DIR/etc/freeswitch, sounds in DIR/share/freeswitch/sounds/ivr",
    )
    p.add_argument(
        "--conf-dir", metavar="DIR", help="the configuration folder (Debian: /etc/freeswitch)"
    )
    p.add_argument(
        "--sounds-dir",
        metavar="DIR",
        help="where FreeSWITCH reads our sounds (Debian: /usr/share/freeswitch/sounds/ivr)",
    )
    p.add_argument(
        "--esl-password",
        metavar="PASSWORD",
        help="the event socket's password (default: the one installed before, else random)",
    )
    p.add_argument(
        "--controller",
        default="127.0.0.1:8084",
        metavar="HOST:PORT",
        help="where ivr serve listens (several: HOST:PORT|HOST:PORT; default 127.0.0.1:8084)",
    )
    p.add_argument(
        "--flows",
        metavar="FLOWS_DIR",
        help="the project whose tenants' numbers the dialplan hands to the controller "
        "(default: the numbers of the shipped examples)",
    )
    p.set_defaults(func=cmd_freeswitch_conf)

    p = sub.add_parser("demo", help="call an example flow (no FreeSWITCH needed)")
    p.add_argument(
        "flows",
        nargs="?",
        metavar="FLOWS_DIR",
        help="the flows to call (default: flows/ here, else the examples that come with ivr)",
    )
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
    p.add_argument(
        "--prompt-cache",
        metavar="DIR",
        help="play prompts from this cache, as ivr prompts build filled it (default: "
        "~/.cache/ivr/prompts, rendered as the call goes)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("prompts", help="prompt audio: pre-render the flows' prompts")
    prompts = p.add_subparsers(dest="prompts_command", required=True, metavar="ACTION")
    p = prompts.add_parser(
        "build",
        help="render every static prompt of every flow and language into the prompt cache, "
        "and report missing recordings",
    )
    p.add_argument("flows", metavar="FLOWS_DIR")
    p.add_argument(
        "--prompt-cache",
        default="var/prompts",
        metavar="DIR",
        help="the prompt cache ivr serve plays from (default var/prompts)",
    )
    p.add_argument("--sounds", default="sounds", metavar="DIR", help="recorded prompts")
    p.add_argument(
        "--rate", type=int, choices=(8000, 16000), default=8000, help="sample rate in Hz"
    )
    p.set_defaults(func=cmd_prompts_build)

    p = sub.add_parser("test", help="run scenario tests (*.test.yaml) without a PBX")
    p.add_argument("paths", nargs="+", metavar="SCENARIO", help="scenario files or folders")
    p.add_argument(
        "--via-esl",
        action="store_true",
        help="run through the controller and a simulated FreeSWITCH over TCP",
    )
    p.add_argument(
        "--via-freeswitch",
        type=_address,
        metavar="HOST:PORT",
        help="run through the controller and the real FreeSWITCH whose event socket is here, "
        "in real time (the controller listens on 127.0.0.1: run it on the FreeSWITCH host)",
    )
    p.add_argument(
        "--fs-password",
        default=os.environ.get("IVR_FS_PASSWORD", "ClueCon"),
        metavar="PASSWORD",
        help="with --via-freeswitch: its event-socket password (default $IVR_FS_PASSWORD, "
        "else ClueCon)",
    )
    p.add_argument(
        "--max-wait",
        type=_duration,
        metavar="DURATION",
        help="with --via-freeswitch: run cases whose wait steps add up to at most this much "
        "real time, e.g. 15m (default 1m); longer ones are skipped, saying so",
    )
    p.add_argument(
        "-k",
        "--case",
        metavar="TEXT",
        help="run only the cases whose name holds TEXT (in any case)",
    )
    p.add_argument(
        "--journal",
        metavar="PATH",
        help="also write every scenario call to this call journal (SQLite), for ivr report",
    )
    p.add_argument(
        "--prompt-cache",
        metavar="DIR",
        help="with --via-esl: play prompts from this cache, as ivr prompts build filled it",
    )
    p.set_defaults(func=cmd_test)

    p = sub.add_parser(
        "loadtest", help="offer calls at a rate to ivr serve in its own process and measure it"
    )
    p.add_argument("flows", metavar="FLOWS_DIR")
    p.add_argument("--cps", type=float, default=10.0, help="mean calls per second (default 10)")
    p.add_argument(
        "--duration", type=float, default=10.0, help="seconds calls are offered (default 10)"
    )
    p.add_argument(
        "--scenario",
        action="append",
        metavar="FILE",
        help="scenario file whose cases script the callers, in turn (repeatable; default: "
        "the *.test.yaml in FLOWS_DIR)",
    )
    p.add_argument(
        "--skip-case",
        action="append",
        default=[],
        metavar="TEXT",
        help="leave out the cases whose name holds TEXT (repeatable), e.g. 'filler' for the "
        "cases that wait on a slow back end on purpose",
    )
    p.add_argument("--max-calls", type=int, metavar="M", help="offer at most M calls")
    p.add_argument(
        "--call-limit",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a caller still on the line after this hangs up (default 30)",
    )
    p.add_argument("--output", metavar="FILE", help="also write the figures as JSON here")
    p.add_argument(
        "--journal",
        metavar="PATH",
        help="keep the controller's call journal here (SQLite, added to if it exists), for ivr "
        "report (default: a temporary one, deleted)",
    )
    p.add_argument(
        "--prompt-cache", metavar="DIR", help="the controller's prompt cache (default var/prompts)"
    )
    p.add_argument("--seed", type=int, help="seed of the arrival times (default: random)")
    p.add_argument(
        "--faults",
        metavar="FILE",
        help="YAML file with a faults: mapping (seed, inject) as in scenario files: what goes "
        "wrong on the simulated FreeSWITCH's line, the same for the same seed",
    )
    p.add_argument(
        "--controller-log",
        choices=["quiet", "info", "debug"],
        default="info",
        help="how much the controller logs (default info, as operators run it with -v)",
    )
    p.set_defaults(func=cmd_loadtest)

    p = sub.add_parser(
        "report", help="report on the call journal (table, CSV, JSON or HTML charts)"
    )
    p.add_argument(
        "--journal",
        default=DEFAULT_JOURNAL,
        metavar="PATH",
        help=f"the call journal to read (default {DEFAULT_JOURNAL})",
    )
    p.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="calls started at or after this date or time (2026-11-01, 2026-11-01T09:00)",
    )
    p.add_argument(
        "--to",
        dest="end",
        metavar="TIME",
        help="calls started before this time, or on or before this date",
    )
    p.add_argument("--tenant", help="only this tenant's calls")
    p.add_argument("--queue", help="only calls that waited in this queue")
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help="count hours and days in this time zone, e.g. Europe/Sofia (default: local time)",
    )
    p.add_argument(
        "--short-abandon",
        default="5s",
        metavar="SECONDS",
        help="callers who hang up in a queue in under this time are short abandons, left out of "
        "the abandon rate and service level (default 5s; 0: count none apart)",
    )
    p.add_argument(
        "--interval",
        choices=["15m", "30m", "60m", "day"],
        help="add a table per interval of this length (offered, answered, abandoned, service "
        "level, ASA, AHT), in the report's time zone",
    )
    p.add_argument(
        "--format",
        choices=["table", "csv", "json", "html"],
        default="table",
        help="table for a terminal (default), csv for spreadsheets, json (raw values) for "
        "programs, html for a browser (charts, printable)",
    )
    p.add_argument(
        "--output",
        metavar="FILE",
        help="write the report here (default: the terminal; html: var/report.html; csv: a "
        "folder gets one file per table, a name ending in .csv one file)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "recordings", help="list call recordings, verify their files, purge past retention"
    )
    p.add_argument(
        "action",
        choices=["list", "verify", "purge"],
        help="list them; verify each file against its journaled sha256; purge those whose "
        "retention has run out",
    )
    p.add_argument(
        "--journal",
        default=DEFAULT_JOURNAL,
        metavar="PATH",
        help=f"the call journal to read (default {DEFAULT_JOURNAL})",
    )
    p.add_argument("--from", dest="start", metavar="TIME", help="calls started at or after this")
    p.add_argument("--to", dest="end", metavar="TIME", help="calls started before this")
    p.add_argument("--tenant", help="only this tenant's calls")
    p.add_argument(
        "--dry-run", action="store_true", help="purge: say what would be deleted, delete nothing"
    )
    p.set_defaults(func=cmd_recordings)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``ivr`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet_log_level", logging.CRITICAL)
    level = {0: quiet, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
