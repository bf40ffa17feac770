"""The controller's inbound event-socket connection: FreeSWITCH work that is not one call's.

Outbound sockets (``session.py``) hand us one call each; this connection is the other way round:
the controller dials FreeSWITCH's event socket (``event_socket.conf.xml``, port 8021) to place
calls (callbacks, outbound campaigns), run ``uuid_*`` commands on any channel, and follow events
such as agents registering (``CUSTOM sofia::register``), channels coming and going
(``CHANNEL_*``) and background jobs finishing (``BACKGROUND_JOB``).

One reader greenlet (``connection.ESLConnection``, as for a call's outbound socket) parses
every frame and dispatches it: ``api/response`` and ``command/reply`` to the commands waiting
for them, in the order they were sent (FreeSWITCH answers one connection's commands in order);
``BACKGROUND_JOB`` to the ``Job`` with its ``Job-UUID``; other events to the handlers
registered with ``on_event``. A handler that raises is logged and never stops the reader.
When the connection is lost every waiting command fails with ``InboundClosed`` and ``closed``
is set; reconnecting is the owner's decision.

Example::

    fs = InboundClient.connect("127.0.0.1", 8021, password="ClueCon")
    fs.subscribe(["CHANNEL_HANGUP_COMPLETE", "CUSTOM", "sofia::register"])
    fs.on_event("sofia::register", lambda message: print(message.get("from-user")))
    uuid = fs.originate("user/1001", "&park", variables={"origination_caller_id_name": "Acme"})
    fs.uuid_kill(uuid)
    fs.close()
"""

from __future__ import annotations

import collections
import logging
import re
import socket
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence

import gevent
from gevent.event import AsyncResult, Event
from gevent.lock import Semaphore
from gevent.socket import create_connection
from gevent.socket import socket as GeventSocket

from ivr.freeswitch import commands, esl
from ivr.freeswitch.connection import ESLConnection

__all__ = [
    "ESLAuthError",
    "ESLConnectError",
    "EventHandler",
    "InboundClient",
    "InboundClosed",
    "Job",
    "OriginateError",
    "originate_result",
]

log = logging.getLogger("ivr.freeswitch")

REPLY_TIMEOUT = 30.0
"""Seconds to wait for the answer to a command; FreeSWITCH answers in milliseconds."""
JOB_GRACE = 10.0
"""Seconds an originate waits for its BACKGROUND_JOB beyond the ring time FreeSWITCH was given."""
EXIT_TIMEOUT = 2.0
"""Seconds ``close`` waits for FreeSWITCH's ``+OK bye`` before closing anyway."""

EventHandler = Callable[[esl.ESLMessage], None]
"""Called with each event frame; ``message.get(name)`` reads its headers, ``message.body`` its
body."""

_WORD = re.compile(r"\S+")
_CLOSED_BY_US = "closed by this client"


class ESLConnectError(esl.ESLError):
    """No usable event-socket session: nothing listens, no answer in time, or not FreeSWITCH."""


class ESLAuthError(ESLConnectError):
    """FreeSWITCH refused the event-socket password."""


class InboundClosed(esl.ESLError):
    """The connection to FreeSWITCH is gone: closed by either side, broken, or garbage received.

    Every command waiting for an answer when it happened fails with it, and so does every later
    command.
    """


class OriginateError(esl.ESLError):
    """FreeSWITCH could not place the call, or nobody took it.

    Attributes:
        cause: FreeSWITCH's reason: a hang-up cause (``NO_ANSWER``, ``USER_BUSY``,
            ``NO_ROUTE_DESTINATION``, ``USER_NOT_REGISTERED``, ...) or, when its answer was not a
            cause (``-USAGE: ...``), that whole answer.
    """

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class Job:
    """A command FreeSWITCH runs in the background (``bgapi``); its output comes as an event.

    Attributes:
        uuid: The ``Job-UUID`` chosen for it, which the ``BACKGROUND_JOB`` event carries back.
        command: The command line, for messages.
    """

    def __init__(self, uuid: str, command: str) -> None:
        self.uuid = uuid
        self.command = command
        self._output: AsyncResult = AsyncResult()

    def __repr__(self) -> str:
        return f"<Job {self.uuid} {self.command!r}>"

    def result(self, timeout: float | None = None) -> str:
        """Wait for the command's output: the body of its ``BACKGROUND_JOB`` event.

        Args:
            timeout: Seconds to wait; None waits as long as the connection lives.

        Raises:
            TimeoutError: No output within ``timeout``; it may still come later.
            InboundClosed: The connection was lost before the output came.
        """
        # wait() rather than get(timeout=): a gevent.Timeout of the caller's own must pass through.
        self._output.wait(timeout)
        if not self._output.ready():
            raise TimeoutError(f"FreeSWITCH did not finish {self.command!r} within {timeout:g}s")
        return self._output.get(block=False)


class InboundClient(ESLConnection):
    """One authenticated inbound event-socket connection to FreeSWITCH.

    Build it with ``InboundClient.connect``. Any number of greenlets may send commands at once;
    each gets its own answer.

    Attributes:
        address: ``host:port`` of FreeSWITCH, for messages.
        closed: Set once the connection is gone, whoever closed it.
        close_reason: Why it is gone (empty while it is open).
    """

    def __init__(self, sock: GeventSocket, address: str) -> None:
        super().__init__(sock)
        self.address = address
        self.closed = Event()
        self.close_reason = ""
        self._close_cause: BaseException | None = None
        self._ready = False
        self._leaving = False
        self._greeting: AsyncResult = AsyncResult()
        # A reply is matched to its command by position: appending the waiter and sending the
        # bytes must happen together, or two greenlets could swap places between the two.
        self._send_lock = Semaphore()
        self._jobs: dict[str, Job] = {}
        self._handlers: dict[str, list[EventHandler]] = collections.defaultdict(list)

    def __repr__(self) -> str:
        state = f"closed: {self.close_reason}" if self.closed.is_set() else "open"
        return f"<InboundClient {self.address} {state}>"

    @property
    def log_name(self) -> str:
        return self.address

    # ------------------------------------------------------------------ connecting and closing

    @classmethod
    def connect(
        cls,
        host: str = "127.0.0.1",
        port: int = 8021,
        *,
        password: str,
        timeout: float = 5.0,
    ) -> InboundClient:
        """Open the event socket, authenticate, and subscribe to background-job results.

        Args:
            host: Where FreeSWITCH's event socket listens.
            port: Its port (``listen-port`` in ``event_socket.conf.xml``).
            password: Its ``password`` parameter.
            timeout: Seconds for each step: the TCP connection, the greeting, each answer.

        Raises:
            ESLAuthError: FreeSWITCH refused the password.
            ESLConnectError: Nothing listens there, it did not answer in time, it refused this
                address (ACL), or the peer is not FreeSWITCH's event socket.
        """
        address = f"{host}:{port}"
        try:
            sock = create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError as exc:
            raise ESLConnectError(
                f"nothing listens on {address}: is FreeSWITCH running with mod_event_socket?"
            ) from exc
        except TimeoutError as exc:
            raise ESLConnectError(
                f"no answer from {address} within {timeout:g}s: is the host up and the port open?"
            ) from exc
        except OSError as exc:
            raise ESLConnectError(f"cannot connect to {address}: {exc}") from exc
        sock.settimeout(None)
        # Commands are small and sent one after another: do not let Nagle hold them back.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(sock, address)
        try:
            client._start(password, timeout)
        except BaseException:
            client._shutdown("connecting failed")
            raise
        return client

    def _start(self, password: str, timeout: float) -> None:
        self._start_reading()
        not_esl = f"{self.address} is not FreeSWITCH's event socket"
        self._greeting.wait(timeout)
        if not self._greeting.ready():
            raise ESLConnectError(
                f"{not_esl}: it sent no auth/request within {timeout:g}s of connecting"
            )
        try:
            greeting = self._greeting.get(block=False)
        except InboundClosed as exc:
            raise ESLConnectError(f"{not_esl}: {exc}") from exc
        if greeting.content_type == "text/rude-rejection":
            raise ESLConnectError(
                f"FreeSWITCH at {self.address} refused this machine's address "
                f"({greeting.body.strip()}): allow it in apply-inbound-acl of event_socket.conf.xml"
            )
        if greeting.content_type != "auth/request":
            raise ESLConnectError(f"{not_esl}: it greeted with {greeting!r}, not auth/request")
        try:
            reply = self._command(commands.auth(password), timeout, what="auth")
        except (TimeoutError, InboundClosed) as exc:
            raise ESLConnectError(
                f"FreeSWITCH at {self.address} did not take the login: {exc}"
            ) from exc
        if not reply.ok:
            raise ESLAuthError(
                f"FreeSWITCH refused the event-socket password for {self.address} "
                "(check event_socket.conf.xml)"
            )
        # Job results only reach connections subscribed to them; subscriptions add up, so the
        # owner's later subscribe() calls keep this one.
        self.subscribe(["BACKGROUND_JOB"], timeout=timeout)
        self._ready = True

    def close(self) -> None:
        """Say goodbye (``exit``) and close the connection.

        Commands still waiting fail with ``InboundClosed``. Closing twice does nothing.
        """
        if not self.closed.is_set():
            # FreeSWITCH closes its end right after "+OK bye": that is no loss to report.
            self._leaving = True
            try:
                if gevent.getcurrent() is self._reader:
                    self._send(commands.exit_())  # a handler cannot wait: it would block the reader
                else:
                    self._command(commands.exit_(), EXIT_TIMEOUT)
            except (InboundClosed, TimeoutError):
                pass
        self._shutdown(_CLOSED_BY_US)

    def abort(self, reason: str) -> None:
        """Close at once, without a goodbye: FreeSWITCH is taken to be gone, for ``reason``.

        Commands still waiting fail with ``InboundClosed`` naming it.
        """
        self._leaving = True
        self._shutdown(reason)

    def _shutdown(self, reason: str, cause: BaseException | None = None) -> None:
        if not self.closed.is_set():
            self.close_reason = reason
            self._close_cause = cause
            self.closed.set()
            try:
                self.sock.close()
            except OSError:
                pass
        failure = self._closed_error()
        if not self._greeting.ready():
            self._greeting.set_exception(failure)
        self._fail_replies(failure)
        jobs, self._jobs = self._jobs, {}
        for job in jobs.values():
            job._output.set_exception(failure)

    def _closed_error(self) -> InboundClosed:
        error = InboundClosed(
            f"the connection to FreeSWITCH at {self.address} is closed: {self.close_reason}"
        )
        error.__cause__ = self._close_cause
        return error

    # ------------------------------------------------------------------ commands

    def _send(self, data: bytes) -> None:
        if self.closed.is_set():
            raise self._closed_error()
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self._shutdown(f"sending failed: {exc}", exc)
            raise self._closed_error() from exc

    def _command(self, data: bytes, timeout: float, what: str = "") -> esl.ESLMessage:
        """Send a command and wait for its ``command/reply`` or ``api/response``.

        Args:
            data: The command, built in ``commands``.
            timeout: Seconds to wait for the answer.
            what: The command as messages name it; by default its first line (which, for
                ``auth``, would show the password).
        """
        if gevent.getcurrent() is self._reader:
            raise RuntimeError(
                "an event handler cannot wait for FreeSWITCH: it runs in the reader, which "
                "would never read the answer; spawn a greenlet for the command"
            )
        waiter = AsyncResult()
        with self._send_lock:
            if self.closed.is_set():
                raise self._closed_error()
            self._replies.append(waiter)
            # A failed send fails the waiter (and every other) through _shutdown.
            try:
                self._send(data)
            except InboundClosed:
                pass
        waiter.wait(timeout)
        if not waiter.ready():
            # The waiter stays queued, so the late answer is matched to it and dropped, and the
            # commands after it still get their own answers.
            what = what or data.split(b"\n", 1)[0].decode("utf-8", "replace")
            raise TimeoutError(
                f"FreeSWITCH at {self.address} did not answer {what!r} within {timeout:g}s"
            )
        return waiter.get(block=False)

    def api(self, command: str, *, timeout: float = REPLY_TIMEOUT) -> str:
        r"""Run an API command and return its output as FreeSWITCH wrote it.

        Errors are output too (``-ERR No such channel!\n``): reading it is the caller's job.
        A command that takes long (``originate`` does) belongs in ``bgapi``.

        Args:
            command: The command and its arguments: ``status``, ``show channels as json``.
            timeout: Seconds to wait for the output.

        Raises:
            InboundClosed: The connection is gone.
            TimeoutError: No output within ``timeout``.
        """
        return self._command(commands.api(command), timeout).reply_text

    def bgapi(self, command: str, *, timeout: float = REPLY_TIMEOUT) -> Job:
        """Start an API command in the background; its output comes later, with ``Job.result``.

        Args:
            command: The command and its arguments.
            timeout: Seconds to wait for FreeSWITCH to accept the job (not for it to finish).

        Raises:
            InboundClosed: The connection is gone.
            TimeoutError: FreeSWITCH did not accept the job within ``timeout``.
            ESLError: FreeSWITCH refused to start it (``-ERR permission denied``).
        """
        job_uuid = str(uuidlib.uuid4())
        return self._start_job(commands.bgapi(command, job_uuid), job_uuid, command, timeout)

    def _start_job(self, data: bytes, job_uuid: str, command: str, timeout: float) -> Job:
        job = Job(job_uuid, command)
        # Registered before sending: the result may arrive right behind FreeSWITCH's reply.
        self._jobs[job_uuid] = job
        try:
            reply = self._command(data, timeout)
        except BaseException:
            self._jobs.pop(job_uuid, None)
            raise
        if not reply.ok:
            self._jobs.pop(job_uuid, None)
            raise esl.ESLError(f"FreeSWITCH refused bgapi {command!r}: {reply.reply_text}")
        return job

    def originate(
        self,
        dial_string: str,
        destination: str,
        *,
        variables: Mapping[str, str] | None = None,
        timeout: int = 60,
    ) -> str:
        """Place a call and wait until it is answered; return the new channel's uuid.

        It runs as a background job, so other commands and events keep flowing while it rings.

        Args:
            dial_string: Whom to call: ``user/1001``, ``loopback/9999/default``,
                ``sofia/gateway/carrier/+15550001111``.
            destination: Where the answered call goes: ``&park``,
                ``&socket(127.0.0.1:8084 async full)``, or an extension of the ``default``
                context. Spaces are fine.
            variables: Channel variables of the new call (``origination_caller_id_name``, ...).
            timeout: Seconds to let it ring (FreeSWITCH's ``originate_timeout``).

        Raises:
            OriginateError: The call failed; ``cause`` says why (``NO_ANSWER``, ``USER_BUSY``).
            InboundClosed: The connection was lost first.
            TimeoutError: FreeSWITCH reported nothing well after the ring time.
            ValueError: A value would corrupt the command (a line break, a bad variable name).
        """
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise esl.ESLCommandError(f"timeout must be whole seconds (1 or more), not {timeout!r}")
        chosen = dict(variables or {})
        if "originate_timeout" in chosen:
            raise esl.ESLCommandError("pass timeout= instead of an originate_timeout variable")
        chosen = {"originate_timeout": str(timeout), **chosen}
        line = commands.originate(dial_string, destination, chosen)
        job_uuid = str(uuidlib.uuid4())
        call = f"originate {dial_string} {destination}"
        job = self._start_job(commands.bgapi(line, job_uuid), job_uuid, call, REPLY_TIMEOUT)
        return originate_result(job.result(timeout + JOB_GRACE), call)

    def uuid_kill(self, uuid: str, cause: str = "NORMAL_CLEARING") -> bool:
        """Hang up a channel with ``cause``.

        Returns:
            True when FreeSWITCH hung it up; False when it refused, which means the channel is
            already gone (``-ERR No such channel!``).
        """
        return self.api(commands.uuid_kill(uuid, cause)).startswith("+OK")

    def uuid_break(self, uuid: str) -> bool:
        """Stop what a channel is playing, and what was queued after it.

        Returns:
            True when FreeSWITCH did it; False when the channel is gone.
        """
        return self.api(commands.uuid_break(uuid)).startswith("+OK")

    def uuid_send_dtmf(self, uuid: str, keys: str) -> bool:
        """Press keys on a channel, as its phone would (``12345678#``).

        Returns:
            True when FreeSWITCH sent them; False when it refused (the channel is gone).
        """
        return self.api(commands.uuid_send_dtmf(uuid, keys)).startswith("+OK")

    def global_getvar(self, name: str, *, timeout: float = REPLY_TIMEOUT) -> str:
        """The value of one of FreeSWITCH's global variables (``core_uuid``), stripped."""
        return self.api(commands.global_getvar(name), timeout=timeout).strip()

    # ------------------------------------------------------------------ events

    def subscribe(self, event_names: Sequence[str], *, timeout: float = REPLY_TIMEOUT) -> None:
        """Ask FreeSWITCH for more events (``event plain ...``); earlier subscriptions stay.

        Custom events are named by ``CUSTOM`` followed by their subclasses:
        ``["CUSTOM", "sofia::register", "sofia::unregister"]``.

        Raises:
            ESLError: FreeSWITCH refused (an unknown name, or ``-ERR permission denied``).
            InboundClosed: The connection is gone.
            TimeoutError: No answer within ``timeout``.
        """
        reply = self._command(commands.event_plain(event_names), timeout)
        if not reply.ok:
            names = " ".join(event_names)
            raise esl.ESLError(f"FreeSWITCH refused the events {names}: {reply.reply_text}")

    def on_event(self, name: str, handler: EventHandler) -> None:
        """Call ``handler(message)`` for every event named ``name``, in the order they come.

        ``name`` is an ``Event-Name`` (``CHANNEL_ANSWER``, ``BACKGROUND_JOB``) or, for custom
        events, a subclass (``sofia::register``). Only subscribed events come (``subscribe``).

        Handlers run in the reader greenlet: an exception is logged and the next event still
        comes, but a handler must not wait for FreeSWITCH (calling ``api`` raises RuntimeError);
        spawn a greenlet for that.
        """
        self._handlers[name].append(handler)

    # ------------------------------------------------------------------ reading

    def _on_closed(self, reason: str, cause: BaseException | None) -> None:
        if self._leaving:
            reason, cause = _CLOSED_BY_US, None
        elif self._ready and not self.closed.is_set():
            # Before that, connect() reports the failure to its caller.
            log.warning("[%s] event socket lost: %s", self.address, reason)
        self._shutdown(reason, cause)

    def _dispatch(self, message: esl.ESLMessage) -> None:
        # Whatever comes first is the greeting, which connect() checks is one.
        if not self._greeting.ready():
            self._greeting.set(message)
            return
        super()._dispatch(message)

    def _on_event(self, message: esl.ESLMessage) -> None:
        name = message.event_name or ""
        if name == "BACKGROUND_JOB":
            job = self._jobs.pop(message.get("Job-UUID") or "", None)
            if job is not None:
                job._output.set(message.body)
        self._run_handlers(self._handlers.get(name, ()), message)
        if name == "CUSTOM":
            self._run_handlers(self._handlers.get(message.get("Event-Subclass") or "", ()), message)


def originate_result(output: str, call: str) -> str:
    r"""The new channel's uuid from originate's output (``+OK <uuid>``).

    Args:
        output: What originate wrote: ``+OK <uuid>\n``, ``-ERR NO_ANSWER\n``, ``-USAGE: ...``.
        call: The call, for the message (``originate user/1001 &park``).

    Raises:
        OriginateError: Any other output; its ``cause`` is the hang-up cause after ``-ERR``.
    """
    text = output.strip()
    if text.startswith("+OK "):
        uuid = text[4:].strip()
        if _WORD.fullmatch(uuid):
            return uuid
    cause = text.removeprefix("-ERR ").strip() or "no output"
    raise OriginateError(f"{call} failed: {cause}", cause)
