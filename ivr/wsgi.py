"""The HTTP server under every endpoint ivr serves: gevent's WSGI server, hardened for loopback.

gevent's server writes a response's headers and its body in two sends. With Nagle's algorithm
on, the body waits until the client acknowledges the headers, and clients delay that
acknowledgement by up to 40 ms on Linux, so every request took 40 ms (measured against the
``mock:`` card service: 44 ms per POST, 0.4 ms with this server). Small writes therefore go out
at once.

Clients are not trusted to be quick or well-formed:

- the request line and headers must all arrive within ``read_timeout`` seconds of the server
  starting to wait for them (a whole-request deadline, not per ``recv``: a client trickling a
  byte a second would outlast any per-``recv`` timeout), else 408; an idle keep-alive
  connection is closed after as long; each later read or write also gives up after as long;
- with ``max_body``, a request declaring a longer body is answered 413 before any of it is read,
  a chunked body (whose length nobody knows in advance) 411, and the body is read by the server
  within the same deadline, before the application sees it (a body trickled in is a 408 too);
- a malformed request line, header block or ``Content-Length`` is answered 400 with what was
  wrong, and logged as one line without a traceback; a client that stops reading its answers is
  disconnected once a write has waited ``read_timeout``, also without a traceback.

Each connection has its own greenlet and none holds the others, so idle connections cost a
socket and a few kilobytes, and never delay a request on another connection.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from http import HTTPStatus

from gevent import Timeout
from gevent.pywsgi import Input, WSGIHandler, WSGIServer

from ivr.errors import IvrError

log = logging.getLogger("ivr.http")

READ_TIMEOUT = 10.0
"""Seconds a client has to send its request (and for each later read or write)."""


class SlowClient(IvrError, TimeoutError):
    """The client did not send its whole request within the read timeout."""


def error_response(code: int, message: str) -> bytes:
    """A whole HTTP response, ``{"error": message}`` with status ``code``, closing the connection.

    Args:
        code: the HTTP status.
        message: what the client did wrong.
    """
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Handler(WSGIHandler):
    """One connection: gevent's handler with a request deadline, a body cap and JSON errors."""

    _deadline: Timeout | None = None
    _body: bytes | None = None

    def read_requestline(self) -> str:
        self._deadline = Timeout.start_new(self.server.read_timeout, SlowClient)
        return super().read_requestline()

    def read_request(self, raw_requestline: str) -> bool:
        self._body = None
        try:
            parsed = super().read_request(raw_requestline)
            if parsed and self.server.max_body is not None:
                self._body = self._read_body(self.server.max_body)
        finally:
            self._deadline.cancel()
        return parsed

    def _read_body(self, limit: int) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            raise _Refused(411, "send the body with a Content-Length, not chunked")
        length = self.content_length or 0
        if length > limit:
            raise _Refused(413, f"the body is {length} bytes; at most {limit} are read")
        if not length:
            return b""
        if self.headers.get("expect", "").lower() == "100-continue":
            self.socket.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Refused(400, f"the body ended after {len(body)} of its {length} bytes")
        return body

    def get_environ(self) -> dict:
        environ = super().get_environ()
        if self._body is not None:
            # Already read: gevent must neither read it again nor discard it from the socket.
            self.wsgi_input = Input(io.BytesIO(self._body), len(self._body))
            environ["wsgi.input"] = self.wsgi_input
        return environ

    def handle_one_request(self):
        try:
            return super().handle_one_request()
        finally:
            # The deadline is still armed when the request line was empty or too long.
            if self._deadline is not None:
                self._deadline.cancel()

    def handle_error(self, t, v, tb) -> None:
        if issubclass(t, TimeoutError) and self.status is not None:
            # The answer was begun, so the write timed out: the client stopped reading it. Its
            # fault, not a failure to log with a traceback (an application's own timeout, before
            # it answers, still is one).
            log.info("HTTP: %s stopped reading; connection closed", self.client_address)
            self.close_connection = True
            return
        super().handle_error(t, v, tb)

    def _handle_client_error(self, ex: BaseException):
        # gevent's own answer is an empty 400, with a traceback on stderr for anything that is
        # not a ValueError (more than 100 headers, a timeout): it says nothing to the client and
        # too much to the log.
        if isinstance(ex, _Refused):
            code, message = ex.code, ex.message
        elif isinstance(ex, TimeoutError):  # the deadline, or one recv timing out
            code = 408
            message = f"no complete request within {self.server.read_timeout:g} s"
        else:
            code, message = 400, f"malformed request: {_describe(ex)}"
        log.info("HTTP %d to %s: %s", code, self.client_address, message)
        return str(code), error_response(code, message)


class _Refused(IvrError, ValueError):
    """A well-formed request this server will not read (too long a body)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _describe(ex: BaseException) -> str:
    text = str(ex)
    if "invalid literal for int()" in text:
        return "Content-Length is not a number of bytes"
    return (text or type(ex).__name__)[:200]


class HttpServer(WSGIServer):
    """A ``gevent.pywsgi.WSGIServer`` that sends at once and does not wait on slow clients.

    Args:
        listener: the address (or listening socket) to serve on.
        application: the WSGI application.
        read_timeout: seconds a client has for its request line and headers, and for each
            later read or write.
        max_body: the longest request body read, in bytes (``None``: no limit).
        **kwargs: passed to ``WSGIServer`` (``log``, ``error_log``).
    """

    handler_class = _Handler

    def __init__(
        self,
        listener,
        application=None,
        *,
        read_timeout: float = READ_TIMEOUT,
        max_body: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(listener, application, **kwargs)
        self.read_timeout = read_timeout
        self.max_body = max_body

    def handle(self, sock, address) -> None:
        """Serve one connection, with ``TCP_NODELAY`` and the read timeout set on it."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.read_timeout)
        super().handle(sock, address)
