"""The commands a client sends to FreeSWITCH's event socket, read as mod_event_socket reads them.

The simulated FreeSWITCH reads what the controller sends with ``ESLCommandParser``; the
controller builds those commands in ``ivr.freeswitch.commands``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.freeswitch.esl import FRAME_END, MAX_CONTENT_LENGTH, ESLProtocolError, content_length

__all__ = ["ESLCommand", "ESLCommandParser"]


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

    @property
    def pending(self) -> int:
        """Bytes received that are not yet part of a complete command."""
        return len(self._buffer)

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
                cut = buffer.find(FRAME_END, max(pos, self._scan_from))
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
                self._body_length = content_length(length.strip(), "command")
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
