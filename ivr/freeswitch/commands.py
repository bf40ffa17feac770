"""Every command the controller sends to FreeSWITCH's event socket, as small pure functions.

Two kinds, both refusing values that would corrupt the command (None, line breaks, a space in
a one-word argument) with ``ESLCommandError`` instead of sending them:

- frames, as bytes ready for the socket: ``connect``, ``myevents``, ``linger``, ``exit_``,
  ``auth``, ``event_plain``, ``api``, ``bgapi``, ``sendmsg_execute``, ``sendmsg_hangup``;
- API command lines, as text for ``api`` or ``bgapi``: ``uuid_break``, ``uuid_kill``,
  ``uuid_send_dtmf``, ``global_getvar``, ``originate`` (with its ``{variables}``), and
  ``socket_app``, the originate destination that hands a call to the controller.

Arguments of dialplan applications (``playback``, ``bridge``, ...) are built in
``ivr.freeswitch.apps``. Nothing outside ``ivr/freeswitch`` builds ESL text. The bytes were
checked against what a client sent a real FreeSWITCH 1.11.3 (``tests/fs_traces``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ivr.freeswitch import apps
from ivr.freeswitch.esl import MAX_CONTENT_LENGTH, ESLCommandError, check_one_line

__all__ = [
    "api",
    "auth",
    "bgapi",
    "connect",
    "event_plain",
    "exit_",
    "global_getvar",
    "linger",
    "myevents",
    "originate",
    "sendmsg_execute",
    "sendmsg_hangup",
    "socket_app",
    "uuid_break",
    "uuid_kill",
    "uuid_record",
    "uuid_send_dtmf",
]

_TOKEN = re.compile(r"\S+")
_SENDMSG_BODY_TYPE = "text/plain"


def _text(value: object, what: str) -> str:
    """A one-line, non-empty command argument."""
    if not isinstance(value, str):
        raise ESLCommandError(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise ESLCommandError(f"{what} is empty")
    check_one_line(value, what)
    return value


def _token(value: object, what: str) -> str:
    """A command argument that is one word: no spaces, no line breaks."""
    text = _text(value, what)
    if not _TOKEN.fullmatch(text):
        raise ESLCommandError(f"{what} {text!r} must be one word without spaces")
    return text


# ---------------------------------------------------------------- frames


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
    """Subscribe to events by name, in plain format (on a call's socket: more of its own)."""
    return f"event plain {_event_names(names)}\n\n".encode()


def nixevent(names: Sequence[str]) -> bytes:
    """Stop events by name on this connection (``myevents`` sends more than a call reads)."""
    return f"nixevent {_event_names(names)}\n\n".encode()


def _event_names(names: Sequence[str]) -> str:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ESLCommandError(f"event names must be a list of names, not {names!r}")
    if not names:
        raise ESLCommandError("event names must not be empty")
    return " ".join(_token(name, "event name") for name in names)


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


# ---------------------------------------------------------------- API command lines


def uuid_break(uuid: str, *, all_queued: bool = True) -> str:
    """Stop the media playing on a channel (``all_queued``: and what was queued after it)."""
    uuid = _token(uuid, "channel uuid")
    return f"uuid_break {uuid} all" if all_queued else f"uuid_break {uuid}"


def uuid_kill(uuid: str, cause: str = "NORMAL_CLEARING") -> str:
    """Hang up any channel with a cause (``NORMAL_CLEARING``, ``USER_BUSY``, ...)."""
    return f"uuid_kill {_token(uuid, 'channel uuid')} {_token(cause, 'hangup cause')}"


def uuid_send_dtmf(uuid: str, keys: str) -> str:
    """Send keys on a channel as if its phone pressed them (``12345678#``)."""
    return f"uuid_send_dtmf {_token(uuid, 'channel uuid')} {_token(keys, 'keys')}"


RECORD_ACTIONS = ("start", "stop", "mask", "unmask")


def uuid_record(
    uuid: str, action: str, path: str, variables: Mapping[str, str] | None = None
) -> str:
    """Start, stop, mask or unmask the recording of a channel to ``path`` (``uuid_record``).

    ``variables`` (with ``start``) are FreeSWITCH's recording variables (``RECORD_STEREO``)
    for this one recording, given after a limit of 0 (none) instead of set on the channel,
    where they would apply to every later recording too.
    """
    if action not in RECORD_ACTIONS:
        raise ESLCommandError(f"uuid_record action must be one of {', '.join(RECORD_ACTIONS)}")
    line = f"uuid_record {_token(uuid, 'channel uuid')} {action} {_token(path, 'recording path')}"
    if action == "start" and variables:
        pairs = ",".join(
            f"{_token(name, 'recording variable')}={_token(value, 'recording variable value')}"
            for name, value in variables.items()
        )
        line += " 0 {" + pairs + "}"
    return line


def global_getvar(name: str) -> str:
    """Read one of FreeSWITCH's global variables (``core_uuid``, ``ivr_controller``)."""
    return f"global_getvar {_token(name, 'global variable name')}"


def socket_app(host: str, port: int) -> str:
    """The originate destination that hands the answered call to the controller at host:port."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ESLCommandError(f"controller port must be a TCP port number, not {port!r}")
    return f"&socket({_token(host, 'controller host')}:{port} async full)"


def originate(dial_string: str, destination: str, variables: Mapping[str, str]) -> str:
    """The ``originate {variables}dial_string destination`` command line (for ``bgapi``).

    FreeSWITCH splits originate's arguments at spaces outside single quotes and then removes
    the quotes and backslash escapes (``switch_separate_string``), so a destination such as
    ``&socket(127.0.0.1:8084 async full)`` is sent quoted.

    Args:
        dial_string: One endpoint (``user/1001``, ``loopback/9999/default``).
        destination: ``&app(argument)`` or an extension.
        variables: Channel variables, sent as ``{name=value,...}`` (quoted when needed).

    Raises:
        ValueError: A value would corrupt the command.
    """
    destination = _text(destination, "originate destination")
    if destination != destination.strip(" "):
        raise ESLCommandError(f"originate destination {destination!r} has outer spaces")
    # An API command's arguments are not expanded (unlike an application's), so ``${`` in a
    # variable is text here; the split at spaces is the one layer more than ``bridge`` has.
    target = _one_argument(apps.dial_string([(dial_string, {})], variables))
    return f"originate {target} {_one_argument(destination)}"


def _one_argument(text: str) -> str:
    """``text`` as one argument of a command split at spaces (``switch_separate_string``)."""
    if " " in text or "'" in text or "\\" in text:
        escaped = text.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    return text
