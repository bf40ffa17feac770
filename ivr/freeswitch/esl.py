"""The FreeSWITCH event-socket (ESL) wire codec: the one place ESL text is parsed or produced.

FreeSWITCH talks to a client in frames: a block of ``Name: value`` lines ended by a blank line,
then, when the block has a ``Content-Length``, that many bytes of body. The client answers with
commands framed the same way. This module holds, with no sockets and no gevent:

- ``ESLParser``: cuts what FreeSWITCH sends into ``ESLMessage`` objects, whatever the chunking;
- ``encode_*``: frames as FreeSWITCH writes them, byte for byte (for the simulated FreeSWITCH);
- command builders (``connect``, ``sendmsg_execute``, ...): what the controller sends;
- ``ESLCommandParser``: reads those commands the way FreeSWITCH does (for the simulator).

What the frames look like was checked against recorded streams of FreeSWITCH 1.11.3
(``tests/fs_traces``) and its source (``mod_event_socket.c``, ``switch_event_serialize``,
``switch_url_encode``, ``switch_ivr_parse_event``).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from itertools import repeat
from typing import Literal
from urllib.parse import quote, unquote

from ivr.errors import IvrError

__all__ = [
    "DISCONNECT_MESSAGE",
    "MAX_CONTENT_LENGTH",
    "ESLCommand",
    "ESLCommandError",
    "ESLCommandParser",
    "ESLError",
    "ESLMessage",
    "ESLParser",
    "ESLProtocolError",
    "Headers",
    "api",
    "auth",
    "bgapi",
    "connect",
    "encode_api_response",
    "encode_auth_request",
    "encode_command_reply",
    "encode_connect_reply",
    "encode_disconnect_notice",
    "encode_event",
    "encode_linger_notice",
    "event_plain",
    "exit_",
    "linger",
    "myevents",
    "percent_decode",
    "percent_encode",
    "sendmsg_execute",
    "sendmsg_hangup",
    "uuid_break",
]

MAX_CONTENT_LENGTH = 16 * 1024 * 1024
"""Largest body (and header block) accepted; FreeSWITCH rejects bigger command bodies too."""

DISCONNECT_MESSAGE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
"""Body of the final ``text/disconnect-notice`` FreeSWITCH sends before closing."""

# FreeSWITCH's SWITCH_URL_UNSAFE; bytes below space and above '~' are encoded as well.
_URL_UNSAFE = '\r\n #%&+:;<=>?@[\\]^`{|}"'
_URL_SAFE = "".join(c for c in map(chr, range(0x20, 0x7F)) if c not in _URL_UNSAFE)
_NEEDS_ENCODING = re.compile(f"[^{re.escape(_URL_SAFE)}]")
# switch_url_encode leaves a '%' alone when two upper-case hex digits follow it.
_KEPT_ESCAPE = re.compile("(%[0-9A-F]{2})")
_TOKEN = re.compile(r"\S+")
_EVENT_CONTENT_TYPE = "text/event-plain"
_SENDMSG_BODY_TYPE = "text/plain"
_FRAME_END = b"\n\n"
_MISSING: str = "\x00missing"  # a header value cannot hold a NUL
# Every byte but the three an event line's shape is made of (see _vouched).
_NOT_SHAPE = bytes(b for b in range(256) if b not in b": \n")


class ESLError(IvrError):
    """Base of the errors raised by the ESL codec."""


class ESLProtocolError(ESLError):
    """The bytes received are not a well-formed ESL frame; the connection should be dropped.

    After raising it the parser's state is undefined: do not feed it again.
    """


class ESLCommandError(ESLError, ValueError):
    """A command or frame cannot be built from the values given (None, a line break, ...)."""


class Headers(Mapping[str, str]):
    """Header values by name in wire order; a repeated name maps to its first value.

    FreeSWITCH repeats some headers (``Hangup-Cause`` twice in CHANNEL_HANGUP_COMPLETE);
    ``get_all``, ``pairs`` and ``to_dict`` keep every occurrence. Read-only.

    An event's headers are parsed on demand: a controller reads a handful of the 80 to 200
    headers of each event, so ``get`` finds the one asked for in the event's text and decodes
    only that value; anything that needs them all (iteration, ``len``, ``pairs``, equality)
    parses the whole block once. Both ways give the same values.
    """

    __slots__ = ("_first", "_repeated", "_text")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        pairs = list(pairs)
        self._text: str | None = None
        self._first: dict[str, str] | None = dict(pairs)
        self._repeated: list[tuple[str, str]] | None = None
        if len(self._first) != len(pairs):
            self._keep_first(pairs)

    @classmethod
    def _from_columns(cls, names: Sequence[str], values: Sequence[str]) -> Headers:
        """Build from parallel name and value sequences without building pairs first."""
        headers = cls.__new__(cls)
        headers._text = None
        headers._first = dict(zip(names, values, strict=True))
        headers._repeated = None
        if len(headers._first) != len(names):
            headers._keep_first(list(zip(names, values, strict=True)))
        return headers

    @classmethod
    def _from_event_text(cls, text: str) -> Headers:
        """Headers of a serialised event, parsed when asked for; ``text`` is already checked."""
        headers = cls.__new__(cls)
        # The leading line break lets every lookup search for "\nName: ", the first header too.
        headers._text = "\n" + text
        headers._first = None
        headers._repeated = None
        return headers

    def _keep_first(self, pairs: list[tuple[str, str]]) -> None:
        # dict() kept the last value of a repeated name; FreeSWITCH's own lookup finds the first.
        self._repeated = pairs
        first = self._first
        for name, value in reversed(pairs):
            first[name] = value

    def _all(self) -> dict[str, str]:
        """Every header, parsing the event text the first time it is needed."""
        if self._first is None:
            names, values = _split_lines(self._text[1:], "event")
            values = _decode_values(values)
            self._first = dict(zip(names, values, strict=True))
            if len(self._first) != len(names):
                self._keep_first(list(zip(names, values, strict=True)))
            self._text = None
        return self._first

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, else ``default``."""
        if self._first is not None:
            return self._first.get(name, default)
        if ": " in name or "\n" in name:
            return default  # no header name holds these; searching would match inside a line
        text = self._text
        start = text.find(f"\n{name}: ")
        if start < 0:
            return default
        start += len(name) + 3
        end = text.find("\n", start)
        value = text[start:end] if end >= 0 else text[start:]
        return percent_decode(value) if "%" in value else value

    def __getitem__(self, name: str) -> str:
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name, _MISSING) is not _MISSING

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __bool__(self) -> bool:
        # An event block is never empty; asking must not parse it.
        return self._first is None or bool(self._first)

    def keys(self) -> KeysView[str]:
        """Header names in wire order, each once."""
        return self._all().keys()

    def items(self) -> ItemsView[str, str]:
        """``(name, first value)`` in wire order."""
        return self._all().items()

    def values(self) -> ValuesView[str]:
        """First values in wire order."""
        return self._all().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._all() == other._all()
        if isinstance(other, Mapping):
            return self._all() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mapping, like dict

    def __repr__(self) -> str:
        return f"Headers({self._all()!r})"

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in wire order; empty when it is absent."""
        first = self._all()
        if self._repeated is None:
            return [first[name]] if name in first else []
        return [value for key, value in self._repeated if key == name]

    def pairs(self) -> list[tuple[str, str]]:
        """Every header as ``(name, value)`` in wire order, repeats included."""
        first = self._all()
        return list(self._repeated if self._repeated is not None else first.items())

    def to_dict(self) -> dict[str, str | list[str]]:
        """A plain dict where a repeated name maps to the list of its values (trace-file form)."""
        first = self._all()
        if self._repeated is None:
            return dict(first)
        result: dict[str, str | list[str]] = {}
        for name, value in self._repeated:
            if name not in result:
                result[name] = value
            elif isinstance(previous := result[name], list):
                previous.append(value)
            else:
                result[name] = [previous, value]
        return result


@dataclass(slots=True, repr=False)
class ESLMessage:
    """One frame received from FreeSWITCH.

    Attributes:
        content_type: ``Content-Type`` of the frame (``command/reply``, ``text/event-plain``,
            ``api/response``, ``text/disconnect-notice``, ``auth/request``, ...); empty if absent.
        headers: The outer headers. For the outbound ``connect`` reply, which is one serialised
            event, these are all its headers, percent-decoded.
        event: The percent-decoded event headers of a ``text/event-plain`` frame or of the
            ``connect`` reply (then the same object as ``headers``); None for other frames.
        body: The body: an api/response's output, a disconnect notice's text, or the body inside
            an event (a BACKGROUND_JOB's result); empty when there is none.
    """

    content_type: str
    headers: Headers
    event: Headers | None = None
    body: str = ""

    def __repr__(self) -> str:
        if self.event is not None:
            detail = f"{self.event_name} {self.unique_id or ''}".rstrip()
        elif self.reply_text:
            text = self.reply_text
            detail = repr(text if len(text) <= 60 else f"{text[:57]}...")
        else:
            detail = f"{len(self.body)} body chars"
        return f"<ESLMessage {self.content_type} {detail}>"

    @property
    def event_name(self) -> str | None:
        """``Event-Name`` of an event (``CHANNEL_EXECUTE``, ...); None for other frames."""
        return self.event.get("Event-Name") if self.event is not None else None

    @property
    def reply_text(self) -> str:
        """The answer to a command: a command/reply's ``Reply-Text``, an api/response's body."""
        if self.content_type == "api/response":
            return self.body
        return self.headers.get("Reply-Text", "")

    @property
    def ok(self) -> bool:
        """True when the answer to the command starts with ``+OK``."""
        return self.reply_text.startswith("+OK")

    @property
    def application_uuid(self) -> str | None:
        """``Application-UUID`` of CHANNEL_EXECUTE(_COMPLETE): the ``Event-UUID`` we sent."""
        return self.get("Application-UUID")

    @property
    def unique_id(self) -> str | None:
        """``Unique-ID`` of the channel the event is about."""
        return self.get("Unique-ID")

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` in the event headers, else in the outer headers."""
        if self.event is not None:
            value = self.event.get(name)
            if value is not None:
                return value
        return self.headers.get(name, default)


class ESLParser:
    """Cuts the byte stream FreeSWITCH sends into ``ESLMessage`` objects, however it is chunked.

    Bytes are kept until a frame is complete; the search for a header block's end resumes where
    the previous ``feed`` stopped, so a frame arriving a byte at a time is not re-scanned.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan_from = 0
        self._outer: tuple[Headers, Headers | None] | None = None
        self._body_length = 0
        self._stream_offset = 0
        self._frame_start = 0

    @property
    def pending(self) -> int:
        """Bytes received that are not yet part of a complete message."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[ESLMessage]:
        """Add received bytes; return the messages they complete, in order.

        Raises:
            ESLProtocolError: The stream is not ESL (the message says what was wrong and at which
                stream offset the frame started).
        """
        buffer = self._buffer
        buffer += data
        messages: list[ESLMessage] = []
        pos = 0
        try:
            while True:
                if self._outer is None:
                    self._frame_start = self._stream_offset + pos
                    cut = buffer.find(_FRAME_END, self._scan_from)
                    if cut < 0:
                        if len(buffer) - pos > MAX_CONTENT_LENGTH:
                            raise ESLProtocolError(
                                f"no blank line within {MAX_CONTENT_LENGTH} bytes of a header block"
                            )
                        # The first "\n" of the blank line may end this chunk, the second start
                        # the next one.
                        self._scan_from = max(pos, len(buffer) - 1)
                        break
                    headers, event, body_length = _parse_outer_block(buffer[pos:cut])
                    pos = self._scan_from = cut + 2
                    if body_length is None:
                        messages.append(ESLMessage(headers.get("Content-Type", ""), headers, event))
                        continue
                    self._outer = headers, event
                    self._body_length = body_length
                end = pos + self._body_length
                if end > len(buffer):
                    break
                messages.append(_message_with_body(*self._outer, buffer[pos:end]))
                self._outer = None
                pos = self._scan_from = end
        except ESLProtocolError as error:
            raise ESLProtocolError(
                f"{error} (frame starting at stream byte {self._frame_start})"
            ) from None
        del buffer[:pos]
        self._stream_offset += pos
        self._scan_from -= pos
        return messages


def _split_lines(text: str, where: str) -> tuple[Sequence[str], Sequence[str]]:
    """Split ``Name: value`` lines into names and values at each line's first ': '."""
    lines = text.split("\n")
    names, separators, values = zip(*map(str.partition, lines, repeat(": ")), strict=True)
    if "" in separators or "" in names:
        for line in lines:
            name, separator, _ = line.partition(": ")
            if not separator:
                raise ESLProtocolError(f"{where}: header line {line[:80]!r} has no ': '")
            if not name:
                raise ESLProtocolError(f"{where}: header line {line[:80]!r} has an empty name")
    return names, values


def _parse_outer_block(raw: bytearray) -> tuple[Headers, Headers | None, int | None]:
    """Parse a frame's header block into headers, event headers and body length (None: none)."""
    if raw.startswith(b"Event-Name: "):
        # The outbound connect reply: a whole event serialised as the header block.
        headers = event = _parse_event_block(raw, "connect reply")
    else:
        text = raw.decode("utf-8", "replace")
        headers = Headers._from_columns(*_split_lines(text, "header block"))
        event = None
    length = headers.get("Content-Length")
    if length is None:
        return headers, event, None
    return headers, event, _content_length(length, headers.get("Content-Type", "frame"))


def _content_length(value: str, where: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise ESLProtocolError(f"{where} has a non-numeric Content-Length {value[:40]!r}")
    length = int(value)
    if length > MAX_CONTENT_LENGTH:
        raise ESLProtocolError(
            f"{where} has Content-Length {length}, over the {MAX_CONTENT_LENGTH}-byte limit"
        )
    return length


def _parse_event_block(block: bytes | bytearray, where: str) -> Headers:
    """Check a serialised event's header lines; the values are decoded when they are read."""
    text = block.decode("utf-8", "replace")
    if _vouched(block):
        return Headers._from_event_text(text)
    names, values = _split_lines(text, where)
    return Headers._from_columns(names, _decode_values(values))


def _vouched(block: bytes | bytearray) -> bool:
    r"""True when every line is ``name: value`` as FreeSWITCH writes it, checked in C.

    FreeSWITCH percent-encodes ``:`` and space in values and has neither in names, so with
    every other byte deleted a well-formed block is ``": \n"`` repeated, and its names are
    non-empty when no line starts with ``": "``. (UTF-8 never hides these bytes inside a
    character.) Anything else (a value holding a space, a broken line) is not vouched for and
    takes the line-by-line parse, which accepts what is valid and names the line at fault.
    """
    shape = block.translate(None, _NOT_SHAPE)
    return (
        shape == b": \n" * shape.count(b"\n") + b": "
        and not block.startswith(b": ")
        and b"\n: " not in block
    )


def _decode_values(values: Sequence[str]) -> Sequence[str]:
    """Percent-decode header values."""
    # One decode call for the whole event: no value holds a NUL (FreeSWITCH values are C
    # strings), so it separates them unless a value carried an encoded %00.
    joined = "\x00".join(values)
    if "%" not in joined:
        return values
    decoded = percent_decode(joined).split("\x00")
    return decoded if len(decoded) == len(values) else [unquote(v) for v in values]


def _message_with_body(headers: Headers, event: Headers | None, raw: bytearray) -> ESLMessage:
    content_type = headers.get("Content-Type", "")
    if content_type != _EVENT_CONTENT_TYPE:
        return ESLMessage(content_type, headers, event, raw.decode("utf-8", "replace"))
    if raw.endswith(_FRAME_END):
        # Most events have no body of their own: their headers end at the frame's end. Vouched
        # lines hold no blank line, so the frame's last two bytes are the first blank line.
        block = raw[:-2]
        if (
            _vouched(block)
            and not block.startswith(b"Content-Length: ")
            and b"\nContent-Length: " not in block
        ):
            return ESLMessage(
                content_type, headers, Headers._from_event_text(block.decode("utf-8", "replace"))
            )
    cut = raw.find(_FRAME_END)
    if cut < 0:
        raise ESLProtocolError("text/event-plain body has no blank line after its headers")
    event = _parse_event_block(raw[:cut], "text/event-plain body")
    rest = raw[cut + 2 :]
    length = event.get("Content-Length")
    if length is None:
        if rest:
            raise ESLProtocolError(
                f"text/event-plain body has {len(rest)} bytes after the event headers but the "
                "event has no Content-Length"
            )
        return ESLMessage(content_type, headers, event)
    if _content_length(length, "event") != len(rest):
        raise ESLProtocolError(
            f"event says Content-Length {length} but {len(rest)} bytes follow its headers"
        )
    return ESLMessage(content_type, headers, event, rest.decode("utf-8", "replace"))


def percent_decode(text: str) -> str:
    """Decode ``%XX`` escapes exactly like ``urllib.parse.unquote``: UTF-8, ``+`` stays ``+``.

    Invalid UTF-8 becomes U+FFFD; a ``%`` not followed by two hex digits is kept.
    """
    # binascii.a2b_qp decodes '=XX' in C, several times faster than unquote's Python loop.
    # With '%' swapped for '=' it agrees with unquote when the text holds no '=' or line break
    # of its own and every '%' starts a valid escape (each one then shortens the text by 2).
    if text.isascii() and "=" not in text and "\n" not in text and "\r" not in text:
        escaped = text.encode("ascii").replace(b"%", b"=")
        decoded = binascii.a2b_qp(escaped)
        if len(escaped) - len(decoded) == 2 * text.count("%"):
            return decoded.decode("utf-8", "replace")
    return unquote(text)


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


def _check_raw_value(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise ESLCommandError(f"{what} must be a string, not {type(value).__name__}")
    if "\n" in value or "\r" in value:
        raise ESLCommandError(f"{what} {value!r} holds a line break, which would end the frame")


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
    _check_raw_value(reply_text, "reply text")
    lines = [f"Content-Type: command/reply\nReply-Text: {reply_text}\n"]
    for name, value in extra_headers:
        _check_header_name(name)
        _check_raw_value(value, f"value of {name}")
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
    _check_raw_value(session_uuid, "session uuid")
    _check_raw_value(channel_name, "channel name")
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
        _check_raw_value(session_uuid, "session uuid")
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
        )
    return b"%bContent-Length: %d\n\n%b" % (head.encode(), len(data), data)


def encode_auth_request() -> bytes:
    """The greeting of an inbound connection, before ``auth``."""
    return b"Content-Type: auth/request\n\n"


def _text(value: object, what: str) -> str:
    """A one-line, non-empty command argument."""
    if not isinstance(value, str):
        raise ESLCommandError(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise ESLCommandError(f"{what} is empty")
    _check_raw_value(value, what)
    return value


def _token(value: object, what: str) -> str:
    """A command argument that is one word: no spaces, no line breaks."""
    text = _text(value, what)
    if not _TOKEN.fullmatch(text):
        raise ESLCommandError(f"{what} {text!r} must be one word without spaces")
    return text


def connect() -> bytes:
    """First command on an outbound socket; FreeSWITCH answers with the channel's data."""
    return b"connect\n\n"


def myevents() -> bytes:
    """Subscribe to the controlled channel's events (plain format)."""
    return b"myevents\n\n"


def linger(seconds: int | None = None) -> bytes:
    """Keep the socket open after hangup: until ``exit`` (None) or for ``seconds``."""
    if seconds is None:
        return b"linger\n\n"
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        raise ESLCommandError(f"linger seconds must be a positive whole number, not {seconds!r}")
    return b"linger %d\n\n" % seconds


def exit_() -> bytes:
    """Ask FreeSWITCH to close the connection (it answers ``+OK bye``, then a notice)."""
    return b"exit\n\n"


def auth(password: str) -> bytes:
    """Authenticate an inbound connection."""
    return f"auth {_text(password, 'password')}\n\n".encode()


def event_plain(names: Sequence[str]) -> bytes:
    """Subscribe an inbound connection to events by name, in plain format."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ESLCommandError(f"event names must be a list of names, not {names!r}")
    if not names:
        raise ESLCommandError("event names must not be empty")
    words = [_token(name, "event name") for name in names]
    return f"event plain {' '.join(words)}\n\n".encode()


def api(command: str) -> bytes:
    """Run an API command; FreeSWITCH answers with an ``api/response``."""
    command = _text(command, "api command")
    if command[0].isspace():
        raise ESLCommandError(f"api command {command!r} starts with a space")
    return f"api {command}\n\n".encode()


def bgapi(command: str, job_uuid: str | None = None) -> bytes:
    """Run an API command in the background; its result comes as a BACKGROUND_JOB event.

    Args:
        command: The API command and its arguments.
        job_uuid: The ``Job-UUID`` to use; FreeSWITCH makes one up when None.
    """
    command = _text(command, "bgapi command")
    if command[0].isspace():
        raise ESLCommandError(f"bgapi command {command!r} starts with a space")
    if job_uuid is None:
        return f"bgapi {command}\n\n".encode()
    return f"bgapi {command}\nJob-UUID: {_token(job_uuid, 'job uuid')}\n\n".encode()


def uuid_break(uuid: str, *, all_queued: bool = True) -> bytes:
    """Stop the media playing on a channel (``all_queued``: and what was queued after it)."""
    uuid = _token(uuid, "channel uuid")
    return api(f"uuid_break {uuid} all" if all_queued else f"uuid_break {uuid}")


def _sendmsg_line(uuid: str | None) -> str:
    return "sendmsg\n" if uuid is None else f"sendmsg {_token(uuid, 'channel uuid')}\n"


def sendmsg_execute(
    app: str,
    arg: str | None,
    event_uuid: str,
    *,
    event_lock: bool = False,
    loops: int | None = None,
    uuid: str | None = None,
) -> bytes:
    """Run a dialplan application on the channel.

    An argument FreeSWITCH would cut or trim on a header line (one holding a line break or
    starting with a space) is sent as a ``text/plain`` body instead, which
    ``switch_ivr_parse_event`` reads when ``execute-app-arg`` is absent.

    Args:
        app: Application name (``playback``, ``play_and_get_digits``, ...).
        arg: Its argument, sent as it is (``tone_stream://%(1000,0,440)``); None or empty: none.
        event_uuid: Comes back as ``Application-UUID`` in CHANNEL_EXECUTE(_COMPLETE).
        event_lock: Run after the application in progress instead of nested inside it.
        loops: Run this many times; -1 repeats until stopped.
        uuid: Channel to send to; None means the socket's own channel.
    """
    lines = [
        _sendmsg_line(uuid),
        "call-command: execute\n",
        f"execute-app-name: {_token(app, 'application name')}\n",
    ]
    body = None
    if arg is not None and not isinstance(arg, str):
        raise ESLCommandError(f"application argument must be a string, not {type(arg).__name__}")
    if arg:
        if "\x00" in arg:
            raise ESLCommandError(f"application argument {arg[:80]!r} holds a NUL character")
        if "\n" in arg or "\r" in arg or arg[0] == " ":
            body = arg.encode()
            if len(body) > MAX_CONTENT_LENGTH:
                raise ESLCommandError(f"application argument is over {MAX_CONTENT_LENGTH} bytes")
        else:
            lines.append(f"execute-app-arg: {arg}\n")
    if not isinstance(event_lock, bool):
        raise ESLCommandError(f"event_lock must be True or False, not {event_lock!r}")
    if event_lock:
        lines.append("event-lock: true\n")
    if loops is not None:
        if isinstance(loops, bool) or not isinstance(loops, int) or not (loops >= 1 or loops == -1):
            raise ESLCommandError(f"loops must be a positive whole number or -1, not {loops!r}")
        lines.append(f"loops: {loops}\n")
    lines.append(f"Event-UUID: {_token(event_uuid, 'event uuid')}\n")
    if body is None:
        lines.append("\n")
        return "".join(lines).encode()
    lines.append(f"content-type: {_SENDMSG_BODY_TYPE}\ncontent-length: {len(body)}\n\n")
    return "".join(lines).encode() + body


def sendmsg_hangup(cause: str = "NORMAL_CLEARING", *, uuid: str | None = None) -> bytes:
    """Hang up the channel with a cause (``NORMAL_CLEARING``, ``USER_BUSY``, ...)."""
    cause = _token(cause, "hangup cause")
    return f"{_sendmsg_line(uuid)}call-command: hangup\nhangup-cause: {cause}\n\n".encode()


@dataclass(slots=True)
class ESLCommand:
    """One command as FreeSWITCH reads it from a client.

    Attributes:
        line: The command line (``sendmsg``, ``api uuid_break <uuid> all``, ``linger 5``).
        headers: Header values by lower-cased name: FreeSWITCH looks them up ignoring case.
        body: The body announced by ``Content-Length`` (a sendmsg's text/plain argument).
    """

    line: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def name(self) -> str:
        """The command word, lower-cased (``sendmsg``, ``api``, ``linger``)."""
        return self.line.split(" ", 1)[0].lower()

    @property
    def argument(self) -> str:
        """What follows the command word (``uuid_break <uuid> all`` for an api command)."""
        return self.line.partition(" ")[2]


class ESLCommandParser:
    """Reads the commands a client sends, the way mod_event_socket does (for the simulator).

    Like FreeSWITCH it skips blank lines before a command, takes a header's name up to its first
    ':' and strips the spaces after it, ignores header lines without ':', and reads
    ``Content-Length`` bytes of body.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan_from = 0
        self._waiting: ESLCommand | None = None
        self._body_length = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[ESLCommand]:
        """Add received bytes; return the commands they complete, in order.

        Raises:
            ESLProtocolError: A command's Content-Length is not a number or is too large.
        """
        buffer = self._buffer
        buffer += data
        commands: list[ESLCommand] = []
        pos = 0
        while True:
            if self._waiting is None:
                while pos < len(buffer) and buffer[pos] in b"\r\n":
                    pos += 1
                cut = buffer.find(_FRAME_END, max(pos, self._scan_from))
                if cut < 0:
                    if len(buffer) - pos > MAX_CONTENT_LENGTH:
                        raise ESLProtocolError(f"command longer than {MAX_CONTENT_LENGTH} bytes")
                    self._scan_from = max(pos, len(buffer) - 1)
                    break
                command = _parse_command_block(buffer[pos:cut].decode("utf-8", "replace"))
                pos = self._scan_from = cut + 2
                length = command.headers.get("content-length")
                if length is None:
                    commands.append(command)
                    continue
                self._waiting = command
                self._body_length = _content_length(length.strip(), "command")
            end = pos + self._body_length
            if end > len(buffer):
                break
            self._waiting.body = buffer[pos:end].decode("utf-8", "replace")
            commands.append(self._waiting)
            self._waiting = None
            pos = self._scan_from = end
        del buffer[:pos]
        self._scan_from = max(0, self._scan_from - pos)
        return commands


def _parse_command_block(text: str) -> ESLCommand:
    first, *rest = text.replace("\r", "").split("\n")
    headers: dict[str, str] = {}
    for line in rest:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.lower(), value.lstrip(" "))
    return ESLCommand(first, headers)
