"""The benchmark menu on a real FreeSWITCH: plain dialplan XML against the same menu as a flow.

The menu of ``benchmarks/menu/`` (welcome, a one-key menu, an answer, goodbye) is served twice
by one FreeSWITCH: once written as plain dialplan XML (``answer``, ``playback``,
``play_and_get_digits``, ``transfer`` to the choice's extension, ``playback``, ``hangup``), once
as the flow ``menu.yaml`` run by ``ivr serve`` behind the dialplan extension our configuration
installs (``socket ${ivr_controller} async full``, failover included). Both play the same
recordings (silent WAVs as long as their words take to say, written by side_by_side.py's
``write_sounds``) with the same application arguments.

The FreeSWITCH is a private one (``private_freeswitch.py``): the benchmark starts the binary of
an installed prefix (``--prefix``, default /opt/fs) on a copy of its configuration in a
temporary folder, with the project's configuration installed into the copy, the two menus'
extensions added in a context of their own, its own event-socket port and no SIP profile, and
stops it at the end. It never touches another FreeSWITCH's files or calls, and its CPU is its
own. Everything stays on 127.0.0.1.

Each call is a loopback call, ``originate loopback/<number>/rfsbench &park``: its second leg
(the IVR leg) runs the menu, its first (the caller's, parked) is the caller's phone. The caller
waits for the menu prompt to start playing, presses 1 (``uuid_send_dtmf`` on the caller's leg,
so the key crosses the loopback as a phone's would), and must hear the opening hours; the IVR
then says goodbye and hangs up.

- A call **fails** when FreeSWITCH cannot place it (the originate's error), when no prompt
  starts within ``--timeout`` seconds of the originate, when the menu prompt or, after the key,
  the answer does not start within ``--timeout`` seconds of the prompt before it, when the IVR
  leg hangs up before the answer plays, or when the call has not ended ``--timeout`` seconds
  after the answer's and goodbye's length.
- **Setup time** is measured by FreeSWITCH's own clock, so the generator's lag is not in it:
  from the creation of the caller's leg by the originate (its ``Caller-Channel-Created-Time``)
  to the first ``PLAYBACK_START`` on the IVR leg (its ``Event-Date-Timestamp``), in
  microseconds. **key -> prompt** is from the key's ``DTMF`` event on the IVR leg to the
  answer's ``PLAYBACK_START``.

The rate climbs through ``--steps`` (calls per second, evenly spaced for ``--step-seconds``);
the two variants take turns at each rate, so both meet the same machine. A variant stops
climbing at the first step where a call fails or setup p99 passes ``--setup-limit`` (1 s); its
maximum is the last rate it passed. A step whose calls the generator placed more than
``LAG_LIMIT`` (p99) late was not offered at its rate: the climb stops there and the maximum is
a lower bound ("at least"). Between steps FreeSWITCH is left to empty. The run is
bounded by ``--max-calls`` and ``--max-seconds`` and stops by itself; Ctrl-C or SIGTERM stops it
early, cleaning up the same way.

CPU, from ``/proc/<pid>/stat`` over each step (the arrivals and until the last call ended), in
percent of one core: FreeSWITCH's, the controller's (ivr steps) and this generator's own (all
three share the machine; nothing is pinned). FreeSWITCH runs itself at real-time priority
(SCHED_FIFO 1); ``--realtime`` (as root) gives the controller and the generator the same, so
that a loaded FreeSWITCH does not starve them.

Prints a table per step, the two maxima and their ratio (ivr / plain; the goal is 0.9 or more,
FreeSWITCH itself being the limit); asserts nothing. Run as root (FreeSWITCH then runs as its
own user) or as a user who can run the prefix's binary::

    .venv/bin/python benchmarks/real_fs_load.py [--prefix /opt/fs] [--steps 5,10,20,30,40,...]
        [--step-seconds 10] [--timeout 5] [--setup-limit 1] [--max-calls 20000]
        [--max-seconds 900] [--prompt-seconds S] [--realtime] [--output real_fs_load.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue
from private_freeswitch import FreeSwitchStartError, PrivateFreeSwitch
from side_by_side import FLOW, MENU, RATE, write_sounds
from tabulate import tabulate

from ivr.freeswitch.conf_install import CONF_SOURCE
from ivr.freeswitch.inbound import InboundClient, InboundClosed, OriginateError
from ivr.loadtest import ProcessUnderTest, free_port, serve_command
from ivr.loadtest.report import percentiles_ms
from ivr.project import load_project
from ivr.simulator.media import write_silence_wav

CONTEXT = "rfsbench"
"""The dialplan context of both menus' extensions, so both are found by the same hunt."""
PLAIN_NUMBER = "18005550161"
"""The plain dialplan menu's number (the flow's is its tenant's, in benchmarks/menu)."""
VARIANTS = ("plain", "ivr")
TITLES = {"plain": "plain dialplan", "ivr": "ivr controller"}
KEY = "1"
MENU_PROMPT = "bench_menu"
ANSWER_PROMPT = "bench_hours"
"""The caller waits for MENU_PROMPT, presses KEY and must hear ANSWER_PROMPT."""
AFTER_ANSWER = ("bench_hours", "bench_goodbye")
"""What plays between the answer starting and the IVR hanging up."""
EVENTS = ["CHANNEL_ANSWER", "PLAYBACK_START", "DTMF", "CHANNEL_HANGUP_COMPLETE"]
IDLE_TIMEOUT = 30.0
"""Seconds to wait between steps for FreeSWITCH to have no channel left."""
LAG_LIMIT = 0.1
"""Seconds (p99) the generator may place calls late before a step was not really offered."""

PLAIN_MENU = """\
    <!-- The benchmark menu (benchmarks/menu/menu.yaml) as a FreeSWITCH administrator would write
         it: the same applications with the same arguments as the controller sends. -->
    <extension name="rfsbench_plain_menu">
      <condition field="destination_number" expression="^{number}$">
        <action application="answer"/>
        <!-- The welcome is not cut by a key (the flow's barge_in: false). -->
        <action application="set" data="playback_terminators=none"/>
        <action application="playback" data="{s}/bench_welcome.wav"/>
        <action application="play_and_get_digits" data="{pagd} {s}/bench_menu.wav {rest}"/>
        <action application="transfer" data="choice_${{menu_choice}} XML {context}"/>
      </condition>
    </extension>
    <extension name="rfsbench_plain_hours">
      <condition field="destination_number" expression="^(choice|last)_1$">
        <action application="playback" data="{s}/bench_hours.wav"/>
        <action application="playback" data="{s}/bench_goodbye.wav"/>
        <action application="hangup"/>
      </condition>
    </extension>
    <extension name="rfsbench_plain_address">
      <condition field="destination_number" expression="^(choice|last)_2$">
        <action application="playback" data="{s}/bench_address.wav"/>
        <action application="playback" data="{s}/bench_goodbye.wav"/>
        <action application="hangup"/>
      </condition>
    </extension>
    <extension name="rfsbench_plain_retry_after_silence">
      <condition field="destination_number" expression="^choice_$">
        <action application="play_and_get_digits" data="{pagd} {s}/bench_menu_retry.wav {rest}"/>
        <action application="transfer" data="last_${{menu_choice}} XML {context}"/>
      </condition>
    </extension>
    <extension name="rfsbench_plain_retry_after_invalid">
      <condition field="destination_number" expression="^choice_.+$">
        <action application="playback" data="{s}/bench_invalid.wav"/>
        <action application="play_and_get_digits" data="{pagd} {s}/bench_menu_retry.wav {rest}"/>
        <action application="transfer" data="last_${{menu_choice}} XML {context}"/>
      </condition>
    </extension>
    <extension name="rfsbench_plain_goodbye">
      <condition field="destination_number" expression="^last_">
        <action application="playback" data="{s}/bench_goodbye.wav"/>
        <action application="hangup"/>
      </condition>
    </extension>
"""
"""One try per play_and_get_digits, as the controller's menu node does: the retry has its own
prompt and an invalid key its own message (menu.yaml: timeout 3s, attempts 2)."""
PAGD = "1 1 1 3000 none"
PAGD_REST = r"silence_stream://1 menu_choice ^[0-9*#ABCD]+$ 2000"


def dialplan(sounds: Path, ivr_number: str) -> str:
    """The benchmark's dialplan file: the plain menu, and our controller's extension.

    The controller's extension is the one ``ivr freeswitch-conf install`` installs, taken from
    the product's configuration with its numbers replaced by the flow's.
    """
    ours = (CONF_SOURCE / "dialplan" / "default" / "00_ivr_controller.xml").read_text()
    extension = re.search(r"<extension .*?</extension>", ours, re.DOTALL)
    if extension is None:
        raise RuntimeError("the product's 00_ivr_controller.xml has no <extension>")
    controller = re.sub(
        r'expression="[^"]*"', f'expression="^{ivr_number}$"', extension.group(0), count=1
    )
    plain = PLAIN_MENU.format(
        number=PLAIN_NUMBER,
        s=sounds / "en" / str(RATE),
        pagd=PAGD,
        rest=PAGD_REST,
        context=CONTEXT,
    )
    return (
        f'<include>\n  <context name="{CONTEXT}">\n{plain}    {controller}\n'
        "  </context>\n</include>\n"
    )


@dataclass
class CallResult:
    """What became of one call: a failure, or its setup and key -> prompt times in seconds."""

    failure: str | None = None
    answer: float | None = None
    """From the caller's leg being created to the IVR leg answering (part of ``setup``)."""
    setup: float | None = None
    key_to_prompt: float | None = None
    lag: float = 0.0
    """Seconds the generator placed it after its time (not in the measured times)."""


@dataclass
class StepResult:
    """One variant at one rate."""

    variant: str
    cps: float
    calls: list[CallResult] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float | None] = field(default_factory=dict)
    peak_calls: int = 0

    @property
    def failures(self) -> Counter:
        return Counter(call.failure for call in self.calls if call.failure)

    @property
    def setup_ms(self) -> dict:
        return percentiles_ms([c.setup for c in self.calls if c.setup is not None])

    @property
    def answer_ms(self) -> dict:
        return percentiles_ms([c.answer for c in self.calls if c.answer is not None])

    @property
    def key_ms(self) -> dict:
        return percentiles_ms([c.key_to_prompt for c in self.calls if c.key_to_prompt is not None])

    @property
    def lag_ms(self) -> dict:
        return percentiles_ms([c.lag for c in self.calls])

    @property
    def offered(self) -> bool:
        """Whether the generator placed the calls at the step's rate (its lag p99 within limit).

        A generator that falls behind offers fewer calls a second than the step says: what the
        system under test did then says nothing about that rate.
        """
        p99 = self.lag_ms["p99"]
        return p99 is None or p99 <= LAG_LIMIT * 1000.0

    def passed(self, setup_limit: float) -> bool:
        p99 = self.setup_ms["p99"]
        return (
            self.offered and not self.failures and p99 is not None and p99 <= setup_limit * 1000.0
        )

    def verdict(self, setup_limit: float) -> str:
        if self.passed(setup_limit):
            return "ok"
        if not self.offered:
            return f"not offered: generator lag p99 {self.lag_ms['p99']} ms"
        failures = self.failures
        if failures:
            reason, count = failures.most_common(1)[0]
            return f"{sum(failures.values())} failed ({count}: {reason})"
        return f"setup p99 {self.setup_ms['p99']} ms > {setup_limit * 1000:g}"

    def as_dict(self, setup_limit: float) -> dict:
        return {
            "variant": self.variant,
            "cps": self.cps,
            "calls": len(self.calls),
            "failed": sum(self.failures.values()),
            "failures": dict(self.failures),
            "passed": self.passed(setup_limit),
            "seconds": round(self.seconds, 2),
            "peak_calls": self.peak_calls,
            "setup_ms": self.setup_ms,
            "answer_ms": self.answer_ms,
            "key_to_prompt_ms": self.key_ms,
            "generator_lag_ms": self.lag_ms,
            "offered": self.offered,
            "cpu_percent": self.cpu,
        }


class Caller:
    """Places the benchmark's calls through one event-socket connection and follows their legs.

    Each call's events (both legs') are routed to it by the caller leg's uuid: the IVR leg
    carries it as ``other_loopback_leg_uuid``, which FreeSWITCH's loopback sets on both legs.
    """

    def __init__(self, client: InboundClient, timeout: float, after_answer: float) -> None:
        self.client = client
        self.timeout = timeout
        self.after_answer = after_answer
        self.active = 0
        self.peak = 0
        self._calls: dict[str, Queue] = {}
        client.subscribe(EVENTS)
        for name in EVENTS:
            client.on_event(name, self._route)

    def _route(self, message) -> None:
        leg = message.unique_id or ""
        events = self._calls.get(leg)
        if events is None:
            # The IVR leg's first event with its variables (DTMF has none) makes it known.
            events = self._calls.get(message.get("variable_other_loopback_leg_uuid") or "")
            if events is None:
                return
            self._calls[leg] = events
        events.put(message)

    def call(self, number: str, due: float) -> CallResult:
        """One call to ``number``, placed now (it was due at ``due``, monotonic)."""
        caller = str(uuidlib.uuid4())
        events = self._calls[caller] = Queue()
        result = CallResult(lag=max(time.monotonic() - due, 0.0))
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            result.failure = self._follow(number, caller, events, result)
        finally:
            self.active -= 1
            if result.failure is not None:
                gevent.spawn(self._hang_up, caller)
            for leg in [leg for leg, queue in self._calls.items() if queue is events]:
                del self._calls[leg]
        return result

    def _hang_up(self, caller: str) -> None:
        try:
            self.client.uuid_kill(caller)
        except (InboundClosed, TimeoutError):
            pass

    def _originate(self, number: str, caller: str) -> str | None:
        """Place the call (it returns once the IVR leg answers); why it failed, or None."""
        try:
            self.client.originate(
                f"loopback/{number}/{CONTEXT}",
                "&park()",
                variables={"origination_uuid": caller},
                timeout=max(math.ceil(self.timeout), 1),
            )
        except OriginateError as exc:
            return f"originate -ERR {exc.cause}"
        except (InboundClosed, TimeoutError) as exc:
            return f"originate: {exc}"
        return None

    def _follow(self, number: str, caller: str, events: Queue, result: CallResult) -> str | None:
        """Place the call and take its events; the failure, or None when it went as it should."""
        placing = gevent.spawn(self._originate, number, caller)
        deadline = time.monotonic() + self.timeout
        waiting_for = "no prompt"
        answered = first = menu = answer = key = created = None
        ivr_ended = caller_ended = False
        while not (ivr_ended and caller_ended):
            if placing.ready() and placing.value is not None:
                return placing.value
            try:
                message = events.get(timeout=max(deadline - time.monotonic(), 0.0))
            except Empty:
                if placing.ready() or waiting_for != "no prompt":
                    return f"{waiting_for} within {self.timeout:g}s"
                placing.join(self.timeout)  # the originate's own error is the better reason
                continue
            name = message.event_name
            stamp = int(message.get("Event-Date-Timestamp") or 0)
            on_ivr_leg = message.unique_id != caller
            if name == "CHANNEL_HANGUP_COMPLETE":
                if on_ivr_leg:
                    ivr_ended = True
                    if answer is None:
                        cause = message.get("Hangup-Cause")
                        return f"IVR leg hung up ({cause}) before the answer"
                else:
                    caller_ended = True
                    created = int(message.get("Caller-Channel-Created-Time") or 0)
            elif name == "CHANNEL_ANSWER" and on_ivr_leg:
                answered = stamp
            elif name == "DTMF" and on_ivr_leg:
                key = stamp
            elif name == "PLAYBACK_START" and on_ivr_leg:
                played = message.get("Playback-File-Path") or ""
                if first is None:
                    first = stamp
                    waiting_for = "no menu prompt"
                    deadline = time.monotonic() + self.timeout
                if menu is None and f"{MENU_PROMPT}.wav" in played:
                    menu = stamp
                    gevent.spawn(self.client.uuid_send_dtmf, caller, KEY)
                    waiting_for = f"no answer to the key {KEY}"
                    deadline = time.monotonic() + self.timeout
                elif menu is not None and answer is None and f"{ANSWER_PROMPT}.wav" in played:
                    answer = stamp
                    waiting_for = "the call did not end"
                    deadline = time.monotonic() + self.after_answer + self.timeout
        if created and first:
            result.setup = (first - created) / 1e6
        if created and answered:
            result.answer = (answered - created) / 1e6
        if key and answer:
            result.key_to_prompt = (answer - key) / 1e6
        return None

    def idle(self, timeout: float = IDLE_TIMEOUT) -> bool:
        """Wait until FreeSWITCH has no channel; False if some are still up after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client.api("show channels count").strip().startswith("0 total"):
                return True
            gevent.sleep(0.25)
        return False


def cpu_seconds(process: ProcessUnderTest | None) -> float | None:
    """The CPU seconds a process has used so far (user and system, all its threads)."""
    usage = process.sample() if process is not None else None
    return usage.cpu_seconds if usage is not None else None


def run_step(
    caller: Caller,
    variant: str,
    number: str,
    cps: float,
    args: argparse.Namespace,
    watched: dict[str, ProcessUnderTest | None],
    stop: Event,
) -> StepResult:
    """Offer ``cps`` calls a second for ``--step-seconds`` and wait for them all to end."""
    step = StepResult(variant, cps)
    count = max(round(cps * args.step_seconds), 1)
    before = {name: cpu_seconds(process) for name, process in watched.items()}
    before["generator"] = time.process_time()
    caller.peak = caller.active
    started = time.monotonic()
    placed = []
    for index in range(count):
        if stop.is_set():
            break
        due = started + index / cps
        gevent.sleep(max(due - time.monotonic(), 0.0))
        placed.append(gevent.spawn(caller.call, number, due))
    gevent.joinall(placed)
    step.seconds = time.monotonic() - started
    after = {name: cpu_seconds(process) for name, process in watched.items()}
    after["generator"] = time.process_time()
    for name, was in before.items():
        now = after[name]
        used = None if was is None or now is None else now - was
        step.cpu[name] = None if used is None else round(100.0 * used / step.seconds, 1)
    step.calls = [greenlet.value for greenlet in placed]
    step.peak_calls = caller.peak
    return step


HEADERS = [
    "CPS",
    "menu",
    "calls",
    "failed",
    "peak calls",
    "setup p50",
    "setup p99",
    "setup max",
    "answered p99",
    "key->prompt p50",
    "key->prompt p99",
    "FS CPU %",
    "ctl CPU %",
    "gen CPU %",
    "gen lag p99",
    "verdict",
]


FOOTNOTE = """\
Times in ms, by FreeSWITCH's own event clock (Event-Date-Timestamp), which its timer thread moves
on: with calls playing 20 ms frames it comes in steps of about 20 ms, so 0 means within a step.
setup: the originate creating the caller's leg -> the first prompt starting on the IVR leg.
answered p99: the same start -> the IVR leg answering; the rest of setup is answer -> prompt.
key->prompt: the key reaching the IVR leg -> the answer to it starting.
CPU: % of one core over the step (arrivals until the last call ended); FS: FreeSWITCH, ctl: the
controller (ivr steps only), gen: this generator. gen lag: how late calls were placed (not part of
the times)."""


def _row(step: StepResult, setup_limit: float) -> list:
    setup, key = step.setup_ms, step.key_ms
    return [
        f"{step.cps:g}",
        TITLES[step.variant],
        len(step.calls),
        sum(step.failures.values()),
        step.peak_calls,
        setup["p50"],
        setup["p99"],
        setup["max"],
        step.answer_ms["p99"],
        key["p50"],
        key["p99"],
        step.cpu.get("freeswitch"),
        step.cpu.get("controller") if step.variant == "ivr" else "-",
        step.cpu.get("generator"),
        step.lag_ms["p99"],
        step.verdict(setup_limit),
    ]


def maximum(steps: list[StepResult], setup_limit: float) -> tuple[float, str]:
    """The highest rate passed before the first failed step, and how the climb ended."""
    best = 0.0
    for step in steps:
        if not step.offered:
            return best, (
                f"at least: the generator could not offer {step.cps:g} CPS "
                f"({step.verdict(setup_limit)})"
            )
        if not step.passed(setup_limit):
            return best, f"the step at {step.cps:g} CPS: {step.verdict(setup_limit)}"
        best = step.cps
    return best, "at least: no step failed before the ladder ended"


def realtime(pid: int, who: str) -> None:
    """Give ``pid`` (0: this process) the real-time priority FreeSWITCH runs itself at."""
    try:
        os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(1))
    except OSError as exc:
        raise SystemExit(f"real_fs_load: --realtime: cannot give {who} SCHED_FIFO: {exc}") from exc


def prompt_seconds(folder: Path, names: tuple[str, ...]) -> float:
    """How long the recordings ``names`` in ``folder`` play, together."""
    total = 0.0
    for name in names:
        path = folder / f"{name}.wav"
        # 16-bit mono at RATE after a 44-byte header, as write_silence_wav writes them.
        total += (path.stat().st_size - 44) / (2 * RATE)
    return total


def main() -> int:
    """Run the ladder for both menus and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, default=Path("/opt/fs"), help="installed FS")
    parser.add_argument("--steps", default="5,10,15,20,25,30,40,50,60,80,100,120,150,200")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per stage of a call")
    parser.add_argument("--setup-limit", type=float, default=1.0, help="setup p99, seconds")
    parser.add_argument("--max-calls", type=int, default=20000, help="all steps together")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="the whole run")
    parser.add_argument(
        "--prompt-seconds",
        type=float,
        help="make every prompt this long (default: as long as its words take to say)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run the controller and this generator at FreeSWITCH's own real-time priority "
        "(SCHED_FIFO 1; needs root), so that all three compete for the cores alike",
    )
    parser.add_argument("--output", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    steps = [float(step) for step in args.steps.split(",") if step.strip()]
    if not steps or min(steps) <= 0 or args.step_seconds <= 0 or args.timeout <= 0:
        parser.error("--steps, --step-seconds and --timeout must be more than 0")

    project = load_project(MENU)
    if not project.ok:
        print(f"real_fs_load: {MENU} has errors: run ivr validate {MENU}", file=sys.stderr)
        return 2
    ivr_number = next(t.numbers[0] for t in project.tenants.values() if t.flow == FLOW)
    numbers = {"plain": PLAIN_NUMBER, "ivr": ivr_number}
    stop = Event()
    gevent.signal_handler(signal.SIGINT, stop.set)
    gevent.signal_handler(signal.SIGTERM, stop.set)
    results: dict[str, list[StepResult]] = {variant: [] for variant in VARIANTS}
    controller_port = free_port()
    fs = PrivateFreeSwitch(args.prefix, controller=f"127.0.0.1:{controller_port}", name=CONTEXT)
    controller: ProcessUnderTest | None = None
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ivr-real-fs-load-") as work:
        try:
            sounds = fs.folder / "prompts"
            write_sounds(project, sounds)
            rate_folder = sounds / project.flows[FLOW].language / str(RATE)
            if args.prompt_seconds:
                for wav in rate_folder.glob("*.wav"):
                    write_silence_wav(wav, args.prompt_seconds)
            client = fs.start(dialplan(sounds, ivr_number))
            serve = serve_command(MENU, controller_port, Path(work), sounds=sounds)
            serve += ["--prompt-cache", f"{work}/prompts"]
            controller = ProcessUnderTest(serve, controller_port, None, Path(work) / "serve.log")
            controller.start()
            if args.realtime:
                realtime(0, "the generator")
                realtime(controller._proc.pid, "the controller")
            watched = {"freeswitch": fs.process, "controller": controller}
            caller = Caller(client, args.timeout, prompt_seconds(rate_folder, AFTER_ANSWER))
            print(
                f"real_fs_load: FreeSWITCH {args.prefix} (pid {fs.process._proc.pid}, event "
                f"socket 127.0.0.1:{fs.esl_port}), controller 127.0.0.1:{controller_port}, "
                f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
                file=sys.stderr,
                flush=True,
            )
            placed = 0
            climbing = set(VARIANTS)
            for cps in steps:
                for variant in VARIANTS:
                    if variant not in climbing or stop.is_set():
                        continue
                    count = max(round(cps * args.step_seconds), 1)
                    elapsed = time.monotonic() - began
                    if placed + count > args.max_calls or (
                        elapsed + args.step_seconds + 3 * args.timeout > args.max_seconds
                    ):
                        climbing.discard(variant)
                        print(f"real_fs_load: budget reached before {cps:g} CPS", file=sys.stderr)
                        continue
                    if not caller.idle():
                        print("real_fs_load: FreeSWITCH still has channels up", file=sys.stderr)
                    print(
                        f"real_fs_load: {TITLES[variant]}: {cps:g} calls/s for "
                        f"{args.step_seconds:g}s ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    step = run_step(caller, variant, numbers[variant], cps, args, watched, stop)
                    placed += len(step.calls)
                    results[variant].append(step)
                    if not step.passed(args.setup_limit):
                        climbing.discard(variant)
            caller.idle()
        except FreeSwitchStartError as exc:
            print(f"real_fs_load: {exc}", file=sys.stderr)
            return 2
        finally:
            if controller is not None:
                controller.stop()
            fs.stop()
    rows = [
        _row(step, args.setup_limit)
        for pair in zip(*(results[v] + [None] * 99 for v in VARIANTS), strict=False)
        for step in pair
        if step is not None
    ]
    print(tabulate(rows, headers=HEADERS))
    print(FOOTNOTE)
    maxima = {}
    for variant in VARIANTS:
        best, end = maximum(results[variant], args.setup_limit)
        maxima[variant] = best
        print(f"maximum, {TITLES[variant]}: {best:g} CPS ({end})")
    ratio = maxima["ivr"] / maxima["plain"] if maxima["plain"] else None
    shown = "-" if ratio is None else f"{ratio:.2f}"
    print(f"ratio, ivr controller / plain dialplan: {shown} (goal: 0.9 or more)")
    if args.output:
        document = {
            "config": {key: str(value) for key, value in vars(args).items()},
            "steps": {v: [s.as_dict(args.setup_limit) for s in results[v]] for v in VARIANTS},
            "maximum_cps": maxima,
            "ratio": ratio,
        }
        args.output.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
