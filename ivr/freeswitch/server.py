"""The controller: FreeSWITCH connects here for every call, and each call runs its flow.

An event-driven gevent server (no polling accept loop, no fixed connection cap) takes each
outbound-socket connection, routes the call by the dialed number (tenants.yaml numbers, else the
``default`` flow) and runs it in its own greenlet. A limit on calls, and one on how late the event
loop runs (``ivr.runtime.lag``), refuse new calls by closing the connection before ``connect``,
which sends the caller down the dialplan's failover while the running calls keep their pace.
Whatever one call does, the others go on. ``drain()`` stops taking calls (FreeSWITCH's connection
is refused, so new callers follow the dialplan's failover) and lets running calls finish (SIGTERM
in ``ivr serve``); those still running when its time is up are handed back to FreeSWITCH, whose
dialplan takes them to the fallback operators, and journaled as errors. ``end_calls_of`` ends
the calls of a FreeSWITCH that restarted while their connections stayed open. An agent's call
for a callback (the ``ivr_callback`` variable, set when the callback dialer rang them) runs the
callback instead of a flow.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Callable
from pathlib import Path

import gevent
from gevent.event import Event
from gevent.pool import Pool
from gevent.server import StreamServer

from ivr.acd import CALLBACK_VARIABLE
from ivr.acd.center import ContactCenter
from ivr.flow.compiler import CompiledFlow, Project
from ivr.flow.config import Tenant
from ivr.freeswitch.channel import FreeSwitchChannel
from ivr.freeswitch.session import OutboundSession, SessionClosed
from ivr.prompts.files import PromptFiles
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import CallInfo
from ivr.runtime.lag import LoopLag

log = logging.getLogger("ivr.controller")

HANDOVER_TIMEOUT = 10.0
"""Seconds calls whose connection was closed under them get to write their journal entry."""


class Controller:
    """Serves calls from FreeSWITCH's outbound event socket.

    Args:
        project: the compiled flows and their queues, agents, schedules and tenants.
        listen: (host, port) to listen on; port 0 picks a free one.
        prompts: where prompts become audio files.
        max_calls: calls served at once; more are refused (None: no limit but the machine's).
        max_lag: seconds the event loop may run late before new calls are refused (None: never).
        on_call_end: called with each finished call (the journal hooks in here).
        route: picks the flow and tenant of a call (default: the project's routing by
            dialed number); returning no flow refuses the call.
        center: the agents, lines and callbacks calls share (default: a fresh pool, kept
            nowhere).
    """

    def __init__(
        self,
        project: Project,
        listen: tuple[str, int],
        prompts: PromptFiles,
        *,
        max_calls: int | None = None,
        max_lag: float | None = None,
        on_call_end: Callable[[Call], None] | None = None,
        recordings_dir: Path = Path("var/recordings"),
        route: Callable[[CallInfo], tuple[CompiledFlow | None, Tenant | None]] | None = None,
        center: ContactCenter | None = None,
    ) -> None:
        self.project = project
        self.prompts = prompts
        self.max_calls = max_calls
        self.on_call_end = on_call_end
        self.route = route or (lambda info: project.route(info.dialed))
        # FreeSWITCH's record application does not create folders: it hangs the caller up.
        recordings_dir.mkdir(parents=True, exist_ok=True)
        self.services = CallServices(
            project,
            agents=center.pool if center else None,
            recordings_dir=str(recordings_dir.resolve()),
            callbacks=center.callbacks if center else None,
        )
        self.clock_shift = dt.timedelta(0)
        """How far calls' clocks run ahead of FreeSWITCH's (a rehearsal on another day's hours)."""
        self.live: set[str] = set()
        """The uuids of the calls in progress (the contact center's sweep checks against it)."""
        self.sessions: dict[str, OutboundSession] = {}
        """The connections of the calls in progress, by the call's uuid."""
        self._greenlets: dict[str, gevent.Greenlet] = {}
        self.calls = Pool()
        self.refused = 0
        """Calls refused, for either limit."""
        self.refused_late = 0
        """Calls refused because the event loop ran late (``max_lag``)."""
        self.lag = LoopLag(max_lag)
        self.served = 0
        self.server = StreamServer(listen, self._handle, spawn=self.calls, backlog=1024)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    def start(self) -> None:
        self.server.start()
        self.lag.start()
        log.info("controller listening on %s:%d", *self.address)

    def drain(self, timeout: float | None = None, *, hurry: Event | None = None) -> int:
        """Stop taking calls, then wait for the running ones to finish.

        Args:
            timeout: seconds to wait; None waits as long as calls last. The calls still
                running then are handed back to FreeSWITCH (their connections closed: the
                dialplan's failover takes the caller) and journaled as errors.
            hurry: when set, stop waiting at once, as when the time is up.

        Returns:
            How many calls were still running when the waiting ended.
        """
        self.server.close()
        log.info("draining: %d call(s) in progress", len(self.calls))
        finished = gevent.spawn(self.calls.join)
        gevent.wait([finished] + ([hurry] if hurry is not None else []), timeout, count=1)
        finished.kill()
        left = list(self.sessions.values())
        if left:
            log.warning("stopped draining: handing %d call(s) back to FreeSWITCH", len(left))
            for session in left:
                session.lose("the controller stopped before the call ended (drain time up)")
            self.calls.join(timeout=HANDOVER_TIMEOUT)
        self.lag.stop()
        return len(left)

    def end_calls_of(self, core_uuid: str, reason: str) -> int:
        """End the calls a FreeSWITCH run (its ``Core-UUID``) handed over, and wait for them.

        Used when FreeSWITCH came back with another ``Core-UUID``: the channels of its earlier
        run are gone even where their connections look open (a host that went down closes
        nothing). Each call ends as its flow ends on a lost connection: the caller leaves the
        queue, an agent talking to them is freed, the journal gets the call as an error (or
        ``answered``), with ``reason``.

        Returns:
            How many calls were ended.
        """
        stale = [
            uuid
            for uuid, session in self.sessions.items()
            if (session.channel_data or {}).get("Core-UUID") == core_uuid
        ]
        for uuid in stale:
            log.warning("[%s] %s", uuid, reason)
            self.sessions[uuid].lose(reason)
        gevent.joinall(
            [self._greenlets[uuid] for uuid in stale if uuid in self._greenlets],
            timeout=HANDOVER_TIMEOUT,
        )
        return len(stale)

    def _handle(self, sock, address) -> None:
        peer = f"{address[0]}:{address[1]}"
        if self.max_calls is not None and len(self.calls) > self.max_calls:
            self.refused += 1
            log.warning(
                "refusing a call from %s: %d calls in progress (limit %d)",
                peer,
                len(self.calls) - 1,
                self.max_calls,
            )
            sock.close()
            return
        if self.lag.overloaded:
            # Logged when the overload begins and ends, not per call: that would add to it.
            self.refused += 1
            self.refused_late += 1
            log.debug("refusing a call from %s: the event loop runs late", peer)
            sock.close()
            return
        # Commands are small and sent one after another: do not let Nagle hold them back.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = OutboundSession(sock, peer)
        try:
            session.start()
        except SessionClosed as exc:
            log.warning("call from %s dropped before it started: %s", peer, exc)
            session.close()
            return
        self.live.add(session.uuid)
        self.sessions[session.uuid] = session
        self._greenlets[session.uuid] = gevent.getcurrent()
        try:
            self._run(session)
        finally:
            self.live.discard(session.uuid)
            self.sessions.pop(session.uuid, None)
            self._greenlets.pop(session.uuid, None)
            session.close()

    def _run(self, session: OutboundSession) -> None:
        channel = FreeSwitchChannel(session, self.prompts, clock_shift=self.clock_shift)
        callback_id = (session.channel_data or {}).get(f"variable_{CALLBACK_VARIABLE}")
        if callback_id:
            log.info("[%s] an agent's call for callback %s", session.uuid, callback_id)
            self.services.callbacks.connect(callback_id, channel)
            return
        flow, tenant = self.route(channel.info)
        if flow is None:
            # No flow for this number: refuse it so FreeSWITCH's failover takes the caller.
            log.error(
                "[%s] no flow for dialed number %r and no 'default' flow; refusing",
                session.uuid,
                channel.info.dialed,
            )
            return
        self.served += 1
        if tenant is not None:
            channel.prompts = self.prompts.for_tenant(tenant.id)  # its own recordings first
        call = Call(self.services, flow, channel, tenant)
        try:
            call.run()
            if not session.hungup.is_set() and not channel.transferred:
                try:
                    channel.hangup()
                except (SessionClosed, gevent.Timeout):
                    pass
        finally:
            # Whatever ended the call, even its greenlet being killed, the journal gets it.
            if self.on_call_end is not None:
                try:
                    self.on_call_end(call)
                except Exception:
                    log.exception("[%s] recording the call's end failed", session.uuid)
