"""Helpers of the tests that run against a real FreeSWITCH: its events, and files it can read.

FreeSWITCH runs as its own user, so what it must play (prompts) lives in folders that user can
read; pytest's own temporary folders are private to the user running the tests.
"""

from __future__ import annotations

import ipaddress
import shutil
import tempfile
import time
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import dedent

import gevent
import pytest
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue

from ivr.bundled import bundled
from ivr.flow.compiler import Project, load_project
from ivr.freeswitch.esl import ESLMessage
from ivr.freeswitch.inbound import InboundClient
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call
from ivr.runtime.channel import CallInfo, Utterance


def events_of(client: InboundClient, *names: str) -> Queue:
    """Subscribe to the events ``names`` and collect them from now on, in arrival order."""
    received = Queue()
    client.subscribe(list(names))
    for name in names:
        client.on_event(name, received.put)
    return received


def next_event(
    events: Queue, matches: Callable[[ESLMessage], bool], what: str, timeout: float = 10.0
) -> ESLMessage:
    """The first collected event that ``matches``; the test fails when none comes in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            message = events.get(timeout=max(deadline - time.monotonic(), 0))
        except Empty:
            pytest.fail(f"FreeSWITCH sent no {what} within {timeout:g}s")
        if matches(message):
            return message


def is_loopback(host: str) -> bool:
    """Whether a FreeSWITCH at ``host`` can reach a controller listening on our 127.0.0.1."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@contextmanager
def readable_dir() -> Iterator[Path]:
    """A temporary folder that FreeSWITCH's own user can read, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ivr-fs-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- calls through the dialplan

IVR_NUMBER = "18005550100"
"""The first service number of our dialplan (``00_ivr_controller.xml``)."""
CALL_EVENTS = [
    "CHANNEL_ANSWER",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "RECORD_START",
    "RECORD_STOP",
    "DTMF",
]
"""What FreeSWITCH tells of a call that a caller would notice."""
EVENT_TIMEOUT = 15.0


class TonePrompts(PromptFiles):
    """Prompt files where a recording named ``tone...`` is FreeSWITCH's own tone generator.

    ``{sound: tone}`` is one second of 440 Hz, ``{sound: tone5}`` five seconds: a generated tone
    needs no file that FreeSWITCH, running as its own user, must be able to read.
    """

    def path_for(self, utterance: Utterance) -> str:
        name = utterance.sound or ""
        if name.startswith("tone"):
            seconds = int(name.removeprefix("tone") or 1)
            return f"tone_stream://%({seconds * 1000},0,440)"
        return super().path_for(utterance)


class LiveCall:
    """One loopback call into the IVR number: the caller's phone leg and the controller's leg.

    The caller's leg (``loopback-a``) runs ``phone_app`` (parked, or a tone that is the
    caller's voice); keys are DTMF sent from it with ``uuid_send_dtmf``, as a phone's cross
    the loopback. Events are those of the controller's leg, as FreeSWITCH sent them.
    """

    def __init__(self, ivr: LiveIVR, caller_leg: str) -> None:
        self.ivr = ivr
        self.caller_leg = caller_leg
        self.ivr_leg = ""
        self.seen: list[ESLMessage] = []
        """Every event of the controller's leg taken from FreeSWITCH so far, in order."""
        self._taken: set[int] = set()

    def events(self) -> Queue:
        if not self.ivr_leg:
            try:
                self.ivr_leg = self.ivr.arrivals.get(timeout=EVENT_TIMEOUT)
            except Empty:
                pytest.fail(f"the controller got no call within {EVENT_TIMEOUT:g}s")
        return self.ivr.events_for(self.ivr_leg)

    def next(
        self,
        name: str,
        what: str = "",
        timeout: float = EVENT_TIMEOUT,
        **headers: str,
    ) -> ESLMessage:
        """The earliest event ``name`` of the controller's leg not returned yet whose headers
        (``Application=...``, underscores for dashes) are as given; the test fails when none
        comes in time. Events passed over stay for later look-ups, in their order."""
        wanted = {key.replace("_", "-"): value for key, value in headers.items()}

        def matches(message: ESLMessage) -> bool:
            return message.event_name == name and all(
                message.get(key) == value for key, value in wanted.items()
            )

        for index, message in enumerate(self.seen):
            if index not in self._taken and matches(message):
                self._taken.add(index)
                return message
        events = self.events()

        def arrived(message: ESLMessage) -> bool:
            self.seen.append(message)
            if matches(message):
                self._taken.add(len(self.seen) - 1)
                return True
            return False

        return next_event(events, arrived, what or f"{name} {wanted}", timeout)

    def press(self, keys: str) -> None:
        """The caller presses ``keys`` on their phone."""
        self.ivr.client.api(f"uuid_send_dtmf {self.caller_leg} {keys}")

    def ended(self, timeout: float = EVENT_TIMEOUT) -> Call:
        """The controller's call once it has ended (its journal record and variables)."""
        if not self.ivr_leg:
            self.events()
        try:
            return self.ivr.finished(self.ivr_leg).get(timeout=timeout)
        except gevent.Timeout:
            pytest.fail(f"the controller's call did not end within {timeout:g}s")

    def hang_up(self) -> None:
        self.ivr.client.uuid_kill(self.caller_leg)


class LiveIVR:
    """A controller on a free port of 127.0.0.1 serving a project, and calls into it.

    Each call dials the IVR number through FreeSWITCH's dialplan, carrying ``ivr_controller``
    so that the IVR extension hands it to this controller.
    """

    def __init__(
        self,
        client: InboundClient,
        project: Project,
        prompts: PromptFiles,
        recordings_dir: Path,
        listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.client = client
        self.arrivals: Queue = Queue()
        self._events: dict[str, Queue] = defaultdict(Queue)
        self._ended: dict[str, AsyncResult] = defaultdict(AsyncResult)
        self.calls: list[LiveCall] = []
        self.controller = Controller(
            project,
            listen,
            prompts,
            on_call_end=lambda call: self._ended[call.record.call_id].set(call),
            recordings_dir=recordings_dir,
            route=self._route,
        )
        client.subscribe(CALL_EVENTS)
        for name in CALL_EVENTS:
            client.on_event(name, self._event)
        self.controller.start()

    def _route(self, info: CallInfo):
        self.arrivals.put(info.call_id)
        return self.controller.project.route(info.dialed)

    def _event(self, message: ESLMessage) -> None:
        self._events[message.unique_id or ""].put(message)

    def events_for(self, uuid: str) -> Queue:
        return self._events[uuid]

    def finished(self, uuid: str) -> AsyncResult:
        return self._ended[uuid]

    def call(
        self,
        number: str = IVR_NUMBER,
        caller: str = "+15550001111",
        phone_app: str = "&park()",
    ) -> LiveCall:
        """Dial ``number`` from a loopback phone; returns once FreeSWITCH answered it."""
        host, port = self.controller.address
        call = LiveCall(self, str(uuidlib.uuid4()))
        self.calls.append(call)
        self.client.originate(
            f"loopback/{number}/default",
            phone_app,
            variables={
                "origination_uuid": call.caller_leg,
                "origination_caller_id_number": caller,
                "ivr_controller": f"{host}:{port}",
            },
            timeout=10,
        )
        return call

    def arriving(self) -> LiveCall:
        """A call that comes in another way (a SIP phone), followed once the controller has it."""
        call = LiveCall(self, "")
        self.calls.append(call)
        return call

    def close(self) -> None:
        """Hang up whatever is still up, then stop the controller."""
        for call in self.calls:
            if call.caller_leg:
                self.client.uuid_kill(call.caller_leg)
            if call.ivr_leg:
                self.client.uuid_kill(call.ivr_leg)
        self.controller.drain(timeout=5)


def sounds_with_recording(folder: Path, name: str) -> Path:
    """A ``sounds/`` folder holding the recording ``name`` (our failover apology, 3.4 s)."""
    target = folder / "sounds" / "en" / "8000"
    target.mkdir(parents=True)
    shutil.copy(bundled("sounds") / "en" / "8000" / "ivr-fallback.wav", target / f"{name}.wav")
    return folder / "sounds"


@contextmanager
def live_ivr(
    client: InboundClient,
    folder: Path,
    files: dict[str, str],
    listen: tuple[str, int] = ("127.0.0.1", 0),
) -> Iterator[LiveIVR]:
    """Serve the flows folder made of ``files`` (path in it -> text: flows, data, schedules).

    ``folder`` must be readable by FreeSWITCH (see ``readable_dir``): prompts are rendered
    under it, and its ``recordings`` are writable by FreeSWITCH's user.
    """
    flows_dir = folder / "flows"
    flows_dir.mkdir(exist_ok=True)
    for name, text in files.items():
        path = flows_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    project = load_project(flows_dir)
    assert project.ok, [d.render(project.sources) for d in project.diag.sorted()]
    recordings = folder / "recordings"
    recordings.mkdir(exist_ok=True)
    recordings.chmod(0o777)  # FreeSWITCH's own user writes the voicemail there
    sounds = folder / "sounds"
    if not sounds.exists():
        sounds = sounds_with_recording(folder, "greeting")
    prompts = TonePrompts(folder / "prompts", sounds)
    ivr = LiveIVR(client, project, prompts, recordings, listen)
    try:
        yield ivr
    finally:
        ivr.close()
