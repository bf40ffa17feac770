"""One outbound event-socket connection: FreeSWITCH handing us one call.

The reader (``connection.ESLConnection``) hands command replies to the command waiting for
them (in order); this session takes CHANNEL_EXECUTE_COMPLETE to the ``execute`` waiting for
that ``Application-UUID``, and the hang-up to everyone. The call's own greenlet sends commands
and waits. Nothing is sent to a channel that has hung up: ``execute`` raises ``CallerHungUp``.
An error while handling one frame is logged with the call's uuid and never stops the reader.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid as uuidlib

import gevent
from gevent.event import AsyncResult, Event
from gevent.socket import socket as GeventSocket

from ivr.freeswitch import apps, commands, esl
from ivr.freeswitch.connection import ESLConnection
from ivr.runtime.channel import CallerHungUp, ChannelError, SwitchHungUp

log = logging.getLogger("ivr.freeswitch")

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for FreeSWITCH's reply to ``connect`` before giving up on the call."""
REPLY_TIMEOUT = 30.0
"""Seconds to wait for a command reply; FreeSWITCH answers in milliseconds."""
EXECUTE_TIMEOUT = 4 * 3600.0
"""Seconds an application may run before its CHANNEL_EXECUTE_COMPLETE is taken as lost.

The longest application is a bridge, whose conversation may last hours; FreeSWITCH drops events
for a listener whose queue is full, and without a bound a call whose completion was dropped
would wait (an agent held with it) as long as the caller stays on the line."""
HANGUP_TIMEOUT = 5.0
"""Seconds to wait for the channel to go down after ``hangup`` was accepted."""
SWITCH_CAUSES = frozenset({"SYSTEM_SHUTDOWN"})
"""Hang-up causes by which FreeSWITCH ends calls itself: ``fsctl shutdown`` hangs up every
channel with ``SYSTEM_SHUTDOWN`` (switch_core.c, ``runtime.shutdown_cause``)."""
READ_EVENTS = (
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "DTMF",
)
"""The events of its channel a call reads: applications, the hang-up, bridges and keys."""
UNREAD_EVENTS = (
    "CHANNEL_ANSWER",
    "CHANNEL_APPLICATION",
    "CHANNEL_CREATE",
    "CHANNEL_DATA",
    "CHANNEL_DESTROY",
    "CHANNEL_ORIGINATE",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_STATE",
    "CHANNEL_UNPARK",
    "CHANNEL_UUID",
    "DETECTED_SPEECH",
    "NOTALK",
    "TALK",
)
"""What ``myevents`` subscribes to besides READ_EVENTS (mod_event_socket.c), dropped again."""
LOST = "the connection to FreeSWITCH was lost (FreeSWITCH stopped, crashed or is unreachable)"


class SessionClosed(ChannelError):
    """The connection to FreeSWITCH is gone (closed, garbage received, or a reply timed out)."""


class ExecuteTimedOut(ChannelError):
    """An application's CHANNEL_EXECUTE_COMPLETE did not come within ``execute_timeout``."""


class OutboundSession(ESLConnection):
    """The controller's end of one ``socket ... async full`` connection."""

    execute_timeout: float = EXECUTE_TIMEOUT
    """Seconds ``execute`` waits for an application's completion (``EXECUTE_TIMEOUT``)."""

    def __init__(self, sock: GeventSocket, peer: str = "") -> None:
        super().__init__(sock)
        self.peer = peer
        self.uuid = ""
        self.channel_data: esl.Headers | None = None
        self.hungup = Event()
        self.hangup_cause = ""
        self.closed = Event()
        self.lost_reason = ""
        """Why the connection ended without the channel hanging up (empty otherwise)."""
        self.lost_at: dt.datetime | None = None
        """FreeSWITCH's clock, as far as we can tell, when the connection was lost."""
        self._last_micros: int | None = None
        self._stepped_back = 0
        """Microseconds FreeSWITCH's wall clock has been stepped back during this call."""
        self._last_stamp_seen = 0.0
        self._executions: dict[str, AsyncResult] = {}
        self._event_hooks: list = []

    @property
    def log_name(self) -> str:
        return self.uuid or self.peer

    # ------------------------------------------------------------------ start and stop

    def start(self) -> esl.Headers:
        """Send ``connect``, read the channel data, subscribe to this channel's events.

        Raises:
            SessionClosed: FreeSWITCH closed the connection or sent garbage.
        """
        self._start_reading()
        reply = self._command(commands.connect(), timeout=CONNECT_TIMEOUT)
        self.channel_data = reply.headers
        self.uuid = reply.get("Unique-ID") or ""
        self._note_time(reply.headers)
        self._command(commands.myevents())
        # Each event FreeSWITCH sends a call's socket it copies, serializes and writes, once per
        # call: those the call never reads cost FreeSWITCH CPU for nothing.
        self._command(commands.nixevent(UNREAD_EVENTS))
        # linger: keep the socket after the hang-up so the final events still reach us.
        self._command(commands.linger())
        return reply.headers

    def subscribe(self, names: list[str]) -> None:
        """Receive these events of the channel too (``myevents`` leaves out RECORD_STOP)."""
        self._command(commands.event_plain(names))

    def close(self) -> None:
        """Say goodbye to FreeSWITCH (``exit``) and close the socket."""
        if not self.closed.is_set():
            try:
                self._command(commands.exit_(), timeout=2.0)
            except (SessionClosed, CallerHungUp):
                pass
        self._shutdown()

    def lose(self, reason: str) -> None:
        """End a session whose FreeSWITCH is known to be gone although its socket is open.

        A FreeSWITCH host that went down (or a FreeSWITCH restarted behind a proxy) leaves the
        connection open with nobody at the other end; whatever the call waits for fails with
        ``SessionClosed`` naming ``reason``, and the call ends.
        """
        if not self.closed.is_set() and not self.hungup.is_set():
            self.lost_reason = reason
        self._shutdown()

    def _shutdown(self) -> None:
        if not self.closed.is_set():
            if not self.hungup.is_set():
                self.lost_reason = self.lost_reason or LOST
                self.lost_at = self._clock_now()
            self.closed.set()
            try:
                self.sock.close()
            except OSError:
                pass
        failure = SessionClosed(
            f"the connection to FreeSWITCH is closed: {self.lost_reason}"
            if self.lost_reason
            else "the connection to FreeSWITCH is closed"
        )
        self._fail_replies(failure)
        self._end_executions(self.hung_up_error if self.hungup.is_set() else lambda: failure)

    def hung_up_error(self) -> CallerHungUp:
        """What a channel operation raises once the channel has hung up."""
        if self.hangup_cause in SWITCH_CAUSES:
            return SwitchHungUp(self.hangup_cause)
        return CallerHungUp()

    def _end_executions(self, error) -> None:
        """Fail every execution still waiting for its CHANNEL_EXECUTE_COMPLETE with ``error()``."""
        for pending in list(self._executions.values()):
            pending.set_exception(error())
        self._executions.clear()

    # ------------------------------------------------------------------ commands

    def _send(self, data: bytes) -> None:
        if self.closed.is_set():
            raise SessionClosed("the connection to FreeSWITCH is closed")
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self._shutdown()
            raise SessionClosed(f"sending to FreeSWITCH failed: {exc}") from exc

    def _command(self, data: bytes, timeout: float = REPLY_TIMEOUT) -> esl.ESLMessage:
        waiter = AsyncResult()
        self._replies.append(waiter)
        self._send(data)
        try:
            return waiter.get(timeout=timeout)
        except gevent.Timeout as exc:
            self._shutdown()
            raise SessionClosed(f"no reply from FreeSWITCH within {timeout:g}s") from exc

    def api(self, command: str) -> str:
        """Run an API command over this connection and return its output."""
        return self._command(commands.api(command)).reply_text

    def execute(
        self, app: str, arg: str | None = None, *, wait: bool = True
    ) -> esl.ESLMessage | None:
        """Run a dialplan application and wait for its CHANNEL_EXECUTE_COMPLETE.

        With ``wait`` False only FreeSWITCH's acceptance is awaited and None returned: the
        application runs in turn before whatever is sent next (FreeSWITCH runs a socket's
        applications in order, all those queued in one 20 ms tick of its park loop), so an
        application whose outcome nobody reads (``answer``, ``set``) costs no tick of its own.

        Raises:
            CallerHungUp: the channel hung up before or while the application ran.
            SessionClosed: the connection broke.
            ExecuteTimedOut: no completion came within ``execute_timeout`` (the call then
                ends as an error: the caller hears the apology and is hung up).
            ChannelError: FreeSWITCH refused the command.
        """
        if self.hungup.is_set():
            raise self.hung_up_error()
        event_uuid = str(uuidlib.uuid4())
        done = AsyncResult()
        if wait:
            self._executions[event_uuid] = done
        try:
            # FreeSWITCH expands variables in the argument; nothing of ours uses that, and a
            # value from a caller must stay text (``${api(...)}`` would run an API command).
            sent = apps.unexpanded(arg) if arg else arg
            reply = self._command(commands.sendmsg_execute(app, sent, event_uuid, event_lock=True))
            if not reply.ok:
                raise ChannelError(f"FreeSWITCH refused {app}: {reply.reply_text.strip()}")
            if not wait:
                return None
            try:
                return done.get(timeout=self.execute_timeout)
            except gevent.Timeout:
                reason = (
                    f"no CHANNEL_EXECUTE_COMPLETE for {app} within {self.execute_timeout:g}s "
                    "(the event was lost)"
                )
                log.warning("[%s] %s; ending the call", self.uuid, reason)
                raise ExecuteTimedOut(reason) from None
        finally:
            self._executions.pop(event_uuid, None)

    def hangup(self, cause: str) -> None:
        """Hang the channel up and wait until it is down (a no-op when it already is).

        FreeSWITCH answers ``+OK`` at once and hangs up a moment later. Leaving before then
        (``exit``) would hand a live call back to the dialplan (``socket_resume``), which sends
        it to the fallback operators, so this waits for CHANNEL_HANGUP, for a while at most.
        """
        if self.hungup.is_set() or self.closed.is_set():
            return
        self._command(commands.sendmsg_hangup(cause))
        if not self.hungup.wait(HANGUP_TIMEOUT):
            log.warning(
                "[%s] no CHANNEL_HANGUP within %gs of hanging up", self.uuid, HANGUP_TIMEOUT
            )

    # ------------------------------------------------------------------ reading

    def on_event(self, hook) -> None:
        """Call ``hook(message)`` for every event (used to follow DTMF and bridges)."""
        self._event_hooks.append(hook)

    def _on_closed(self, reason: str, cause: BaseException | None) -> None:
        if isinstance(cause, esl.ESLProtocolError):
            log.error("[%s] %s; dropping the call", self.log_name, reason)
        elif cause is not None:
            log.info("[%s] connection from FreeSWITCH lost: %s", self.log_name, cause)
        # A close without CHANNEL_HANGUP is a lost connection, not a caller's hang-up: the
        # waiting command fails with SessionClosed and the call ends as an error.
        self._shutdown()
        # The hooks are the channel's methods and the channel holds this session: no event
        # comes any more, so let the call's objects go without waiting for the collector.
        self._event_hooks.clear()

    def _on_notice(self, message: esl.ESLMessage) -> None:
        if message.content_type == "text/disconnect-notice":
            if message.headers.get("Content-Disposition") != "linger":
                self._mark_hungup("")

    def _on_event(self, message: esl.ESLMessage) -> None:
        event = message.event
        self._note_time(event)
        name = event.get("Event-Name")
        if name == "CHANNEL_EXECUTE_COMPLETE":
            waiter = self._executions.get(event.get("Application-UUID", ""))
            if waiter is not None:
                waiter.set(message)
        elif name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
            self._mark_hungup(event.get("Hangup-Cause", ""))
            if name == "CHANNEL_HANGUP_COMPLETE":
                # Applications running at the hang-up complete before this event. One sent as
                # the caller hung up gets +OK and never runs, and with linger the socket stays
                # open: without this its call would wait forever (found under load).
                self._end_executions(self.hung_up_error)
        self._run_handlers(self._event_hooks, message)

    def _mark_hungup(self, cause: str) -> None:
        if not self.hungup.is_set():
            self.hangup_cause = cause
            self.hungup.set()

    def _note_time(self, headers: esl.Headers) -> None:
        stamp = headers.get("Event-Date-Timestamp")
        if stamp and stamp.isdigit():
            micros = int(stamp) + self._stepped_back
            last = self._last_micros
            if last is not None and micros < last:
                # The host's clock was stepped back (NTP, an operator): FreeSWITCH stamps events
                # with the wall clock, but the call's time must not run backwards, or its
                # durations (waited, talked) come out negative and its end before its start.
                # The call's clock goes on from where it was; a step forward cannot be told
                # from time passing and is taken as it comes.
                self._stepped_back += last - micros
                micros = last
            self._last_micros = micros
            self._last_stamp_seen = time.monotonic()

    def _clock_now(self) -> dt.datetime | None:
        """FreeSWITCH's clock now: its latest event's time plus the time since it came."""
        last = self.last_event_time
        if last is None:
            return None
        return last + dt.timedelta(seconds=time.monotonic() - self._last_stamp_seen)

    @property
    def last_event_time(self) -> dt.datetime | None:
        """FreeSWITCH's clock at the latest event (``Event-Date-Timestamp``); None before any.

        Never earlier than at an event before: steps back of the host's clock are taken out.
        """
        if self._last_micros is None:
            return None
        return dt.datetime.fromtimestamp(self._last_micros / 1e6, dt.UTC)
