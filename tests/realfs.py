"""Helpers of the tests that run against a real FreeSWITCH: its events, and files it can read.

FreeSWITCH runs as its own user, so what it must play (prompts) lives in folders that user can
read; pytest's own temporary folders are private to the user running the tests.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import queue
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from textwrap import dedent
from typing import NamedTuple

import gevent
import pytest
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue

from ivr.acd.center import ContactCenter
from ivr.bundled import bundled
from ivr.flow.compiler import Project
from ivr.freeswitch.callbacks import InboundDialer
from ivr.freeswitch.esl import ESLMessage
from ivr.freeswitch.inbound import ESLAuthError, ESLConnectError, InboundClient, InboundClosed
from ivr.freeswitch.link import FreeSwitchLink
from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call
from ivr.runtime.channel import CallInfo, Utterance
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


@pytest.fixture
def fs(freeswitch) -> Iterator[InboundClient]:
    """An event-socket client of the named FreeSWITCH, which must run on this machine.

    Its calls reach controllers on our 127.0.0.1 and it writes files (voicemail, recordings)
    that the tests read back, so one elsewhere is skipped with the reason.
    """
    if not is_loopback(freeswitch.host):
        pytest.skip(
            f"FreeSWITCH at {freeswitch.host} is not on this machine: its calls cannot reach a "
            "controller on our 127.0.0.1, nor its files be read here"
        )
    client = InboundClient.connect(freeswitch.host, freeswitch.port, password=freeswitch.password)
    yield client
    client.close()


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder FreeSWITCH's own user can read (``readable_dir``), for one test."""
    with readable_dir() as path:
        yield path


INSTALLED_PREFIX = Path("/opt/fs")
"""Where scripts/test installs FreeSWITCH (the prebuilt one beside the repository)."""
PRIVATE_PASSWORD = "ivr-private-esl-password"
START_TIMEOUT = 60.0
"""Seconds a private FreeSWITCH may take to come up (it loads every module of its config)."""
STOP_TIMEOUT = 30.0
"""Seconds it may take to shut down after ``fsctl shutdown`` or SIGTERM."""


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (SIP listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def free_port() -> int:
    """A TCP port nothing listens on now, for a controller or an API of the test's own."""
    return _free_port()


def installed_prefix() -> Path | None:
    """The installed FreeSWITCH a private instance is started from, or None.

    ``IVR_FS_PREFIX`` names it (``off`` refuses private instances); else /opt/fs when it holds
    one.
    """
    named = os.environ.get("IVR_FS_PREFIX")
    if named == "off":
        return None
    prefix = Path(named) if named else INSTALLED_PREFIX
    return prefix if (prefix / "bin" / "freeswitch").is_file() else None


class PrivateFreeSwitch:
    """A FreeSWITCH of the test's own, from the installed prefix, that it may stop and kill.

    Its configuration is a copy of the installed one under a temporary folder, with the
    project's configuration installed into it (``ivr freeswitch-conf install``'s own code), its
    own event-socket and SIP ports, and its own log, database and run folders, so stopping or
    killing it never disturbs another FreeSWITCH on the machine.

    Attributes:
        host: its event socket's address (127.0.0.1).
        port: its event socket's port.
        password: its event-socket password.
        controller: the global ``ivr_controller`` its dialplan hands calls to (``host:port``).
        log_file: FreeSWITCH's log, for a failing test's reader.
    """

    def __init__(self, prefix: Path, base: Path) -> None:
        self.prefix = prefix
        self.base = base
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.password = PRIVATE_PASSWORD
        self.controller = f"127.0.0.1:{_free_port()}"
        self.log_file = base / "log" / "freeswitch.log"
        self.process: subprocess.Popen | None = None
        self._configure()

    def _configure(self) -> None:
        from ivr.freeswitch.conf_install import install_conf

        conf = self.base / "etc"
        shutil.copytree(self.prefix / "etc" / "freeswitch", conf, symlinks=True)
        for name in ("log", "db", "run", "temp", "cache", "storage", "recordings", "sounds"):
            (self.base / name).mkdir()
        install_conf(
            conf,
            self.base / "sounds",
            esl_password=self.password,
            controller=self.controller,
            agent_password=lambda agent: "private-agent-password",
        )
        socket_conf = conf / "autoload_configs" / "event_socket.conf.xml"
        text = socket_conf.read_text()
        text = re.sub(r'(name="listen-port" value=")\d+', rf"\g<1>{self.port}", text)
        socket_conf.write_text(text)
        vars_xml = conf / "vars.xml"
        text = vars_xml.read_text()
        for name in ("internal_sip", "internal_tls", "external_sip", "external_tls"):
            text = re.sub(rf"({name}_port=)\d+", rf"\g<1>{_free_port()}", text)
        vars_xml.write_text(text)
        if os.geteuid() == 0:
            # FreeSWITCH drops root for its own user, who must own what it writes.
            subprocess.run(["chown", "-R", "freeswitch:freeswitch", str(self.base)], check=True)

    def start(self) -> None:
        """Start it and wait until its event socket takes logins."""
        assert self.process is None or self.process.poll() is not None, "already running"
        folders = []
        for option, name in (
            ("-conf", "etc"),
            ("-log", "log"),
            ("-db", "db"),
            ("-run", "run"),
            ("-temp", "temp"),
            ("-cache", "cache"),
            ("-storage", "storage"),
            ("-recordings", "recordings"),
        ):
            folders += [option, str(self.base / name)]
        user = ["-u", "freeswitch", "-g", "freeswitch"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [str(self.prefix / "bin" / "freeswitch"), "-nf", "-nc", "-nonat", *user, *folders],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the private FreeSWITCH exited at start; see {self.log_file}")
            try:
                client = self.connect(timeout=1.0)
            except ESLAuthError:
                raise
            except ESLConnectError:
                time.sleep(0.2)
                continue
            try:
                if client.api("status").startswith("UP"):
                    return
            finally:
                client.close()
            time.sleep(0.2)
        pytest.fail(f"the private FreeSWITCH did not come up in {START_TIMEOUT:g}s")

    def connect(self, timeout: float = 5.0) -> InboundClient:
        """A new inbound event-socket connection to it."""
        return InboundClient.connect(self.host, self.port, password=self.password, timeout=timeout)

    def shutdown(self) -> None:
        """Stop it cleanly, as an administrator does (``fsctl shutdown``), and wait."""
        client = self.connect()
        try:
            client.api("fsctl shutdown", timeout=5.0)
        except (InboundClosed, TimeoutError):
            pass  # it closes our connection while it goes down
        finally:
            client.close()
        self.process.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """Kill it (SIGKILL): a crash, with no hang-up sent to anyone."""
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """Make sure it is not running: SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def private_freeswitch() -> Iterator[PrivateFreeSwitch]:
    """A running FreeSWITCH of the test's own (see ``PrivateFreeSwitch``), stopped afterwards.

    Skips, saying why, when no installed FreeSWITCH is found (``IVR_FS_PREFIX``, else /opt/fs)
    or private instances are refused (``IVR_FS_PREFIX=off``).
    """
    prefix = installed_prefix()
    if prefix is None:
        pytest.skip(
            "no installed FreeSWITCH for a private instance: set IVR_FS_PREFIX to its prefix "
            f"(bin/freeswitch), or install one at {INSTALLED_PREFIX}; IVR_FS_PREFIX=off refuses"
        )
    with readable_dir() as base:
        instance = PrivateFreeSwitch(prefix, base / "fs")
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()


class ServeProcess:
    """``ivr serve`` in its own process, with its journal, agents' store, API and log.

    Args:
        work: a folder FreeSWITCH can read (the prompts are rendered there).
        flows: the project's flows folder.
        listen: where the controller listens (``host:port``).
        extra: more options of ``ivr serve``.

    Attributes:
        process: the running ``ivr serve``.
        journal_path: its call journal.
        log_path: its log (``-v``).
        lines: what it prints, line by line, as it comes.
    """

    def __init__(self, work: Path, flows: Path, listen: str, *extra: str) -> None:
        self.api_port = free_port()
        self.journal_path = work / "journal.sqlite"
        self.log_path = work / "serve.log"
        self.lines: queue.Queue[str] = queue.Queue()  # filled by a thread
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ivr.cli",
                    "-v",
                    "serve",
                    str(flows),
                    "--listen",
                    listen,
                    "--prompt-cache",
                    str(work / "prompts"),
                    "--journal",
                    str(self.journal_path),
                    "--store",
                    str(work / "acd.sqlite"),
                    "--api",
                    f"127.0.0.1:{self.api_port}",
                    *extra,
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        # A thread: a greenlet would need every wait of the test to yield to it.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        banner = self.next_line("ivr: serving", timeout=60)
        assert banner.startswith("ivr: serving"), banner

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, start: str, timeout: float = 30.0) -> str:
        """The next line it prints that starts with ``start``; fails when none comes in time."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                if time.monotonic() > deadline:
                    pytest.fail(f"ivr serve printed no {start!r} within {timeout:g}s; {self.log()}")
                gevent.sleep(0.1)  # greenlets (event readers) go on meanwhile
                continue
            if line.startswith(start):
                return line

    def log(self) -> str:
        """Its log so far, for a failing assertion's message."""
        return "its log:\n" + self.log_path.read_text()[-6000:]

    def status(self) -> dict:
        """``GET /status`` of its agents API."""
        address = f"http://127.0.0.1:{self.api_port}/status"
        with urllib.request.urlopen(address, timeout=10) as answer:
            return json.load(answer)

    def calls(self) -> list[dict]:
        """The calls its journal holds so far, oldest first."""
        if not self.journal_path.exists():
            return []
        db = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute("SELECT * FROM calls ORDER BY id")]
        except sqlite3.OperationalError:
            return []  # not created yet
        finally:
            db.close()

    def stop(self) -> None:
        """Make sure it is not running (SIGKILL), and let its output go."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        self.process.stdout.close()


def wait_for(check: Callable[[], object], what: str, timeout: float = 30.0, every: float = 0.2):
    """Ask ``check`` until it gives something true, and return that; fails after ``timeout``.

    For what only a process's API or files show (no event tells it); greenlets go on meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g}s")
        gevent.sleep(every)


# ---------------------------------------------------------------- calls through the dialplan

IVR_NUMBER = "18005550100"
"""The first service number of our dialplan (``00_ivr_controller.xml``)."""
FALLBACK_PROMPT = "ivr-fallback.wav"
"""The failover apology our dialplan plays when the controller cannot take a call."""


def ivr_leg(message: ESLMessage) -> bool:
    """The leg that runs the IVR number's dialplan (loopback's b side), not the caller's."""
    return message.get("Caller-Destination-Number") == IVR_NUMBER and (
        message.get("Channel-Name") or ""
    ).endswith("-b")


def in_the_menu(events: Queue) -> str:
    """Wait until the controller plays the menu; returns the IVR leg's uuid."""
    menu = next_event(
        events,
        lambda m: (
            m.event_name == "CHANNEL_EXECUTE"
            and ivr_leg(m)
            and m.get("Application") == "play_and_get_digits"
        ),
        "the menu played by the controller",
        timeout=30,
    )
    return menu.unique_id


def call_the_ivr_number(fs: InboundClient) -> str:
    """A caller dialling the IVR number; returns the caller's uuid once the call is answered."""
    return fs.originate(f"loopback/{IVR_NUMBER}/default", "&park", timeout=20)


def expect_failover(events: Queue, leg: str | None = None, other_than: str = "") -> ESLMessage:
    """Wait for the apology (on ``leg``, or on any IVR leg but ``other_than``) and the ring to
    the fallback operators; returns the apology's CHANNEL_EXECUTE_COMPLETE."""
    apology = next_event(
        events,
        lambda m: (
            m.event_name == "CHANNEL_EXECUTE_COMPLETE"
            and ivr_leg(m)
            and (leg is None or m.unique_id == leg)
            and m.unique_id != other_than
            and m.get("Application") == "playback"
        ),
        "playback of the failover apology",
        timeout=30,
    )
    assert FALLBACK_PROMPT in apology.get("Application-Data")
    bridge = next_event(
        events,
        lambda m: (
            m.event_name == "CHANNEL_EXECUTE"
            and m.unique_id == apology.unique_id
            and m.get("Application") == "bridge"
        ),
        "bridge to the fallback operators",
    )
    assert bridge.get("Application-Data").startswith("group/ivr_fallback@")
    return apology


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
        self.ivr.client.uuid_send_dtmf(self.caller_leg, keys)

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
        self.link: FreeSwitchLink | None = None
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
        self.center = ContactCenter(project.agents, project.queues)
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
        self.link = FreeSwitchLink(self.target.host, self.target.port, self.target.password)
        self.link.start()
        self.center.callbacks.dialer = InboundDialer(self.link, self.controller.address)
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
        if self.link is not None:
            self.link.stop()
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
        self.client.uuid_send_dtmf(call.caller_leg, keys)

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
