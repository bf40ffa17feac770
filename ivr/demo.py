"""``ivr demo``: a call into an example flow through the controller and a simulated FreeSWITCH.

Both run on loopback in this process; no FreeSWITCH is needed. In a terminal the caller types keys
(Enter sends them; ``h`` hangs up) and sees each prompt as it plays, with the WAV file rendered
for it. With ``keys`` the call runs unattended on a virtual clock and the transcript and outcome
are printed. Prompts and voicemail go into the user's cache (``user_cache()``), so the files the
transcript names are still there after the call.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path

import gevent
from gevent.event import AsyncResult
from gevent.fileobject import FileObjectPosix

from ivr.flow.compiler import Project
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call
from ivr.runtime.memory import Event, Step

LISTEN_AFTER_KEYS = 20.0
"""Seconds an unattended caller keeps listening after the last keys, before hanging up."""


def user_cache() -> Path:
    """The demo's folder in the user's cache (``$XDG_CACHE_HOME/ivr``, else ``~/.cache/ivr``).

    Prompts there are keyed by everything that changes the audio, so demos share them safely.
    """
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ivr"


def _show(out: Callable[[str], None]) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        out(f"{event.at:7.1f}s  {event.who:<6}  {event.text}")

    return show


def _read_keys(call, out: Callable[[str], None]) -> None:
    stdin = FileObjectPosix(sys.stdin.fileno(), "r", close=False)
    while not call.done:
        line = stdin.readline()
        if not line:
            call.hangup()
            return
        keys = line.strip()
        if keys.lower() in ("h", "q", "hangup"):
            call.hangup()
            return
        if keys:
            try:
                call.press(keys)
            except ValueError as exc:
                out(f"  ({exc})")


def run_demo(
    project: Project,
    dialed: str,
    keys: list[str] | None,
    out: Callable[[str], None],
    *,
    caller: str = "+15550001111",
    prompt_cache: Path | None = None,
    start: dt.datetime | None = None,
) -> int:
    """Place one call and print it as it happens; returns the exit code.

    Args:
        project: the compiled flows.
        dialed: the number called (picks the tenant and flow).
        keys: key groups pressed in turn by an unattended caller; None for the terminal.
        out: where lines go.
        caller: the caller's number.
        prompt_cache: where prompts are rendered (default: ``prompts`` in ``user_cache()``).
        start: the call clock's start (default: now).
    """
    from ivr.simulator import SimulatedFreeSWITCH

    flow, tenant = project.route(dialed)
    if flow is None:
        known = ", ".join(n for t in project.tenants.values() for n in t.numbers) or "none"
        out(
            f"ivr demo: no flow answers {dialed} (numbers in tenants.yaml: {known}; and no "
            "'default' flow)"
        )
        return 2
    finished: AsyncResult = AsyncResult()
    cache = user_cache()
    prompts = PromptFiles(prompt_cache or cache / "prompts", project.folder.parent / "sounds")
    controller = Controller(
        project,
        ("127.0.0.1", 0),
        prompts,
        on_call_end=finished.set,
        recordings_dir=cache / "demo-recordings",
    )
    controller.start()
    sim = SimulatedFreeSWITCH(
        controller.address, virtual_time=keys is not None, default_agent="available"
    )
    who = f"{tenant.name} ({tenant.id})" if tenant else "no tenant"
    out(f"Calling {dialed} from {caller}: flow {flow.id}, {who}.")
    steps = None
    if keys is not None:
        steps = [Step("press", group) for group in keys]
        steps += [Step("wait", LISTEN_AFTER_KEYS), Step("hangup", True)]
    else:
        out("Type keys and press Enter to send them; 'h' hangs up.")
    sim_call = sim.place_call(steps, caller=caller, dialed=dialed, on_event=_show(out), start=start)
    reader = gevent.spawn(_read_keys, sim_call, out) if keys is None else None
    try:
        sim_call.wait()
        call: Call = finished.get(timeout=10)
    finally:
        if reader is not None:
            reader.kill()
        sim.close()
        controller.drain(timeout=5)
    record = call.record
    out(f"path: {' -> '.join(record.path)}")
    out(f"outcome: {record.outcome}" + (f" ({record.error})" if record.error else ""))
    if record.goals:
        out(f"goals: {', '.join(record.goals)}")
    return 1 if record.outcome == "error" else 0
