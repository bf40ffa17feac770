"""The controller's lasting link to FreeSWITCH's event socket: kept up through restarts.

``InboundClient`` is one connection, and once it is lost it stays lost. ``FreeSwitchLink`` keeps
one open for as long as the controller runs: it connects in the background, and whenever the
connection is lost (FreeSWITCH stopped, crashed or restarted, or stopped answering) it logs it
and connects again, waiting longer after each failed try (``BACKOFF_FIRST`` doubling up to
``BACKOFF_MAX``), so a FreeSWITCH that is down for an hour costs two log lines a minute.
On every new connection it subscribes again to the events asked for with ``subscribe``, hands
them to the handlers given to ``on_event``, and runs the ``on_connected`` hooks with
FreeSWITCH's ``core_uuid`` before and now: a different one means FreeSWITCH restarted and
every channel of its earlier run is gone, which is how ``ivr serve`` resynchronises its calls,
queues and agents (``Controller.end_calls_of``, then the contact center's sweep).

A FreeSWITCH host that goes down closes no connection; the link asks ``status`` every
``CHECK_EVERY`` seconds and takes a missing answer for a lost connection.

Example::

    link = FreeSwitchLink("127.0.0.1", 8021, "ClueCon")
    link.on_connected(lambda client, before, now: print("FreeSWITCH", now, "was", before))
    link.start()
    uuid = link.client(timeout=5).originate("user/1001", "&park")
    link.stop()
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

import gevent
from gevent.event import Event

from ivr.freeswitch import esl
from ivr.freeswitch.inbound import ESLConnectError, EventHandler, InboundClient, InboundClosed

__all__ = ["ConnectedHook", "FreeSwitchLink"]

log = logging.getLogger("ivr.freeswitch")

BACKOFF_FIRST = 0.5
"""Seconds before the first try to connect again."""
BACKOFF_MAX = 30.0
"""The longest wait between two tries."""
CHECK_EVERY = 10.0
"""Seconds between two checks that FreeSWITCH still answers on an open connection."""
CHECK_TIMEOUT = 10.0
"""Seconds FreeSWITCH has to answer a check before the connection counts as lost."""

ConnectedHook = Callable[[InboundClient, str, str], None]
"""Called as ``hook(client, core_uuid_before, core_uuid_now)`` on every new connection, in the
link's own greenlet (it may send commands); ``core_uuid_before`` is empty the first time."""


class FreeSwitchLink:
    """An inbound event-socket connection that is made again whenever it is lost.

    Args:
        host: FreeSWITCH's event socket host.
        port: its port.
        password: its password.
        connect_timeout: seconds for each step of a connection (see ``InboundClient.connect``).
        backoff: the first and the longest wait between tries, in seconds.
        check_every: seconds between checks of an open connection (0: no checks).
        check_timeout: seconds FreeSWITCH has to answer a check.

    Attributes:
        address: ``host:port``, for messages.
        core_uuid: FreeSWITCH's ``core_uuid`` at the latest connection (empty before any).
        connections: how many times a connection was made.
        last_error: why the latest try failed or the latest connection was lost.
    """

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        connect_timeout: float = 5.0,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX),
        check_every: float = CHECK_EVERY,
        check_timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self.password = password
        self.address = f"{host}:{port}"
        self.connect_timeout = connect_timeout
        self.backoff = backoff
        self.check_every = check_every
        self.check_timeout = check_timeout
        self.core_uuid = ""
        self.connections = 0
        self.last_error = ""
        self._client: InboundClient | None = None
        self._up = Event()
        self._since: dt.datetime | None = None
        self._events: list[str] = []
        self._handlers: list[tuple[str, EventHandler]] = []
        self._hooks: list[ConnectedHook] = []
        self._greenlet: gevent.Greenlet | None = None

    def __repr__(self) -> str:
        return f"<FreeSwitchLink {self.address} {'up' if self._up.is_set() else 'down'}>"

    # ------------------------------------------------------------------ what every connection gets

    def subscribe(self, event_names: Sequence[str]) -> None:
        """Ask for these events on every connection (custom ones as ``CUSTOM`` + subclasses)."""
        self._events.extend(name for name in event_names if name not in self._events)
        client = self._client
        if client is not None and not client.closed.is_set():
            try:
                client.subscribe(list(event_names))
            except (InboundClosed, TimeoutError) as exc:
                log.info("[%s] subscribing waits for the next connection: %s", self.address, exc)

    def on_event(self, name: str, handler: EventHandler) -> None:
        """Call ``handler`` for every event ``name`` on this and every later connection."""
        self._handlers.append((name, handler))
        if self._client is not None:
            self._client.on_event(name, handler)

    def on_connected(self, hook: ConnectedHook) -> None:
        """Run ``hook`` on every new connection, once its events are subscribed."""
        self._hooks.append(hook)

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        """Connect in the background, and keep connecting until ``stop``."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._keep_up)

    def stop(self) -> None:
        """Stop keeping the connection and close it."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None
        client, self._client = self._client, None
        self._up.clear()
        if client is not None:
            client.close()

    @property
    def connected(self) -> bool:
        """Whether a connection is open now."""
        return self._up.is_set()

    def client(self, timeout: float | None = 0) -> InboundClient:
        """The open connection, waiting up to ``timeout`` seconds for one.

        Raises:
            ESLConnectError: none is open within ``timeout``; the message says why.
        """
        self._up.wait(timeout)
        client = self._client
        if client is None or client.closed.is_set():
            why = f": {self.last_error}" if self.last_error else ""
            raise ESLConnectError(f"no connection to FreeSWITCH at {self.address}{why}")
        return client

    def status(self) -> dict[str, Any]:
        """The link as the agents API shows it."""
        return {
            "address": self.address,
            "connected": self.connected,
            "since": self._since.isoformat() if self._since else None,
            "core_uuid": self.core_uuid,
            "connections": self.connections,
            "last_error": self.last_error,
        }

    def _keep_up(self) -> None:
        wait = self.backoff[0]
        tries = 0
        while True:
            client = self._connect()
            if client is None:
                tries += 1
                log.warning(
                    "[%s] cannot reach FreeSWITCH's event socket (try %d): %s; next try in %gs",
                    self.address,
                    tries,
                    self.last_error,
                    wait,
                )
                gevent.sleep(wait)
                wait = min(wait * 2, self.backoff[1])
                continue
            wait, tries = self.backoff[0], 0
            self._watch(client)
            self._up.clear()
            self._client = None
            self.last_error = client.close_reason
            log.warning(
                "[%s] lost the event socket: %s; connecting again",
                self.address,
                client.close_reason,
            )

    def _connect(self) -> InboundClient | None:
        """One try: connect, subscribe, learn the core uuid, run the hooks."""
        try:
            client = InboundClient.connect(
                self.host, self.port, password=self.password, timeout=self.connect_timeout
            )
        except ESLConnectError as exc:
            self.last_error = str(exc)
            return None
        try:
            if self._events:
                client.subscribe(self._events, timeout=self.connect_timeout)
            for name, handler in self._handlers:
                client.on_event(name, handler)
            core = client.global_getvar("core_uuid", timeout=self.connect_timeout)
            if core.startswith("-ERR"):
                core = ""  # not FreeSWITCH's (a test double's): restarts go unnoticed
        except (InboundClosed, TimeoutError, esl.ESLError) as exc:
            self.last_error = f"setting up the connection failed: {exc}"
            client.close()
            return None
        before, self.core_uuid = self.core_uuid, core
        self.connections += 1
        self._client = client
        self._since = dt.datetime.now(dt.UTC)
        self.last_error = ""
        self._up.set()
        if not before:
            log.info("[%s] connected to FreeSWITCH (core %s)", self.address, core)
        elif before != core:
            log.warning(
                "[%s] connected again: FreeSWITCH restarted (core %s, was %s)",
                self.address,
                core,
                before,
            )
        else:
            log.info("[%s] connected again to the same FreeSWITCH run", self.address)
        for hook in self._hooks:
            try:
                hook(client, before, core)
            except Exception:  # one owner's bug must not stop the link for the others
                log.exception("[%s] a hook on connecting failed", self.address)
        return client

    def _watch(self, client: InboundClient) -> None:
        """Wait until the connection is lost, checking that FreeSWITCH still answers."""
        while not client.closed.wait(self.check_every or None):
            try:
                client.api("status", timeout=self.check_timeout)
            except TimeoutError:
                client.abort(f"FreeSWITCH did not answer a check within {self.check_timeout:g}s")
            except InboundClosed:
                pass
