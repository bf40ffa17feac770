"""The frames FreeSWITCH's event socket writes, byte for byte, for the simulated FreeSWITCH.

Events (``text/event-plain``, values URL-encoded as ``switch_url_encode`` does), the outbound
``connect`` reply, command replies, api responses, the linger and disconnect notices and the
inbound greeting. The controller reads them with ``ivr.freeswitch.esl.ESLParser``; the recorded
streams of ``tests/fs_traces`` are re-encoded to their exact bytes in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal
from urllib.parse import quote

from ivr.freeswitch.esl import ESLCommandError, check_one_line

__all__ = [
    "DISCONNECT_MESSAGE",
    "encode_api_response",
    "encode_auth_request",
    "encode_command_reply",
    "encode_connect_reply",
    "encode_disconnect_notice",
    "encode_event",
    "encode_linger_notice",
    "percent_encode",
]

DISCONNECT_MESSAGE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
"""Body of the final ``text/disconnect-notice`` FreeSWITCH sends before closing."""

# FreeSWITCH's SWITCH_URL_UNSAFE; bytes below space and above '~' are encoded as well.
_URL_UNSAFE = '\r\n #%&+:;<=>?@[\\]^`{|}"'
_URL_SAFE = "".join(c for c in map(chr, range(0x20, 0x7F)) if c not in _URL_UNSAFE)
_NEEDS_ENCODING = re.compile(f"[^{re.escape(_URL_SAFE)}]")
# switch_url_encode leaves a '%' alone when two upper-case hex digits follow it.
_KEPT_ESCAPE = re.compile("(%[0-9A-F]{2})")


def percent_encode(value: str) -> str:
    r"""Encode a header value exactly as FreeSWITCH's ``switch_url_encode`` does.

    Spaces, ``\r\n#%&+:;<=>?@[\]^`{|}"``, control characters and every byte of non-ASCII
    UTF-8 become ``%XX`` (upper-case hex); letters, digits and ``!$'()*,-./_~`` stay. Like
    FreeSWITCH, a ``%`` already followed by two upper-case hex digits is left as it is, so such
    a value does not survive a decode/encode round trip.
    """
    if _NEEDS_ENCODING.search(value) is None:
        return value
    parts = _KEPT_ESCAPE.split(value)
    parts[0::2] = [quote(part, safe=_URL_SAFE) for part in parts[0::2]]
    return "".join(parts)


def _check_header_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ESLCommandError(f"header name must be a non-empty string, not {name!r}")
    if ": " in name or "\n" in name or "\r" in name:
        raise ESLCommandError(f"header name {name!r} holds ': ' or a line break")


def _serialize_event(headers: Iterable[tuple[str, str]], body: str | None) -> bytes:
    """Serialise an event as ``switch_event_serialize`` does with URL encoding on."""
    lines = []
    cache = _LINE_CACHE
    for pair in headers:
        try:
            line = cache.get(pair)
        except TypeError:  # an unhashable value: _header_line says what is wrong with it
            line = None
        if line is None:
            line = _header_line(*pair)
            if len(cache) >= _LINE_CACHE_SIZE:
                cache.clear()
            cache[pair] = line
        lines.append(line)
    if body:
        lines.append(f"Content-Length: {len(body.encode())}\n\n{body}")
    else:
        lines.append("\n")
    return "".join(lines).encode()


_LINE_CACHE: dict[tuple[str, str], str] = {}
"""Encoded header lines by (name, value): a simulated channel repeats its headers in every event,
and encoding them again was most of what a load generator spent its time on."""
_LINE_CACHE_SIZE = 100_000


def _header_line(name: str, value: str) -> str:
    _check_header_name(name)
    if name == "Content-Length":
        raise ESLCommandError("do not pass Content-Length: it is computed from the body")
    if not isinstance(value, str):
        raise ESLCommandError(f"value of {name} must be a string, not {type(value).__name__}")
    # An empty value would leave "Name: " on the wire; FreeSWITCH writes _undef_ instead.
    return f"{name}: {percent_encode(value) or '_undef_'}\n"


def encode_event(headers: Iterable[tuple[str, str]], body: str | None = None) -> bytes:
    """A ``text/event-plain`` frame, byte-identical to what FreeSWITCH sends.

    Args:
        headers: ``(name, value)`` in wire order (repeats allowed), values not yet encoded,
            without ``Content-Length``.
        body: The event's own body (a BACKGROUND_JOB's result); it gets its ``Content-Length``.
    """
    serialized = _serialize_event(headers, body)
    head = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(serialized)
    return head + serialized


def encode_connect_reply(
    channel_headers: Iterable[tuple[str, str]],
    *,
    socket_mode: Literal["async", "static"] = "async",
    control: Literal["full", "single-channel"] = "full",
) -> bytes:
    """The reply to an outbound socket's ``connect``: one event, no Content-Length.

    Args:
        channel_headers: The CHANNEL_DATA event's headers (``Event-Name`` first, channel and
            ``variable_*`` headers), values not yet encoded.
        socket_mode: ``async`` or ``static``, as the dialplan's ``socket`` application asked.
        control: ``full`` or ``single-channel``.
    """
    if socket_mode not in ("async", "static"):
        raise ESLCommandError(f"socket_mode must be 'async' or 'static', not {socket_mode!r}")
    if control not in ("full", "single-channel"):
        raise ESLCommandError(f"control must be 'full' or 'single-channel', not {control!r}")
    tail = [
        ("Content-Type", "command/reply"),
        ("Reply-Text", "+OK\n"),
        ("Socket-Mode", socket_mode),
        ("Control", control),
    ]
    return _serialize_event([*channel_headers, *tail], None)


def encode_command_reply(reply_text: str, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A ``command/reply`` frame; values are sent as they are, not encoded.

    Args:
        reply_text: ``+OK Events Enabled``, ``-ERR invalid``, ``+OK Job-UUID: <uuid>``, ...
        extra_headers: Headers after ``Reply-Text`` (bgapi adds ``Job-UUID``).
    """
    check_one_line(reply_text, "reply text")
    lines = [f"Content-Type: command/reply\nReply-Text: {reply_text}\n"]
    for name, value in extra_headers:
        _check_header_name(name)
        check_one_line(value, f"value of {name}")
        lines.append(f"{name}: {value}\n")
    lines.append("\n")
    return "".join(lines).encode()


def encode_api_response(body: str) -> bytes:
    """An ``api/response`` frame; FreeSWITCH sends ``-ERR no reply`` for an empty output."""
    data = (body or "-ERR no reply\n").encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n%b" % (len(data), data)


def encode_linger_notice(
    session_uuid: str, channel_name: str, linger_seconds: int | None = None
) -> bytes:
    """The ``text/disconnect-notice`` sent when a lingering outbound socket's channel hangs up.

    Args:
        session_uuid: The controlled channel's uuid.
        channel_name: Its name (``loopback/18005550100-b``), sent as it is.
        linger_seconds: What ``linger <n>`` asked; None for plain ``linger`` (``Linger-Time: -1``).
    """
    check_one_line(session_uuid, "session uuid")
    check_one_line(channel_name, "channel name")
    linger_time = -1 if linger_seconds is None else linger_seconds
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()


def encode_disconnect_notice(
    session_uuid: str | None = None, message: str = DISCONNECT_MESSAGE
) -> bytes:
    """The final ``text/disconnect-notice`` FreeSWITCH sends before closing the socket.

    Args:
        session_uuid: The controlled channel's uuid on an outbound socket; None on an inbound
            connection, whose notice has only Content-Type and Content-Length.
        message: The body; FreeSWITCH sends ``Disconnected.`` when it has none.
    """
    data = (message or "Disconnected.\n").encode()
    if session_uuid is None:
        head = "Content-Type: text/disconnect-notice\n"
    else:
        check_one_line(session_uuid, "session uuid")
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
        )
    return b"%bContent-Length: %d\n\n%b" % (head.encode(), len(data), data)


def encode_auth_request() -> bytes:
    """The greeting of an inbound connection, before ``auth``."""
    return b"Content-Type: auth/request\n\n"
