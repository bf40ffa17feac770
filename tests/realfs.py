"""Helpers of the tests that run against a real FreeSWITCH: its events, and files it can read.

FreeSWITCH runs as its own user, so what it must play (prompts) lives in folders that user can
read; pytest's own temporary folders are private to the user running the tests.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import sqlite3
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from textwrap import dedent
from typing import NamedTuple

import pytest
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue

from ivr.acd.center import ContactCenter
from ivr.flow.compiler import load_project
from ivr.freeswitch.callbacks import InboundDialer
from ivr.freeswitch.esl import ESLMessage
from ivr.freeswitch.inbound import InboundClient
from ivr.freeswitch.server import Controller
from ivr.prompts.files import PromptFiles
from ivr.simulator.media import resolve
from ivr.store.writer import JournalWriter

FOLLOWED_EVENTS = [
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
]
"""What a ``QueueCenter`` follows of every channel."""
CALL_SETUP_SECONDS = 20.0
"""Real seconds a call may take to reach the controller."""
CALL_END_SECONDS = 15.0
"""Real seconds a call (and its legs) may take to end once it should."""


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


class PlacedCall(NamedTuple):
    """A caller's call to the IVR: the caller's phone (loopback's a side) and the IVR's leg."""

    caller_leg: str
    ivr_leg: str


class QueueCenter:
    """A controller with its contact center, call journal and callback dialer, on a real FreeSWITCH.

    Calls dial through FreeSWITCH's dialplan and reach this controller by the call's
    ``ivr_controller``. Every channel FreeSWITCH creates meanwhile is followed, so the test can
    check that none is left behind and ``close`` hangs up any that is (on a failure too).

    Args:
        target: the FreeSWITCH.
        work: a folder FreeSWITCH's user can read: flows, prompts and the journal go there.
    """

    def __init__(self, target, work: Path) -> None:
        self.target = target
        self.work = work
        self.client = InboundClient.connect(target.host, target.port, password=target.password)
        self.events: Queue = Queue()
        """Every followed event in arrival order, for ``next_event``."""
        self.history: list[ESLMessage] = []
        """Every followed event so far (also those ``next_event`` passed over)."""
        self.created: list[str] = []
        self.gone: set[str] = set()
        self._changed = Event()
        self._arrivals: Queue = Queue()
        self._ended: dict[str, AsyncResult] = {}
        self.callbacks_dialed: Queue = Queue()
        self.controller: Controller | None = None
        self.center: ContactCenter | None = None
        self.journal: JournalWriter | None = None
        self.dialer: InboundDialer | None = None
        self.client.subscribe(FOLLOWED_EVENTS)
        for name in FOLLOWED_EVENTS:
            self.client.on_event(name, self._event)

    def start(self, files: dict[str, str], *, logged_out: Iterable[str] = ()) -> QueueCenter:
        """Load the flow folder made of ``files`` (name: YAML) and start serving it."""
        flows = self.work / "flows"
        flows.mkdir()
        for name, text in files.items():
            (flows / name).write_text(dedent(text))
        project = load_project(flows)
        assert project.ok, [d.render(project.sources) for d in project.diag.sorted()]
        self.sounds = self.work / "sounds"
        self.center = ContactCenter(project)
        self.journal = JournalWriter.open(self.work / "journal.sqlite")
        self.controller = Controller(
            project,
            ("127.0.0.1", 0),
            PromptFiles(self.work / "prompts", self.sounds),
            on_call_end=self._call_ended,
            recordings_dir=self.work / "recordings",
            route=self._route,
            center=self.center,
        )
        self.controller.start()
        self.dialer = InboundDialer(
            self.target.host, self.target.port, self.target.password, self.controller.address
        )
        self.center.callbacks.dialer = self.dialer
        self.center.callbacks.on_dialed = self._callback_dialed
        now = dt.datetime.now(dt.UTC)
        for agent_id in logged_out:
            self.center.pool.logout(agent_id, now)
        self.center.start(lambda call_id: call_id in self.controller.live)
        return self

    def close(self) -> None:
        """Hang up whatever is still up, stop the controller, write the journal."""
        for uuid in self.created:
            if uuid not in self.gone:
                self.client.uuid_kill(uuid)
        if self.controller is not None:
            self.controller.drain(timeout=5)
        if self.center is not None:
            self.center.stop()
        if self.journal is not None:
            self.journal.close()
        if self.dialer is not None:
            self.dialer.close()
        self.client.close()

    # ------------------------------------------------------------ calls

    def call(self, number: str, *, caller: str, caller_name: str = "") -> PlacedCall:
        """A caller dials ``number``; returns once the controller has answered the call."""
        caller_leg = str(uuidlib.uuid4())
        variables = {
            "origination_uuid": caller_leg,
            "origination_caller_id_number": caller,
            "ivr_controller": "{}:{}".format(*self.controller.address),
        }
        if caller_name:
            variables["origination_caller_id_name"] = caller_name
        self.client.originate(f"loopback/{number}/default", "&park()", variables=variables)
        try:
            ivr_leg = self._arrivals.get(timeout=CALL_SETUP_SECONDS)
        except Empty:
            pytest.fail(f"the call to {number} never reached the controller")
        return PlacedCall(caller_leg, ivr_leg)

    def hang_up(self, call: PlacedCall) -> None:
        """The caller hangs up their phone."""
        self.client.uuid_kill(call.caller_leg)

    def press(self, call: PlacedCall, keys: str) -> None:
        """The caller presses keys on their phone (DTMF that crosses the loopback)."""
        self.client.api(f"uuid_send_dtmf {call.caller_leg} {keys}")

    def ended(self, ivr_leg: str, timeout: float = CALL_END_SECONDS):
        """The controller's finished call on ``ivr_leg``; the test fails if it does not end."""
        call = self._ended.setdefault(ivr_leg, AsyncResult()).wait(timeout)
        if call is None:
            pytest.fail(f"the call {ivr_leg} did not end within {timeout:g}s")
        return call

    def journal_entry(self, call: PlacedCall) -> dict:
        """The call's row of the journal's ``calls`` table, once the call has ended."""
        self.ended(call.ivr_leg)
        return self.journal_row("calls", call.ivr_leg)

    def journal_row(self, table: str, call_id: str) -> dict:
        """The row of ``table`` for ``call_id``, after every entry handed over is written."""
        self.journal.flush()
        with closing(sqlite3.connect(self.work / "journal.sqlite")) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(f"SELECT * FROM {table} WHERE call_id = ?", (call_id,)).fetchone()
        assert row is not None, f"the journal has no {table} row for {call_id}"
        return dict(row)

    def words_of(self, target: str) -> str:
        """The words heard in a playback of ``target`` (our TTS notes them beside each file)."""
        return " ".join(piece.text for piece in resolve(target, self.sounds) if piece.text)

    def expect_no_leg_left(self, timeout: float = CALL_END_SECONDS) -> None:
        """Every channel created since the start hangs up; the test fails if one stays."""
        deadline = time.monotonic() + timeout
        while left := [uuid for uuid in self.created if uuid not in self.gone]:
            self._changed.clear()
            if not self._changed.wait(max(deadline - time.monotonic(), 0)):
                names = {m.unique_id: m.get("Channel-Name") for m in self.history}
                pytest.fail(f"channels left up: {', '.join(f'{names[u]} {u}' for u in left)}")
        # FreeSWITCH's channel table (show channels) lags behind; its sessions do not.
        still = [u for u in self.created if self.client.api(f"uuid_exists {u}").strip() == "true"]
        assert not still, f"channels still up after hanging up: {still}"

    # ------------------------------------------------------------ hooks

    def _route(self, info):
        self._arrivals.put(info.call_id)
        return self.controller.project.route(info.dialed)

    def _call_ended(self, call) -> None:
        self.journal.submit_call(call)
        self._ended.setdefault(call.info.call_id, AsyncResult()).set(call)

    def _callback_dialed(self, call_id: str, result) -> None:
        self.journal.submit_callback(call_id, result)
        self.callbacks_dialed.put((call_id, result))

    def _event(self, message: ESLMessage) -> None:
        uuid = message.unique_id or ""
        if message.event_name == "CHANNEL_CREATE":
            self.created.append(uuid)
        elif message.event_name == "CHANNEL_HANGUP_COMPLETE":
            self.gone.add(uuid)
            self._changed.set()
        self.history.append(message)
        self.events.put(message)


@contextmanager
def started_center(target) -> Iterator[Callable[..., QueueCenter]]:
    """Starts a ``QueueCenter`` for the test's files; closed afterwards, whatever happened."""
    with readable_dir() as work:
        center = QueueCenter(target, work)
        try:
            yield lambda files, **options: center.start(files, **options)
        finally:
            center.close()
