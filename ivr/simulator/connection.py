"""The outbound event socket of one simulated call: mod_event_socket's side of the wire.

Reads the controller's commands with ``ESLCommandParser`` and answers them as
``parse_command`` does (same texts, same ``-ERR`` replies), sends the channel's events to a
subscribed controller, and ends the connection as FreeSWITCH does: a linger notice when the
channel hangs up (if ``linger`` was asked), then the final disconnect notice and the close
(after ``exit``, the linger time, or at once without ``linger``). Every frame is built by
``ivr.simulator.frames``.
"""

from __future__ import annotations

import logging
import socket
import struct
import sys
import time
import uuid as uuidlib
from collections.abc import Callable

import gevent
from gevent.lock import Semaphore
from gevent.socket import socket as GeventSocket

from ivr.freeswitch.esl import ESLProtocolError
from ivr.simulator import frames
from ivr.simulator.causes import cause_name
from ivr.simulator.channel import SimulatedChannel
from ivr.simulator.commands import ESLCommand, ESLCommandParser
from ivr.simulator.events import EVENT_NAMES, MYEVENTS
from ivr.simulator.faults import CallFaults
from ivr.simulator.parsing import atoi
from ivr.simulator.record_commands import uuid_record

__all__ = ["OutboundConnection"]

log = logging.getLogger("ivr.simulator")

FIRST_COMMAND_SECONDS = 25.0
"""FreeSWITCH drops an outbound connection whose first command does not come within this."""
_RECV_BYTES = 65536
_FORMATS = ("plain", "json", "xml")
AWAITED_EVENTS = frozenset({"DTMF", "CHANNEL_EXECUTE_COMPLETE"})
"""Events after which the controller's next command is timed (it has to act on them)."""
_SO_TIMESTAMPNS = 35
"""Linux's SO_TIMESTAMPNS (asm-generic/socket.h), which Python's socket module does not name."""
_STAMP = struct.Struct("qq")
_STAMP_SPACE = socket.CMSG_SPACE(_STAMP.size)


def _stamp_arrivals(sock: GeventSocket) -> bool:
    """Ask the kernel to stamp each segment with the wall-clock time it arrived.

    The load generator is a busy process: by the time its reader runs, a command may have
    waited in the socket for milliseconds. The kernel's arrival stamp times the controller,
    not the generator. Returns False where the kernel cannot stamp (then reads are timed).
    """
    if sys.platform != "linux":
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


class CommandTimings:
    """How quickly the controller answered one call, in real seconds (for ``ivr loadtest``).

    Times are wall-clock (``time.time``), the clock of the kernel's arrival stamps: a command
    is timed when it reached the simulator's socket, not when the simulator got round to
    reading it.

    Attributes:
        setup: from the TCP connect to the controller's first command.
        replies: for each DTMF or CHANNEL_EXECUTE_COMPLETE sent that was the last event before
            a command, the time from sending it to that command.
        events: the events sent to the controller.
    """

    def __init__(self) -> None:
        self.setup: float | None = None
        self.replies: list[float] = []
        self.events = 0
        self._connected_at: float | None = None
        self._awaited_at: float | None = None

    def connected(self) -> None:
        """Called just before the simulator connects to the controller."""
        self._connected_at = time.time()

    def event_sent(self, name: str) -> None:
        """Called just before an event is written to the controller."""
        self.events += 1
        self._awaited_at = time.time() if name in AWAITED_EVENTS else None

    def command_received(self, at: float) -> None:
        """A command arrived at ``at`` (wall-clock seconds)."""
        if self.setup is None and self._connected_at is not None:
            self.setup = at - self._connected_at
        elif self._awaited_at is not None:
            self.replies.append(at - self._awaited_at)
        self._awaited_at = None


class OutboundConnection:
    """The event socket FreeSWITCH opened to the controller for one call.

    Args:
        sock: the connected socket.
        channel: the call's channel; its events come here to be sent.
        record: called with every command the controller sends, as parsed.
        transcript: called with (who, text) for the call's transcript.
        timings: where the controller's response times go.
    """

    def __init__(
        self,
        sock: GeventSocket,
        channel: SimulatedChannel,
        record: Callable[[ESLCommand], None],
        transcript: Callable[[str, str], None],
        timings: CommandTimings,
        faults: CallFaults | None = None,
    ) -> None:
        self._sock = sock
        self.faults = faults
        self.timings = timings
        self._channel = channel
        self._record = record
        self._log = transcript
        self._write_lock = Semaphore()
        self.open = True
        self.connected = False
        self._myevents = False
        self._events_on = False
        self._subscribed: set[str] = set()
        self._format = "plain"
        self._linger: int | None = None
        self._down_at: float | None = None
        self._stamped = _stamp_arrivals(sock)
        self._held: list[tuple[str, list[tuple[str, str]], str | None]] | None = None
        channel.deliver = self.deliver

    # ------------------------------------------------------------ sending

    def _send(self, data: bytes) -> None:
        if not self.open:
            return
        with self._write_lock:
            try:
                self._sock.sendall(data)
            except OSError as error:
                log.info("[%s] controller connection lost: %s", self._channel.uuid, error)
                self.open = False

    def _reply(self, text: str, headers: list[tuple[str, str]] | None = None) -> None:
        self._send(frames.encode_command_reply(text, headers or []))

    def deliver(self, name: str, headers: list[tuple[str, str]], body: str | None = None) -> None:
        """Send an event if the controller subscribed to it (through the call's faults)."""
        if self._held is not None:
            self._held.append((name, headers, body))
            return
        if self._events_on and ("ALL" in self._subscribed or name in self._subscribed):
            if self.faults is None:
                self.send_event(name, headers, body)
            else:
                self.faults.deliver(
                    self, name, headers, body, lambda text: self._log("system", text)
                )

    def send_event(self, name: str, headers: list[tuple[str, str]], body: str | None) -> None:
        """Write one event now."""
        data = frames.encode_event(headers, body)
        # Stamped before the write: the controller may answer before the write returns.
        self.timings.event_sent(name)
        self._send(data)

    def send_raw(self, data: bytes) -> None:
        """Write frames made elsewhere (a fault's flood)."""
        self._send(data)

    def encode_event(self, name: str, extra: list[tuple[str, str]]) -> bytes:
        """An event of this call's channel as FreeSWITCH would frame it now."""
        return frames.encode_event(self._channel.headers(name, extra=extra), None)

    def call_seconds(self) -> float:
        """The call's clock: seconds since it started."""
        return self._channel.clock.elapsed()

    def drop(self) -> None:
        """Break the connection without a word, as a crash or a network failure does."""
        self.open = False
        try:
            self._sock.close()
        except OSError:
            log.debug("[%s] closing the controller socket failed", self._channel.uuid)
        self._channel.release()

    def close(self) -> None:
        """Send the final disconnect notice and close the socket."""
        if self.faults is not None:
            self.faults.flush(timeout=5.0)
        if self.open:
            self._send(frames.encode_disconnect_notice(self._channel.uuid))
        self.open = False
        try:
            self._sock.close()
        except OSError:
            log.debug("[%s] closing the controller socket failed", self._channel.uuid)
        self._channel.release()

    # ------------------------------------------------------------ the end of the call

    def channel_down(self) -> None:
        """The channel hung up: linger notice, or the final notice and close without linger."""
        if not self.open:
            return
        if self._linger is None:
            self.close()
            return
        self._down_at = self._channel.now()
        self._send(
            frames.encode_linger_notice(
                self._channel.uuid,
                self._channel.profile.channel_name,
                None if self._linger == -1 else self._linger,
            )
        )

    def linger(self) -> None:
        """Keep the socket open after the hang-up for as long as ``linger`` asked."""
        clock = self._channel.clock
        while self.open and self._down_at is not None:
            clock.wakeup.clear()
            if self._linger is None:
                break
            if self._linger != -1 and clock.elapsed() >= self._down_at + self._linger:
                break
            clock.sleep_until(None if self._linger == -1 else self._down_at + self._linger)
        if self.open:
            self.close()

    def wait_until_quiet(self) -> None:
        """Return once a command is queued or the controller sent nothing for a moment."""
        clock = self._channel.clock
        clock.wakeup.clear()
        clock.wakeup.wait(clock.settle if clock.virtual else 0.02)

    # ------------------------------------------------------------ reading commands

    def run(self) -> None:
        """Read and answer commands until ``exit`` or until the controller closes."""
        parser = ESLCommandParser()
        first = True
        try:
            while self.open:
                with gevent.Timeout(FIRST_COMMAND_SECONDS if first else None):
                    data, received = self._receive()
                if not data:
                    break
                for command in parser.feed(data):
                    first = False
                    self.timings.command_received(received)
                    self._handle_safely(command)
                    if not self.open:
                        break
        except gevent.Timeout:
            self._log("system", f"the controller sent no command within {FIRST_COMMAND_SECONDS:g}s")
        except ESLProtocolError as error:
            self._log("system", f"the controller sent a malformed command: {error}")
        except OSError as error:
            if self.open:
                self._log("system", f"the controller connection failed: {error}")
        finally:
            self.close()

    def _receive(self) -> tuple[bytes, float]:
        """Read what the controller sent, with the wall-clock time it arrived."""
        if not self._stamped:
            data = self._sock.recv(_RECV_BYTES)
            return data, time.time()
        data, ancillary, _flags, _address = self._sock.recvmsg(_RECV_BYTES, _STAMP_SPACE)
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                seconds, nanoseconds = _STAMP.unpack(value[: _STAMP.size])
                return data, seconds + nanoseconds * 1e-9
        return data, time.time()

    def _handle_safely(self, command: ESLCommand) -> None:
        # A command the simulator trips over is reported; the connection goes on.
        try:
            self._handle(command)
        except Exception:
            log.exception("[%s] handling %r failed", self._channel.uuid, command.line)
            self._log("system", f"the simulator failed on the command {command.line!r}")

    def _handle(self, command: ESLCommand) -> None:
        self._record(command)
        line = command.line.strip("\r")
        lower = line.lower()
        if lower.startswith("exit") or line.startswith("..."):
            self._reply("+OK bye")
            self.close()
        elif lower.startswith("resume"):
            self._channel.variables.set("socket_resume", "true")
            self._reply("+OK")
        elif lower.startswith("connect"):
            self.connected = True
            self._send(frames.encode_connect_reply(self._channel.connect_reply_headers()))
            self._channel.clock.poke()
        elif lower.startswith("getvar"):
            name = line.partition(" ")[2]
            self._reply(self._channel.variables.get(name) or "-ERR command not found")
        elif lower.startswith("myevents"):
            self._subscribe_mine()
        elif lower.startswith("divert_events"):
            value = line[len("divert_events") :].strip()
            if not value:
                self._reply("-ERR missing value.")
            else:
                on = value.lower() == "on"
                self._reply("+OK events diverted" if on else "+OK events not diverted")
        elif lower.startswith("sendmsg"):
            self._sendmsg(command, line)
        elif lower.startswith("api "):
            self._api_reply(line[4:])
        elif lower.startswith("bgapi "):
            self._bgapi(command, line[6:])
        elif lower.startswith("linger"):
            self._set_linger(line)
        elif lower.startswith("nolinger"):
            self._linger = None
            self._reply("+OK will not linger")
        elif lower.startswith("nolog"):
            self._reply("-ERR not loging")
        elif lower.startswith("event"):
            self._subscribe(line)
        elif lower.startswith("nixevent"):
            self._unsubscribe(line)
        elif lower.startswith("noevents"):
            self._stop_events()
        else:
            self._reply("-ERR command not found")

    def _subscribe_mine(self) -> None:
        if self._myevents:
            self._reply("-ERR aready enabled.")
            return
        self._myevents = self._events_on = True
        self._subscribed |= MYEVENTS
        self._reply("+OK Events Enabled")

    def _sendmsg(self, command: ESLCommand, line: str) -> None:
        target = line[len("sendmsg") :].strip() or command.headers.get("session-id", "")
        if target and target != self._channel.uuid:
            self._reply(f"-ERR invalid session id [{target}]")
            return
        # The reply goes out before the channel can start the application.
        self._reply("+OK")
        self._channel.queue(command)

    def _api_reply(self, text: str) -> None:
        """Run an API command and reply; the events it fired follow the reply.

        FreeSWITCH queues them for this socket while the command runs, and sends them once
        the reply is written: ``+OK Success``, then RECORD_START (trace call_recording).
        """
        held: list[tuple[str, list[tuple[str, str]], str | None]] = []
        self._held = held
        try:
            reply = self._api(text)
        finally:
            self._held = None
        self._send(frames.encode_api_response(reply))
        for name, headers, body in held:
            self.deliver(name, headers, body)

    def _api(self, text: str) -> str:
        """Run an API command; its output is the api/response body."""
        name, _, arg = text.partition(" ")
        if name == "uuid_record":
            return uuid_record(self._channel, arg)
        if name not in ("uuid_break", "uuid_kill"):
            return f"-ERR {name} Command not found!\n"
        if not arg:
            return "-USAGE: <uuid> [all]\n" if name == "uuid_break" else "-USAGE: <uuid> [cause]\n"
        target, _, flag = arg.partition(" ")
        channel = self._channel
        if target != channel.uuid or channel.hangup_cause is not None:
            return "-ERR No such channel!\n"
        if name == "uuid_break":
            channel.break_media(flush="all" in flag)
        else:
            channel.log("system", "uuid_kill hangs the call up")
            channel.hangup(cause_name(flag) if flag else "NORMAL_CLEARING")
        return "+OK\n"

    def _bgapi(self, command: ESLCommand, text: str) -> None:
        job = command.headers.get("job-uuid") or str(uuidlib.uuid4())
        self._reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        name, _, arg = text.partition(" ")
        result = self._api(text)
        channel = self._channel
        headers = channel.settings.host.event_prefix("BACKGROUND_JOB", channel.clock)
        headers += [("Job-UUID", job), ("Job-Owner-UUID", channel.uuid), ("Job-Command", name)]
        if arg:
            headers.append(("Job-Command-Arg", arg))
        self.deliver("BACKGROUND_JOB", headers, result)

    def _set_linger(self, line: str) -> None:
        seconds = atoi(line[7:]) if line[6:7] == " " and line[7:] else -1
        self._linger = seconds
        self._reply("+OK will linger" if seconds == -1 else f"+OK will linger {seconds} seconds")

    def _subscribe(self, line: str) -> None:
        words = line.split(" ")[1:] if " " in line else []
        count = 0
        for index, word in enumerate(words):
            if index == 0 and word.lower() in _FORMATS:
                self._format = word.lower()
                continue
            if word.upper() in EVENT_NAMES:
                self._subscribed.add(word.upper())
                count += 1
        if not count:
            self._reply("-ERR no keywords supplied")
            return
        self._events_on = True
        self._reply(f"+OK event listener enabled {self._format}")

    def _unsubscribe(self, line: str) -> None:
        words = [w.upper() for w in line.split(" ")[1:] if w.upper() in EVENT_NAMES]
        if not words:
            self._reply("-ERR no keywords supplied")
            return
        for word in words:
            if word == "ALL":
                self._subscribed.clear()
            elif "ALL" in self._subscribed:
                self._subscribed = set(EVENT_NAMES - {"ALL", word})
            else:
                self._subscribed.discard(word)
        self._events_on = True
        self._reply("+OK events nixed")

    def _stop_events(self) -> None:
        if not self._events_on:
            self._reply("-ERR not listening for events")
            return
        self._events_on = self._myevents = False
        self._subscribed.clear()
        self._reply("+OK no longer listening for events")
