"""Helpers of the tests that run against a real FreeSWITCH: its events, and files it can read.

FreeSWITCH runs as its own user, so what it must play (prompts) lives in folders that user can
read; pytest's own temporary folders are private to the user running the tests.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gevent
import pytest
from gevent.queue import Empty, Queue

from ivr.freeswitch.esl import ESLMessage
from ivr.freeswitch.inbound import ESLAuthError, ESLConnectError, InboundClient, InboundClosed


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


INSTALLED_PREFIX = Path("/opt/fs")
"""Where scripts/test installs FreeSWITCH (``../shared/freeswitch/install.sh``)."""
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
