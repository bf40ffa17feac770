"""What FreeSWITCH's event socket (ESL) sends the controller, parsed; the codec's shared words.

FreeSWITCH talks to a client in frames: a block of ``Name: value`` lines ended by a blank line,
then, when the block has a ``Content-Length``, that many bytes of body. This module holds, with
no sockets and no gevent:

- ``ESLParser``: cuts what FreeSWITCH sends into ``ESLMessage`` objects, whatever the chunking;
- the ESL errors (``ESLError`` and below), the frame size limit and the checks that every
  encoder of either side applies (``content_length``, ``check_one_line``).

What the controller sends is built in ``ivr.freeswitch.commands``; what FreeSWITCH sends is
built, for the simulated FreeSWITCH, in ``ivr.simulator.frames``, and what it reads in
``ivr.simulator.commands``. What the frames look like was checked against recorded streams of
FreeSWITCH 1.11.3 (``tests/fs_traces``) and its source (``mod_event_socket.c``,
``switch_event_serialize``, ``switch_url_encode``, ``switch_ivr_parse_event``).
"""

from __future__ import annotations

import binascii
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from itertools import repeat
from urllib.parse import unquote

from ivr.errors import IvrError

__all__ = [
    "FRAME_END",
    "MAX_CONTENT_LENGTH",
    "ESLCommandError",
    "ESLError",
    "ESLMessage",
    "ESLParser",
    "ESLProtocolError",
    "Headers",
    "check_one_line",
    "content_length",
    "percent_decode",
]

MAX_CONTENT_LENGTH = 16 * 1024 * 1024
"""Largest body (and header block) accepted; FreeSWITCH rejects bigger command bodies too."""
FRAME_END = b"\n\n"
"""The blank line that ends a header block, in either direction."""

_EVENT_CONTENT_TYPE = "text/event-plain"
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
                    cut = buffer.find(FRAME_END, self._scan_from)
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
    return headers, event, content_length(length, headers.get("Content-Type", "frame"))


def content_length(value: str, where: str) -> int:
    """A ``Content-Length`` value as a number, refused when it is none or over the limit."""
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
    if raw.endswith(FRAME_END):
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
    cut = raw.find(FRAME_END)
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
    if content_length(length, "event") != len(rest):
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


def check_one_line(value: str, what: str) -> None:
    """Refuse a value that is no string or holds a line break, which would end the frame."""
    if not isinstance(value, str):
        raise ESLCommandError(f"{what} must be a string, not {type(value).__name__}")
    if "\n" in value or "\r" in value:
        raise ESLCommandError(f"{what} {value!r} holds a line break, which would end the frame")
