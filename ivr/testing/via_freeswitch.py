"""Run scenario cases through the controller and a real FreeSWITCH, in real time.

The caller is a loopback call to the case's number (``originate loopback/<number>/default
&park``): its inbound leg runs FreeSWITCH's dialplan, whose IVR extension (``ivr
freeswitch-conf install``) hands it to the controller with ``socket`` as it does a real
caller's; the call carries ``ivr_controller`` so that the extension reaches this runner's own
controller. The other, parked leg is the caller's phone: the caller's keys are DTMF sent from it
(``uuid_send_dtmf``), so they cross the loopback as a phone's would, once the controller has
FreeSWITCH listen for keys (as a scripted caller presses when asked); a ``hangup`` step hangs
it up. FreeSWITCH does not transcribe, so ``hear`` is matched against what the controller had
FreeSWITCH play, read from FreeSWITCH's own execute events and the words our TTS writes beside
each file. ``wait`` is real waiting, so a case whose waits add up to more than ``max_wait``
(``ivr test --max-wait``, default one minute) is skipped with the reason, unless the limit is
raised. A case's ``at:`` shifts the calls' clock to that time.

Agents are FreeSWITCH endpoints behaving as the case says: an available agent is another
loopback call into the echo test (it answers at once), a busy one ``error/user_busy``, one that
does not answer ``error/no_answer``, an unreachable one ``error/user_not_registered``, so the
controller meets FreeSWITCH's own answers and hang-up causes. Once the caller has done every
step, an agent who answered hangs up after ``TALK_SECONDS``. A callback the caller asked for is
made as ``ivr serve`` makes it: the agent's phone is rung by ``originate`` over the event socket,
then the caller's phone (behaving as the case's ``caller_phone`` says) from the agent's call; the
case waits for it in real time, agents' ``until:`` and retries included.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import time
import uuid as uuidlib
from pathlib import Path

import gevent
import gevent.event
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue

from ivr.acd import CALLBACK_VARIABLE
from ivr.acd.callbacks import CallbackResult
from ivr.acd.center import ContactCenter, utc_now
from ivr.flow.compiler import Project
from ivr.flow.fields import format_duration
from ivr.freeswitch.callbacks import InboundDialer
from ivr.freeswitch.esl import ESLMessage
from ivr.freeswitch.inbound import InboundClient, OriginateError
from ivr.freeswitch.link import FreeSwitchLink
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.memory import Event
from ivr.simulator.media import resolve
from ivr.simulator.parsing import separate_string
from ivr.testing.cases import (
    DEFAULT_START,
    AgentLog,
    CaseResult,
    agent_phones,
    case_tenant,
    expectations,
    set_up_agents,
)
from ivr.testing.scenario import AgentSetup, Case, Scenario

ECHO = "9196"
"""The stock dialplan's echo test: answers and stays until the other side hangs up."""
PHONE_ENDPOINTS = {
    "available": f"loopback/{ECHO}/default",
    "busy": "error/user_busy",
    "no_answer": "error/no_answer",
    "logged_out": "error/user_not_registered",
}
"""How an agent's phone behaves (the case's ``agents:``) as a FreeSWITCH dial string."""
HEAR_TIMEOUT = 60.0
"""Real seconds a ``hear`` step waits for its words before the case fails: the simulator's
caller waits as long as the call lasts, and what is heard next in a queue may be the next
announcement, up to a minute away (a callback offered after its ``offer_after`` is said in it)."""
END_TIMEOUT = 20.0
"""Real seconds the call may go on after the caller's last step."""
HEARD_SLACK = 0.5
"""Real seconds allowed past a piece's length for FreeSWITCH to start and finish playing it."""
TALK_SECONDS = 1.0
"""Real seconds an agent talks with a caller who has done every step, before hanging up."""
CALLBACK_SLACK = 60.0
"""Real seconds a callback may take beyond ``--max-wait`` from the call's start."""
MAX_WAIT = 60.0
"""Real seconds of ``wait`` steps a case may have before it is skipped (``--max-wait``)."""
IVR_NUMBER = "18005550100"
"""The number dialled for a case that names none: the first service number of our dialplan."""
_PLAYING_APPS = {"playback": 0, "play_and_get_digits": 5}
"""Applications that play a prompt, with where the prompt stands among their arguments."""


class FreeSwitchRunner:
    """Runs cases of one project through one controller and a real FreeSWITCH.

    Args:
        project: the compiled folder.
        client: an inbound event-socket connection to the FreeSWITCH.
        work_dir: a folder FreeSWITCH can read (its own user plays the prompts rendered there).
        prompt_cache: where prompts are rendered (default: ``work_dir/prompts``).
        controller_host: the controller's address as FreeSWITCH reaches it.
        number: the number dialled for a case that names none (one the dialplan hands to the
            controller).
        max_wait: real seconds of ``wait`` steps a case may have; longer cases are skipped.
        esl: the FreeSWITCH's event socket as host, port and password, for the connection
            that rings agents for callbacks; None leaves callbacks in line, undialled.
    """

    def __init__(
        self,
        project: Project,
        client: InboundClient,
        work_dir: Path,
        prompt_cache: Path | None = None,
        controller_host: str = "127.0.0.1",
        number: str = IVR_NUMBER,
        max_wait: float = MAX_WAIT,
        esl: tuple[str, int, str] | None = None,
    ) -> None:
        self.project = project
        self.max_wait = max_wait
        self.client = client
        self.prompts = PromptFiles(
            prompt_cache or work_dir / "prompts", project.folder.parent / "sounds"
        )
        self.sounds_dir = project.folder.parent / "sounds"
        self.number = number
        self._finished: AsyncResult | None = None
        self._route = (None, None)
        self._placed: _PlacedCall | None = None
        self._events: dict[str, Queue] = {}
        # FreeSWITCH records voicemail as its own user, and hangs up on a caller when it cannot.
        recordings = work_dir / "recordings"
        recordings.mkdir(mode=0o1777, exist_ok=True)
        recordings.chmod(0o1777)  # mkdir's mode is cut by the umask
        self.controller = Controller(
            project,
            (controller_host, 0),
            self.prompts,
            on_call_end=self._ended,
            recordings_dir=recordings,
            route=self._route_call,
        )
        self.controller.start()
        self.link: FreeSwitchLink | None = None
        self.dialer: InboundDialer | None = None
        if esl is not None:
            self.link = FreeSwitchLink(*esl)
            self.link.start()
            self.dialer = InboundDialer(self.link, self.controller.address)
        names = ["CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_BRIDGE"]
        names.append("CHANNEL_HANGUP_COMPLETE")
        client.subscribe(names)
        for name in names:
            client.on_event(name, self._event)

    def close(self) -> None:
        self.controller.drain(timeout=5)
        if self.link is not None:
            self.link.stop()

    def _route_call(self, info: CallInfo):
        """The case's flow for the call the dialplan handed over; its events are followed."""
        if self._placed is None:
            return None, None
        self._placed.arrived(info.call_id)
        return self._route

    def _ended(self, call: Call) -> None:
        if self._finished is not None:
            self._finished.set(call)

    def _event(self, message: ESLMessage) -> None:
        if message.event_name == "CHANNEL_BRIDGE" and message.get(f"variable_{CALLBACK_VARIABLE}"):
            # A callback's agent has reached the caller: they talk a moment, then hang up.
            gevent.spawn_later(TALK_SECONDS, self.client.uuid_kill, message.unique_id)
        events = self._events.get(message.unique_id or "")
        if events is not None:
            events.put(message)

    def _phones_as_endpoints(self, case: Case) -> Project:
        """The project with agents' and called-back callers' phones behaving as the case says."""
        project = copy.copy(self.project)
        phones = agent_phones(case)
        project.agents = {
            agent_id: dataclasses.replace(
                agent, endpoint=PHONE_ENDPOINTS.get(phones.get(agent_id, "available"), "")
            )
            for agent_id, agent in self.project.agents.items()
        }
        caller_phone = PHONE_ENDPOINTS[case.caller_phone or "available"]
        project.queues = {
            name: dataclasses.replace(queue, callback_endpoint=caller_phone)
            for name, queue in self.project.queues.items()
        }
        return project

    def run_case(self, scenario: Scenario, case: Case) -> CaseResult:
        """Place the case's call through FreeSWITCH, play its steps, check its expectations."""
        if case.faults is not None:
            return CaseResult(
                case, None, skipped="it has faults:, which only the simulated FreeSWITCH injects"
            )
        waits = real_waiting(case)
        if waits > self.max_wait:
            return CaseResult(
                case,
                None,
                skipped=f"waits {format_duration(waits)} in real time, more than "
                f"--max-wait {format_duration(self.max_wait)}",
            )
        flow = self.project.flows.get(scenario.flow)
        if flow is None:
            return CaseResult(case, None, failures=[f"flow '{scenario.flow}' is not loaded"])
        tenant = case_tenant(self.project, scenario, case)
        self._route = (flow, tenant)
        project = self._phones_as_endpoints(case)
        start = case.at or DEFAULT_START
        shift = start.astimezone() - dt.datetime.now(dt.UTC)
        self.controller.clock_shift = shift
        center = ContactCenter(
            project.agents, project.queues, dialer=self.dialer, clock=lambda: utc_now() + shift
        )
        services = CallServices(
            project,
            agents=center.pool,
            recordings_dir=self.controller.services.recordings_dir,
            callbacks=center.callbacks,
        )
        agent_log = AgentLog(services.agents, start)
        _, mistake = set_up_agents(project, case, services.agents, start)
        if mistake is not None:
            return CaseResult(case, None, failures=[mistake])
        dialled = gevent.event.Event()
        center.callbacks.on_dialed = lambda _, result: dialled.set()
        self.controller.services = services
        self._finished = AsyncResult()
        call = self._placed = _PlacedCall(self, case)
        center.start(lambda call_id: call_id in self.controller.live)
        callback = None
        try:
            failures, remaining = call.play()
            record_call: Call | None = self._finished.wait(END_TIMEOUT)
            if record_call is None:
                failures.append(f"the call did not end within {END_TIMEOUT:g}s of the last step")
            else:
                callback = center.callbacks.results.get(record_call.record.call_id)
                failures += self._await_callback(callback, dialled, call.started)
        finally:
            center.stop()
            call.close()
            self._placed = None
        if record_call is None:
            return CaseResult(case, None, call.transcript, failures)
        failures += expectations(case, record_call.record, record_call.vars, remaining, callback)
        return CaseResult(
            case, record_call.record, call.transcript, failures, callback, segments=agent_log.end()
        )

    def _await_callback(
        self, callback: CallbackResult | None, dialled: gevent.event.Event, started: float
    ) -> list[str]:
        """Wait for the callback the call asked for to be answered or given up, in real time.

        Up to ``max_wait`` (and ``CALLBACK_SLACK``) from the call's start: retries an hour
        apart take an hour.
        """
        if callback is None or self.dialer is None:
            return []
        deadline = max(started + self.max_wait, time.monotonic()) + CALLBACK_SLACK
        while callback.status not in ("answered", "failed"):
            dialled.clear()
            if not dialled.wait(max(deadline - time.monotonic(), 0)):
                return [
                    f"the callback to {callback.number} was still {callback.status} after "
                    f"--max-wait {format_duration(self.max_wait)} (its retries take real time)"
                ]
        return []


def real_waiting(case: Case) -> float:
    """Real seconds the case foresees: its ``wait`` steps, and its agents' timed states.

    An agent busy ``until: 15m`` frees up (and makes the callback) fifteen minutes into the call.
    """
    waits = sum(step.value for step in case.steps if step.kind == "wait")
    untils = [
        setup.until
        for setup in case.agents.values()
        if isinstance(setup, AgentSetup) and setup.until is not None
    ]
    return max([waits, *untils])


class _PlacedCall:
    """One case's loopback call: its two legs, what FreeSWITCH played on it, the transcript."""

    def __init__(self, runner: FreeSwitchRunner, case: Case) -> None:
        self.runner = runner
        self.case = case
        self.number = case.dialed or runner.number
        self.caller_leg = str(uuidlib.uuid4())
        self.ivr_leg = ""
        self.events: Queue = Queue()
        self.transcript: list[Event] = []
        self.heard: list[str] = []
        # When (real time) each piece of ``heard`` has played to its end, and which
        # application played it: the last piece of a prompt is over when its application is.
        self.heard_by: list[float] = []
        self.heard_in: list[str] = []
        # Where the next ``hear`` starts looking: what an earlier one matched is not heard twice.
        self.heard_from = 0
        self.hung_up = False
        self.listening = False
        # The application FreeSWITCH runs on the controller's leg, "" between two.
        self.running = ""
        self.agent_leg = ""
        self.started = time.monotonic()

    def arrived(self, uuid: str) -> None:
        """The controller has the call: FreeSWITCH's events of that leg are followed."""
        self.ivr_leg = uuid
        self.runner._events[uuid] = self.events

    def log(self, who: str, text: str) -> None:
        self.transcript.append(Event(time.monotonic() - self.started, who, text))

    def play(self) -> tuple[list[str], list]:
        """Place the call and take the caller's steps; returns failures and the steps not taken."""
        host, port = self.runner.controller.address
        variables = {
            "origination_uuid": self.caller_leg,
            "origination_caller_id_number": self.case.caller or "anonymous",
            "ivr_controller": f"{host}:{port}",
        }
        if self.case.caller_name:
            variables["origination_caller_id_name"] = self.case.caller_name
        try:
            self.runner.client.originate(
                f"loopback/{self.number}/default", "&park()", variables=variables, timeout=10
            )
        except OriginateError as exc:
            return [f"FreeSWITCH could not place the call to {self.number}: {exc}"], list(
                self.case.steps
            )
        if not self.ivr_leg:
            return [
                f"FreeSWITCH answered {self.number} without handing the call to the controller: "
                "is it a service number of the dialplan (00_ivr_controller.xml, installed by "
                "ivr freeswitch-conf install)?"
            ], list(self.case.steps)
        self.log("caller", f"calls {self.number}")
        steps = list(self.case.steps)
        while steps:
            step = steps[0]
            # What played before the hang-up may still be heard; nothing else can be done.
            if self.hung_up and step.kind != "hear":
                break
            if step.kind == "hear":
                if not self.hear(step.value):
                    if self.hung_up:
                        break  # reported as a step never reached
                    return [
                        f"line {step.line}: expected to hear {step.value!r} within "
                        f"{HEAR_TIMEOUT:g}s, heard {' / '.join(self.heard) or 'nothing'}"
                    ], steps
            elif step.kind == "press":
                if not self.await_listening():
                    return [
                        f"line {step.line}: nothing listened for keys within {HEAR_TIMEOUT:g}s "
                        f"to press {step.value!r}"
                    ], steps
                self.forget_heard()
                self.log("caller", f"presses {step.value}")
                self.runner.client.uuid_send_dtmf(self.caller_leg, step.value)
            elif step.kind == "wait":
                # As for the simulator's caller, what plays during a wait counts for the hear
                # after it: only a key press starts what is heard anew.
                self.log("caller", f"waits {step.value:g}s")
                self.take_events(until=time.monotonic() + step.value)
            elif step.kind == "hangup":
                self.await_next_piece()
                if self.hung_up:
                    break
                self.log("caller", "hangs up")
                self.runner.client.uuid_kill(self.caller_leg)
            steps.pop(0)
        self.take_events(until=time.monotonic(), stop_when_done=False)
        if not steps:
            self.done_with_steps()
        return [], steps

    def done_with_steps(self) -> None:
        """The caller has done everything: an agent talking with them hangs up shortly."""
        deadline = time.monotonic() + END_TIMEOUT
        while not self.hung_up:
            if self.agent_leg:
                gevent.sleep(TALK_SECONDS)
                self.log("agent", "hangs up")
                self.runner.client.uuid_kill(self.agent_leg)
                return
            if not self.take_one(deadline):
                return

    def forget_heard(self) -> None:
        """The caller pressed a key: a later ``hear`` is matched against what plays from now."""
        self.heard, self.heard_by, self.heard_in = [], [], []
        self.heard_from = 0

    def await_next_piece(self) -> None:
        """Wait, as a scripted caller about to hang up does, for the controller to go on.

        The simulator's caller hangs up before the next prompt piece or listening point, or at
        once while something plays: when FreeSWITCH has finished what the controller asked, the
        caller waits until the controller asks for the next thing (or hangs up itself), so that
        the call's path and goals hold what the controller did after the words were heard.
        """
        deadline = time.monotonic() + HEAR_TIMEOUT
        while not self.running and not self.hung_up and self.take_one(deadline):
            pass

    def await_listening(self) -> bool:
        """Take events until FreeSWITCH listens for the caller's keys; False if it never does."""
        deadline = time.monotonic() + HEAR_TIMEOUT
        while not self.listening:
            if self.hung_up or not self.take_one(deadline):
                return False
        return True

    def hear(self, words: str) -> bool:
        """Take FreeSWITCH's events until the words have played to the end of their piece.

        As a scripted caller hears them: a hang-up next does not cut them. False when they are
        never played.
        """
        wanted = " ".join(words.lower().split())
        deadline = time.monotonic() + HEAR_TIMEOUT
        while (found := self._pieces_with(wanted)) is None:
            if self.hung_up or not self.take_one(deadline):
                return False
        first, last = found
        self.heard_from = first
        while time.monotonic() < self.heard_by[last] and not self.hung_up:
            if not self.take_one(min(self.heard_by[last], deadline)) and (
                time.monotonic() >= deadline
            ):
                break
        return True

    def _pieces_with(self, wanted: str) -> tuple[int, int] | None:
        """The first and last pieces of ``heard`` in which ``wanted`` is said, if it has been.

        Only pieces from ``heard_from`` on count, as the simulator's caller looks on from
        where its previous ``hear`` matched.
        """
        for end in range(self.heard_from, len(self.heard)):
            if wanted in " ".join(self.heard[self.heard_from : end + 1]).lower():
                first = end
                while wanted not in " ".join(self.heard[first : end + 1]).lower():
                    first -= 1
                return first, end
        return None

    def take_events(self, until: float, stop_when_done: bool = True) -> None:
        """Take events until ``until`` (real time), or until the controller's leg has ended."""
        while not (stop_when_done and self.hung_up) and self.take_one(until):
            pass

    def take_one(self, deadline: float) -> bool:
        """Take one event of the controller's leg before ``deadline``; False when none came."""
        try:
            message = self.events.get(timeout=max(deadline - time.monotonic(), 0))
        except Empty:
            return False
        name = message.event_name
        if name == "CHANNEL_HANGUP_COMPLETE":
            self.hung_up = True
            self.log("ivr", f"call ends ({message.get('Hangup-Cause')})")
            return True
        if name == "CHANNEL_BRIDGE":
            self.agent_leg = message.get("Other-Leg-Unique-ID") or ""
            self.log("ivr", "connects the caller")
            return True
        application = message.get("Application") or ""
        run = message.get("Application-UUID") or ""
        if name == "CHANNEL_EXECUTE_COMPLETE":
            self.listening = False
            self.running = ""
            # Stopped by a key, or over: whatever it was to play has been played.
            now = time.monotonic()
            self.heard_by = [
                min(by, now) if played_in == run else by
                for by, played_in in zip(self.heard_by, self.heard_in, strict=True)
            ]
            return True
        self.listening = _listens(message)
        self.running = run or application
        if application in _PLAYING_APPS:
            argv = separate_string(message.get("Application-Data") or "", " ", 11)
            index = _PLAYING_APPS[application]
            target = argv[index] if len(argv) > index else ""
            ends = time.monotonic() + HEARD_SLACK
            pieces = len(self.heard)
            for piece in resolve(target, self.runner.sounds_dir):
                ends += piece.seconds or 0.0
                if piece.text:
                    self.heard.append(piece.text)
                    self.heard_by.append(ends)
                    self.heard_in.append(run)
                self.log("ivr", piece.describe())
            if len(self.heard) > pieces and not self.listening:
                # The prompt's last words are over when FreeSWITCH says the playback is, however
                # late a loaded FreeSWITCH started it.
                self.heard_by[-1] = float("inf")
        elif application == "bridge":
            self.log("ivr", f"rings {message.get('Application-Data')}")
        return True

    def close(self) -> None:
        """Leave nothing up in FreeSWITCH, whatever the case did."""
        if not self.hung_up:
            self.runner.client.uuid_kill(self.caller_leg)
        self.runner._events.pop(self.ivr_leg, None)


def _listens(execute: ESLMessage) -> bool:
    """Whether the application starting in ``execute`` takes the caller's keys."""
    application = execute.get("Application") or ""
    if application == "play_and_get_digits":
        return True
    terminators = execute.get("variable_playback_terminators") or "none"
    return application == "playback" and terminators != "none"
