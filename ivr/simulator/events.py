"""The data behind a channel's events: its variables, caller profiles and event headers.

Header names, their order and which events carry ``variable_*`` follow the recorded FreeSWITCH
1.11.3 traces (``tests/fs_traces``) and ``switch_channel_event_set_data``: the common
``Event-*`` block, the channel's basic data (state, answer state, codecs, ``Caller-*`` profile,
``Other-Leg-*`` once bridged), then the variables in the order they were set, then the headers of
the event itself. Values are given unencoded; ``ivr.freeswitch.esl`` frames and encodes them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from ivr.simulator.clock import CallClock

__all__ = ["EVENT_NAMES", "MYEVENTS", "Host", "Profile", "Variables"]

EVENT_SOURCES: dict[str, tuple[str, str, int]] = {
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2029),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1002),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1213),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2949),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2972),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3848),
    "CHANNEL_PROGRESS_MEDIA": (
        "switch_channel.c",
        "switch_channel_perform_mark_pre_answered",
        3562,
    ),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3447),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2409),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    ),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 678),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1580),
    "RECORD_START": ("switch_ivr_async.c", "record_callback", 1482),
    "RECORD_STOP": ("switch_ivr_async.c", "send_record_stop_event", 1241),
}
"""Where FreeSWITCH fires each event (``Event-Calling-File``/``-Function``/``-Line-Number``)."""

WITHOUT_VARIABLES = frozenset({"DTMF", "CHANNEL_STATE"})
"""Channel events FreeSWITCH sends without the channel's variables."""

MYEVENTS = frozenset(
    {
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    }
)
"""The events ``myevents`` subscribes to."""

EVENT_NAMES = frozenset(
    """CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_ANSWER
    CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD
    CHANNEL_UNHOLD CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA
    CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_UNPARK CHANNEL_APPLICATION CHANNEL_ORIGINATE CHANNEL_UUID
    API LOG INBOUND_CHAN OUTBOUND_CHAN STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK NOTALK SESSION_CRASH
    MODULE_LOAD MODULE_UNLOAD DTMF MESSAGE PRESENCE_IN NOTIFY_IN PRESENCE_OUT PRESENCE_PROBE
    MESSAGE_WAITING MESSAGE_QUERY ROSTER CODEC BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE
    PRIVATE_COMMAND HEARTBEAT TRAP ADD_SCHEDULE DEL_SCHEDULE EXE_SCHEDULE RE_SCHEDULE RELOADXML
    NOTIFY PHONE_FEATURE PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE RECV_MESSAGE REQUEST_PARAMS
    CHANNEL_DATA GENERAL COMMAND SESSION_HEARTBEAT CLIENT_DISCONNECTED SERVER_DISCONNECTED
    SEND_INFO RECV_INFO RECV_RTCP_MESSAGE SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START
    RECORD_STOP PLAYBACK_START PLAYBACK_STOP CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START
    MEDIA_BUG_STOP CONFERENCE_DATA_QUERY CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT
    CALL_DETAIL DEVICE_STATE TEXT SHUTDOWN_REQUESTED CERT_RELOAD ALL""".split()
)
"""Event names the ``event`` command accepts (``switch_name_event``)."""


class Variables:
    """Channel variables in the order FreeSWITCH keeps them.

    Setting a variable moves it to the end, setting it empty removes it, and pushing onto an
    existing one turns it into an ``ARRAY::a|:b`` value in place. Scopes pushed for one
    application shadow the channel's variables while it runs.
    """

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._scopes: list[dict[str, str]] = []

    def set(self, name: str, value: str | None) -> None:
        """Set ``name`` (None or empty: unset it)."""
        self._values.pop(name, None)
        if value:
            self._values[name] = value

    def push(self, name: str, value: str) -> None:
        """Append ``value`` to ``name`` (``switch_channel_add_variable_var_check`` PUSH)."""
        old = self._values.get(name)
        if old is None:
            self._values[name] = value
        elif old.startswith("ARRAY::"):
            self._values[name] = f"{old}|:{value}"
        else:
            self._values[name] = f"ARRAY::{old}|:{value}"

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value, looked up in the innermost application scope first."""
        for scope in reversed(self._scopes):
            if name in scope:
                return scope[name]
        return self._values.get(name, default)

    def push_scope(self, values: dict[str, str]) -> None:
        """Variables that hold only while one application runs (``%[name=value]arg``)."""
        self._scopes.append(values)

    def pop_scope(self) -> None:
        self._scopes.pop()

    def scoped(self) -> list[tuple[str, str]]:
        """The scope variables, innermost first, each name once (``scope_variable_*``)."""
        seen: dict[str, str] = {}
        for scope in reversed(self._scopes):
            for name, value in scope.items():
                seen.setdefault(name, value)
        return list(seen.items())

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._values.items()))

    def as_dict(self) -> dict[str, str]:
        """A copy, in order."""
        return dict(self._values)


# English names whatever the locale, as FreeSWITCH writes them.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

PROFILE_TIMES = (
    ("Profile-Created-Time", "profile_created"),
    ("Channel-Created-Time", "created"),
    ("Channel-Answered-Time", "answered"),
    ("Channel-Progress-Time", "progress"),
    ("Channel-Progress-Media-Time", "progress_media"),
    ("Channel-Hangup-Time", "hungup"),
    ("Channel-Transfer-Time", "transferred"),
    ("Channel-Resurrect-Time", "resurrected"),
    ("Channel-Bridged-Time", "bridged"),
    ("Channel-Last-Hold", "last_hold"),
    ("Channel-Hold-Accum", "hold_accum"),
)


@dataclass
class Profile:
    """A caller profile (``switch_caller_profile_t``): who calls whom, where, and when.

    Times are microseconds since the epoch, 0 when the moment has not come. An originated
    leg's profile has no index.
    """

    uuid: str
    channel_name: str
    caller_id_name: str
    caller_id_number: str
    destination_number: str
    direction: str = "inbound"
    logical_direction: str = "inbound"
    callee_id_name: str = "Outbound Call"
    callee_id_number: str = "default"
    source: str = "mod_loopback"
    context: str = "default"
    dialplan: str = "xml"
    rdnis: str = ""
    transfer_source: str = ""
    index: int | None = 1
    times: dict[str, int] = field(default_factory=dict)

    def headers(self, prefix: str) -> list[tuple[str, str]]:
        """The profile as ``<prefix>-*`` headers (``switch_caller_profile_event_set_data``)."""
        optional = [
            ("Direction", self.direction),
            ("Logical-Direction", self.logical_direction),
            ("Dialplan", self.dialplan),
            ("Caller-ID-Name", self.caller_id_name),
            ("Caller-ID-Number", self.caller_id_number),
            ("Orig-Caller-ID-Name", self.caller_id_name),
            ("Orig-Caller-ID-Number", self.caller_id_number),
            ("Callee-ID-Name", self.callee_id_name),
            ("Callee-ID-Number", self.callee_id_number),
            ("ANI", self.caller_id_number),
            ("Destination-Number", self.destination_number),
            ("Unique-ID", self.uuid),
            ("Source", self.source),
            ("Transfer-Source", self.transfer_source),
            ("Context", self.context),
            ("RDNIS", self.rdnis),
            ("Channel-Name", self.channel_name),
            ("Profile-Index", "" if self.index is None else str(self.index)),
        ]
        headers = [(f"{prefix}-{name}", value) for name, value in optional if value]
        headers += [
            (f"{prefix}-{name}", str(self.times.get(key, 0))) for name, key in PROFILE_TIMES
        ]
        headers += [
            (f"{prefix}-Screen-Bit", "true"),
            (f"{prefix}-Privacy-Hide-Name", "false"),
            (f"{prefix}-Privacy-Hide-Number", "false"),
        ]
        return headers


@dataclass
class Host:
    """The simulated FreeSWITCH box: its identity headers and its event sequence counter."""

    hostname: str = "simulator"
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    core_uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _sessions: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    global_variables: dict[str, str] = field(default_factory=dict)
    """``global_setvar``/``global_getvar``, and ``$${name}`` when no channel variable has it."""
    api_log: list[str] = field(default_factory=list)
    """Each API command run by variable expansion (``${command(arguments)}``), in order."""

    def api(self, command: str, arguments: str) -> str | None:
        """Run an API command met in variable expansion; None when there is no such command.

        The commands are those a probe of expansion needs: ``global_setvar name=value`` and
        ``global_getvar name``.
        """
        self.api_log.append(f"{command} {arguments}".rstrip())
        if command == "global_setvar":
            name, _, value = arguments.partition("=")
            self.global_variables[name.strip()] = value
            return ""
        if command == "global_getvar":
            return self.global_variables.get(arguments.strip(), "")
        return None

    def next_session_id(self) -> int:
        """The next ``session_id`` (FreeSWITCH numbers its sessions)."""
        return next(self._sessions)

    def event_prefix(self, name: str, clock: CallClock) -> list[tuple[str, str]]:
        """The headers every event starts with, stamped with the call's clock."""
        file, function, line = EVENT_SOURCES[name]
        wall = clock.wall()
        gmt = wall.astimezone(dt.UTC)
        return [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", self.ipv4),
            ("FreeSWITCH-IPv6", self.ipv6),
            ("Event-Date-Local", wall.strftime("%Y-%m-%d %H:%M:%S")),
            (
                "Event-Date-GMT",
                f"{_DAYS[gmt.weekday()]}, {gmt.day:02d} {_MONTHS[gmt.month - 1]} {gmt.year} "
                f"{gmt:%H:%M:%S} GMT",
            ),
            ("Event-Date-Timestamp", str(clock.micros())),
            ("Event-Calling-File", file),
            ("Event-Calling-Function", function),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(next(self._sequence))),
        ]
