"""What every event-socket connection of the controller does alike: read and dispatch frames.

The controller holds two kinds of connection to FreeSWITCH: an outbound one per call
(``session.OutboundSession``) and the inbound one for everything else
(``inbound.InboundClient``). Both read the same way, in one reader greenlet per connection:
received bytes are cut into frames by ``ESLParser``; each ``command/reply`` or ``api/response``
goes to the oldest command waiting for one (FreeSWITCH answers a connection's commands in
order); each event goes to the connection's ``_on_event``, everything else (greetings,
disconnect notices) to ``_on_notice``. An exception while one frame is handled is logged with
the connection's name (the call's uuid) and the frame (its event and channel), and the next
frame is still read. When FreeSWITCH closes the socket, the socket breaks or garbage arrives,
the loop ends and ``_on_closed`` is told why, once.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable

import gevent
from gevent.event import AsyncResult
from gevent.socket import socket as GeventSocket

from ivr.freeswitch import esl

__all__ = ["READ_SIZE", "ESLConnection"]

log = logging.getLogger("ivr.freeswitch")

READ_SIZE = 65536
"""Bytes asked of the socket per read: a burst of events is parsed in one go."""
CLOSED_BY_FREESWITCH = "FreeSWITCH closed the connection"


class ESLConnection:
    """The reading half of one event-socket connection; subclasses say what frames mean.

    Attributes:
        sock: The connected socket.
    """

    def __init__(self, sock: GeventSocket) -> None:
        self.sock = sock
        self._parser = esl.ESLParser()
        self._replies: collections.deque[AsyncResult] = collections.deque()
        self._reader: gevent.Greenlet | None = None

    @property
    def log_name(self) -> str:
        """What log lines call this connection: the call's uuid, or FreeSWITCH's address."""
        raise NotImplementedError

    def _on_event(self, message: esl.ESLMessage) -> None:
        """An event frame (``text/event-plain``) arrived."""
        raise NotImplementedError

    def _on_notice(self, message: esl.ESLMessage) -> None:
        """A frame that is neither an answer nor an event: a greeting, a disconnect notice."""

    def _on_closed(self, reason: str, cause: BaseException | None) -> None:
        """The reader stopped: the connection is gone, for ``reason`` (``cause``: the error)."""
        raise NotImplementedError

    def _start_reading(self) -> None:
        """Start the reader greenlet."""
        self._reader = gevent.spawn(self._read_loop)

    def _read_loop(self) -> None:
        """Read frames until the connection ends; run as the connection's reader greenlet."""
        reason, cause = CLOSED_BY_FREESWITCH, None
        try:
            while True:
                try:
                    data = self.sock.recv(READ_SIZE)
                except OSError as exc:
                    reason, cause = f"the connection broke: {exc}", exc
                    break
                if not data:
                    break
                try:
                    messages = self._parser.feed(data)
                except esl.ESLProtocolError as exc:
                    reason, cause = f"FreeSWITCH sent a malformed frame: {exc}", exc
                    break
                for message in messages:
                    try:
                        self._dispatch(message)
                    except Exception:  # one bad frame must not stop the reader
                        log.exception("[%s] could not handle %r", self.log_name, message)
        finally:
            if self._parser.pending:
                log.warning(
                    "[%s] connection closed inside a frame (%d bytes pending)",
                    self.log_name,
                    self._parser.pending,
                )
            self._on_closed(reason, cause)

    def _dispatch(self, message: esl.ESLMessage) -> None:
        kind = message.content_type
        if kind in ("command/reply", "api/response"):
            if self._replies:
                self._replies.popleft().set(message)
            else:
                log.warning("[%s] answer nobody waited for: %r", self.log_name, message)
        elif kind == "text/event-plain" and message.event is not None:
            self._on_event(message)
        else:
            self._on_notice(message)

    def _fail_replies(self, error: BaseException) -> None:
        """Fail every command still waiting for its answer with ``error``."""
        while self._replies:
            self._replies.popleft().set_exception(error)

    def _run_handlers(
        self, handlers: Iterable[Callable[[esl.ESLMessage], None]], message: esl.ESLMessage
    ) -> None:
        """Call each handler with the event; one that raises is logged and the others still run."""
        for handler in handlers:
            try:
                handler(message)
            except Exception:  # the owner's bug must not stop the events of everyone else
                log.exception("[%s] handler %r failed on %r", self.log_name, handler, message)
