"""One simulated call leg as FreeSWITCH runs it under ``socket ... async full``.

The channel plays FreeSWITCH's session thread: it parks once the controller has sent
``connect``, runs each queued ``sendmsg`` (nested inside a running application unless that one
holds ``event-lock``, as ``switch_ivr_parse_all_events`` does), fires the events of every step,
and ends with the hang-up sequence of the traces: CHANNEL_HANGUP, the running application's
EXECUTE_COMPLETE, CHANNEL_UNPARK, the ``socket`` application's EXECUTE_COMPLETE, CHANNEL_STATE
CS_HANGUP and CS_REPORTING, CHANNEL_HANGUP_COMPLETE.

While an application plays or waits, call time passes through ``pause``: the caller is
consulted about what they do meanwhile (keys become DTMF in the channel's queue, a hang-up ends
the call), nested commands run, and the clock either sleeps or, in virtual time, jumps.
The applications themselves live in ``apps.py`` and ``bridge.py``.
"""

from __future__ import annotations

import dataclasses
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.runtime.memory import DEFAULT_TALK_SECONDS, KEY_SECONDS
from ivr.simulator.caller import ALL_KEYS, Action, Caller, Listen
from ivr.simulator.causes import cause_name, q850
from ivr.simulator.clock import CallClock
from ivr.simulator.commands import ESLCommand
from ivr.simulator.events import WITHOUT_VARIABLES, Host, Profile, Variables
from ivr.simulator.media import Piece, resolve
from ivr.simulator.parsing import atoi, expand_variables, split_scope
from ivr.simulator.recording import RATE, Recorder

__all__ = ["Application", "LineSettings", "SimulatedChannel"]

EPSILON = 1e-6
"""Call seconds below which two moments are the same."""
DTMF_DURATION = "2000"
DTMF_SOURCE = "UNKNOWN"
"""What the traces show for keys pressed on the other loopback leg."""
LOOP_MIN_SECONDS = 0.5
"""A ``loops`` execute stops repeating an application that ran shorter than this."""
_STATE_NUMBERS = {"CS_ROUTING": 2, "CS_EXECUTE": 4, "CS_HANGUP": 10, "CS_REPORTING": 11}
_TRUE = {"yes", "on", "true", "t", "enabled", "active", "allow"}


def is_true(value: str | None) -> bool:
    """``switch_true``: yes, on, true, t, enabled, active, allow, or a non-zero number."""
    if not value:
        return False
    return value.lower() in _TRUE or (value.lstrip("+-").isdigit() and atoi(value) != 0)


@dataclass(frozen=True)
class Application:
    """A dialplan application the simulated FreeSWITCH can run.

    Attributes:
        run: does the work, given the channel and the expanded argument.
        needs_media: FreeSWITCH pre-answers an unanswered call before running it.
    """

    run: Callable[[SimulatedChannel, str], None]
    needs_media: bool = False


@dataclass
class LineSettings:
    """What the simulated FreeSWITCH knows beyond the call itself.

    Attributes:
        host: identity headers and event counters of the simulated box.
        agents: how each endpoint's phone behaves (``available``, ``busy``, ``no_answer``,
            ``logged_out``, ``no_route``).
        default_agent: the behaviour of endpoints not in ``agents``.
        sounds_dir: where relative sound file names are found.
        time_limit: simulated seconds after which the caller gives up on a call that is still
            going.
    """

    host: Host
    agents: dict[str, str] = field(default_factory=dict)
    default_agent: str = "no_route"
    sounds_dir: Path = field(default_factory=Path.cwd)
    time_limit: float = 4 * 3600.0


class SimulatedChannel:
    """The simulated FreeSWITCH channel of one call.

    Args:
        profile: who calls and what they dialed; ``uuid`` and ``channel_name`` included.
        clock: the call's clock.
        caller: the person on the line.
        settings: agents, sounds and limits shared by the simulator's calls.
        socket_data: the ``socket`` application's argument (``127.0.0.1:8084 async full``).
        transcript: called with (who, text) for each line of the call's transcript.
        applications: the dialplan applications by name.
    """

    def __init__(
        self,
        profile: Profile,
        clock: CallClock,
        caller: Caller,
        settings: LineSettings,
        socket_data: str,
        transcript: Callable[[str, str], None],
        applications: dict[str, Application],
    ) -> None:
        self.profile = profile
        self.uuid = profile.uuid
        self.clock = clock
        self.caller = caller
        self.settings = settings
        self.socket_data = socket_data
        self.log = transcript
        self.applications = applications
        self.variables = Variables()
        self.hangup_cause: str | None = None
        self.other_leg: Profile | None = None
        self.deliver: Callable[[str, list[tuple[str, str]]], None] = lambda name, headers: None
        self.controlled = True
        self.transferred_to = ""
        self.recorder = Recorder()
        self._leaving = False
        self._running_state = "CS_EXECUTE"
        self._state_number = 4
        self._call_state = "RINGING"
        self._answer_state = "ringing"
        self._queue: deque[ESLCommand] = deque()
        self._dtmf: deque[str] = deque()
        self._dtmf_log: list[str] = []
        self._locks = 0
        self._break = False
        self._broadcast = False
        self._stop_broadcast = False
        self._bridged = False
        self._socket_uuid = str(uuidlib.uuid4())
        self._app_log: list[tuple[str, str]] = []
        profile.times["created"] = profile.times["profile_created"] = clock.micros(0.0)
        self._set_initial_variables(socket_data)

    def _set_initial_variables(self, socket_data: str) -> None:
        host = socket_data.split(" ")[0].rsplit(":", 1)[0]
        for name, value in (
            ("direction", "inbound"),
            ("uuid", self.uuid),
            ("session_id", str(self.settings.host.next_session_id())),
            ("channel_name", self.profile.channel_name),
            ("read_codec", "L16"),
            ("read_rate", "8000"),
            ("write_codec", "L16"),
            ("write_rate", "8000"),
            ("origination_caller_id_number", self.profile.caller_id_number),
            ("origination_caller_id_name", self.profile.caller_id_name),
            ("other_loopback_leg_uuid", str(uuidlib.uuid4())),
            ("loopback_leg", "B"),
            ("call_uuid", self.uuid),
            ("current_application_data", socket_data),
            ("current_application", "socket"),
            ("socket_host", host),
        ):
            self.variables.set(name, value)

    # ------------------------------------------------------------ state

    @property
    def ready(self) -> bool:
        """Up and still in the IVR's hands (``switch_channel_ready``)."""
        return self.hangup_cause is None and not self._leaving

    @property
    def answered(self) -> bool:
        return self._answer_state == "answered"

    def now(self) -> float:
        """Call seconds now."""
        return self.clock.elapsed()

    # ------------------------------------------------------------ events

    def headers(
        self,
        name: str,
        *,
        before: list[tuple[str, str]] | None = None,
        extra: list[tuple[str, str]] | None = None,
        prefix: str = "",
    ) -> list[tuple[str, str]]:
        """The headers of event ``name`` about this channel, in FreeSWITCH's order.

        Args:
            name: the event name.
            before: headers FreeSWITCH adds ahead of the channel data (Bridge-A-Unique-ID).
            extra: the event's own headers, after the variables.
            prefix: also list the caller profile under this prefix first (the connect reply's
                ``Channel-*`` block).
        """
        headers = self.settings.host.event_prefix(name, self.clock)
        headers += before or []
        if prefix:
            headers += self.profile.headers(prefix)
        headers += [
            ("Channel-State", self._running_state),
            ("Channel-Call-State", self._call_state),
            ("Channel-State-Number", str(self._state_number)),
            ("Channel-Name", self.profile.channel_name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", "inbound"),
            ("Presence-Call-Direction", "inbound"),
            ("Channel-HIT-Dialplan", "true"),
            ("Channel-Call-UUID", self.variables.get("call_uuid", self.uuid)),
            ("Answer-State", self._answer_state),
        ]
        if self.hangup_cause:
            headers.append(("Hangup-Cause", self.hangup_cause))
        for direction in ("Read", "Write"):
            headers += [
                (f"Channel-{direction}-Codec-Name", "L16"),
                (f"Channel-{direction}-Codec-Rate", "8000"),
                (f"Channel-{direction}-Codec-Bit-Rate", "128000"),
            ]
        headers += self.profile.headers("Caller")
        if self.other_leg is not None:
            headers.append(("Other-Type", "originatee"))
            headers += self.other_leg.headers("Other-Leg")
        if name not in WITHOUT_VARIABLES:
            headers += [(f"scope_variable_{key}", value) for key, value in self.variables.scoped()]
            headers += [(f"variable_{key}", value) for key, value in self.variables]
        return headers + (extra or [])

    def fire(
        self,
        name: str,
        *,
        before: list[tuple[str, str]] | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        """Fire an event about this channel; the connection sends it if subscribed."""
        self.deliver(name, self.headers(name, before=before, extra=extra))

    def connect_reply_headers(self) -> list[tuple[str, str]]:
        """The CHANNEL_DATA block FreeSWITCH answers ``connect`` with."""
        return self.headers("CHANNEL_DATA", prefix="Channel")

    # ------------------------------------------------------------ commands from the socket

    def queue(self, command: ESLCommand) -> None:
        """A ``sendmsg`` for this channel: run it when the session gets to it."""
        self._queue.append(command)
        self.clock.poke()

    def break_media(self, *, flush: bool) -> None:
        """``uuid_break``: stop what plays; with ``flush`` also drop the queued commands."""
        if flush:
            self._queue.clear()
        if self._broadcast:
            self._stop_broadcast = True
        self._break = True
        self.clock.poke()

    def release(self) -> None:
        """The controller is gone (``exit`` or a closed socket): the socket application ends."""
        self.controlled = False
        self.clock.settle = 0.0
        self.clock.poke()

    # ------------------------------------------------------------ the session

    def run(self, connected: Callable[[], bool], controller_idle: Callable[[], None]) -> None:
        """Run the call until its channel is gone.

        Args:
            connected: whether the controller has sent ``connect``; the session waits for it.
            controller_idle: blocks until the controller has sent a command or been quiet for a
                moment (the socket application parks a little after ``connect``).
        """
        while True:
            self.clock.wakeup.clear()
            if connected() or not self.controlled:
                break
            self.clock.sleep_until(None)
        if not connected():
            self.log("system", "the controller closed the connection before 'connect'")
            self.hangup("NORMAL_CLEARING")
        else:
            controller_idle()
            self._park()
        if self.ready:
            # Nothing follows ``socket`` in the simulated dialplan: the call ends there.
            self.log("system", "the controller let go of the call; it ends")
            self.hangup("NORMAL_CLEARING")
        if self.transferred_to and self.hangup_cause is None:
            self._after_transfer()
        self._report()

    def _park(self) -> None:
        self.fire("CHANNEL_PARK")
        while self.ready and self.controlled:
            self.clock.wakeup.clear()
            self._sync()
            if self._run_queued():
                # Right after an application FreeSWITCH's park loop takes a queued key, before
                # the controller can have sent the next command (switch_ivr_park): a key
                # typed ahead is dropped there, with its DTMF event.
                if self._dtmf:
                    self.dequeue_dtmf()
                continue
            if self._dtmf:
                self.dequeue_dtmf()
                continue
            action = self.caller.next_action(Listen())
            if action is not None and action.kind != "wake" and action.at <= self.now() + EPSILON:
                self._perform(action)
                continue
            self.clock.sleep_until(None)
        self.fire("CHANNEL_UNPARK")
        response = self.variables.get("current_application_response", "_none_")
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            extra=[
                ("Application", "socket"),
                ("Application-Data", self.socket_data),
                ("Application-Response", response),
                ("Application-UUID", self._socket_uuid),
            ],
        )

    def _set_state(self, state: str) -> None:
        self._running_state = state
        self._state_number = _STATE_NUMBERS[state]
        if state == "CS_ROUTING":
            self._call_state = "RINGING"
        elif state == "CS_EXECUTE" and self.answered:
            self._call_state = "ACTIVE"
        self.fire("CHANNEL_STATE")

    def _after_transfer(self) -> None:
        """The call runs on in the destination's extension, out of the controller's hands."""
        self._leaving = False
        self._set_state("CS_ROUTING")
        self._set_state("CS_EXECUTE")
        # The controller's session still reaches the channel there (FreeSWITCH runs a hangup
        # it sends while the destination's application runs): commands run meanwhile.
        self.talk("system", self.transferred_to, commands=True)
        self.hangup("NORMAL_CLEARING")

    def _report(self) -> None:
        """CS_HANGUP, CS_REPORTING and CHANNEL_HANGUP_COMPLETE with the call's CDR variables."""
        cause = self.hangup_cause or "NORMAL_CLEARING"
        self._set_state("CS_HANGUP")
        for path in self.recorder.paths:
            # What FreeSWITCH 1.11 says of a recording closed by the hang-up.
            self.stop_recording(path, "success-silence")
        self.variables.set("hangup_cause", cause)
        self.variables.set("hangup_cause_q850", str(q850(cause)))
        self.profile.times["hungup"] = self.clock.micros()
        self._call_state = "HANGUP"
        self._set_state("CS_REPORTING")
        self._set_cdr_variables()
        self.fire("CHANNEL_HANGUP_COMPLETE", before=[("Hangup-Cause", cause)])

    def _set_cdr_variables(self) -> None:
        """The variables ``switch_channel_set_timestamps`` adds when the call is over."""
        times = self.profile.times
        created = times["created"]

        def stamp(micros: int) -> str:
            return self.clock.wall((micros - created) / 1e6).strftime("%Y-%m-%d %H:%M:%S")

        def epoch(name: str, key: str) -> None:
            self.variables.set(f"{name}_epoch", str(times.get(key, 0) // 1_000_000))
            self.variables.set(f"{name}_uepoch", str(times.get(key, 0)))

        self.variables.set("digits_dialed", "".join(self._dtmf_log[:128]) or "none")
        for name, key in (
            ("start", "created"),
            ("profile_start", "profile_created"),
            ("answer", "answered"),
            ("bridge", "bridged"),
            ("progress", "progress"),
            ("progress_media", "progress_media"),
            ("end", "hungup"),
        ):
            if times.get(key):
                self.variables.set(f"{name}_stamp", stamp(times[key]))
        for name, key in (
            ("start", "created"),
            ("profile_start", "profile_created"),
            ("answer", "answered"),
            ("bridge", "bridged"),
            ("last_hold", "last_hold"),
        ):
            epoch(name, key)
        for name in ("hold_accum_seconds", "hold_accum_usec", "hold_accum_ms"):
            self.variables.set(name, "0")
        for name, key in (
            ("resurrect", "resurrected"),
            ("progress", "progress"),
            ("progress_media", "progress_media"),
            ("end", "hungup"),
        ):
            epoch(name, key)
        last_app, last_arg = self._app_log[-1] if self._app_log else ("", "")
        self.variables.set("last_app", last_app)
        self.variables.set("last_arg", last_arg)
        self.variables.set(
            "caller_id", f'"{self.profile.caller_id_name}" <{self.profile.caller_id_number}>'
        )
        hungup = times["hungup"]
        answered = times.get("answered", 0)

        def spans(divisor: int) -> list[int]:
            def span(start: int, end: int) -> int:
                return end // divisor - start // divisor if start and end else 0

            return [
                span(created, hungup),
                span(answered, hungup),
                span(created, times.get("progress", 0)),
                span(created, answered),
                span(created, times.get("bridged", 0)),
                span(created, times.get("progress_media", 0)),
                span(created, hungup) if answered else 0,
            ]

        names = ("bill{}", "progress{}", "answer{}", "wait{}", "progress_media{}", "flow_bill{}")
        for unit, total, divisor in (
            ("sec", "duration", 1_000_000),
            ("msec", "mduration", 1000),
            ("usec", "uduration", 1),
        ):
            values = spans(divisor)
            self.variables.set(total, str(values[0]))
            for name, value in zip(names, values[1:], strict=True):
                self.variables.set(name.format(unit), str(value))
        self.variables.set("is_loopback", "1")

    # ------------------------------------------------------------ executing commands

    def _run_queued(self, *, nested: bool = False) -> bool:
        """Run the queued commands (``switch_ivr_parse_all_events``); True if one ran.

        Inside an application nothing runs while a command holding ``event-lock`` is active.
        """
        if nested and self._locks:
            return False
        ran = False
        while self._queue and self.controlled and not (nested and self._locks):
            self._parse_event(self._queue.popleft())
            ran = True
        return ran

    def _parse_event(self, command: ESLCommand) -> None:
        """Carry out one ``sendmsg`` (``switch_ivr_parse_event``)."""
        headers = command.headers
        call_command = (headers.get("call-command") or "").lower()
        locked = is_true(headers.get("event-lock"))
        self._locks += locked
        try:
            if call_command == "execute":
                self._execute_command(command)
            elif call_command == "hangup":
                cause = cause_name(headers.get("hangup-cause"))
                if self.hangup_cause is None:
                    self.log(
                        "ivr", "hangs up" + ("" if cause == "NORMAL_CLEARING" else f" ({cause})")
                    )
                self.hangup(cause)
        finally:
            self._locks -= locked

    def _execute_command(self, command: ESLCommand) -> None:
        headers = command.headers
        app = headers.get("execute-app-name")
        if not app:
            return
        arg = headers.get("execute-app-arg")
        content_type = (headers.get("content-type") or "").lower()
        if not arg and content_type == "text/plain":
            arg = command.body
        loops = atoi(headers["loops"]) if "loops" in headers else 1
        self._stop_broadcast = False
        inner = not self._bridged
        if not self._broadcast:
            self._broadcast = True
            inner = False
        done = 0
        while loops < 0 or done < loops:
            started = self.now()
            self.variables.set("current_loop", str(done + 1))
            self.variables.set("total_loops", str(loops))
            if not self.execute(
                app, arg, headers.get("event-uuid"), headers.get("event-uuid-name")
            ):
                break
            done += 1
            if not self.ready or self._stop_broadcast or self.now() - started < LOOP_MIN_SECONDS:
                break
        self.variables.set("current_loop", None)
        self.variables.set("total_loops", None)
        if not inner:
            self._broadcast = False
        if self._stop_broadcast:
            self._broadcast = False
            self._break = True

    def expand(self, text: str) -> str:
        """The text with its variables expanded (and API commands in it run), as FreeSWITCH does."""
        host = self.settings.host

        def lookup(name: str) -> str | None:
            value = self.variables.get(name)
            return host.global_variables.get(name) if value is None else value

        return expand_variables(text, lookup, host.api)

    def execute(
        self, name: str, arg: str | None, event_uuid: str | None, uuid_name: str | None = None
    ) -> bool:
        """Run one application with its EXECUTE and EXECUTE_COMPLETE events.

        Returns False when it could not run: the line is down, or FreeSWITCH has no such
        application (the call is then hung up with DESTINATION_OUT_OF_ORDER, as FreeSWITCH does).
        """
        if self.hangup_cause is not None:
            return False
        application = self.applications.get(name.lower())
        if application is None:
            self.log("system", f"the simulated FreeSWITCH has no application '{name}'")
            self.hangup("DESTINATION_OUT_OF_ORDER")
            return False
        if application.needs_media:
            self.ensure_media()
        expanded = None
        scope = None
        if arg:
            disabled = is_true(self.variables.get("app_disable_expand_variables"))
            expanded = arg if disabled else self.expand(arg)
            scope = None if disabled else split_scope(expanded)
        if scope is not None:
            values, expanded = scope
            self.variables.push_scope(values)
        app_uuid = event_uuid or str(uuidlib.uuid4())
        identity = [("Application-UUID", app_uuid)]
        if uuid_name:
            identity.append(("Application-UUID-Name", uuid_name))
        data = [("Application-Data", expanded)] if expanded else []
        self._app_log.append((name, expanded or ""))
        self.variables.set("current_application", name)
        self.variables.set("current_application_data", expanded)
        self.variables.set("current_application_response", None)
        self.fire("CHANNEL_EXECUTE", extra=[("Application", name), *data, *identity])
        self._break = False
        self.variables.set("current_application", name)
        application.run(self, expanded or "")
        response = self.variables.get("current_application_response", "_none_")
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            extra=[("Application", name), *data, ("Application-Response", response), *identity],
        )
        if scope is not None:
            self.variables.pop_scope()
        return True

    # ------------------------------------------------------------ the line

    def ensure_media(self) -> None:
        """Pre-answer a call that still rings (``switch_channel_pre_answer``)."""
        if self._answer_state == "ringing":
            self.pre_answer()

    def pre_answer(self) -> None:
        """Early media before an application that needs it (CHANNEL_PROGRESS_MEDIA)."""
        self._answer_state = "early"
        self.profile.times["progress_media"] = self.clock.micros()
        self.fire("CHANNEL_PROGRESS_MEDIA")
        self._call_state = "EARLY"

    def answer(self) -> None:
        """Answer the call (CHANNEL_ANSWER), once."""
        if self.answered or self.hangup_cause is not None:
            return
        self._answer_state = "answered"
        self.recorder.answered(self.now())
        self.profile.times["answered"] = self.clock.micros()
        self.fire("CHANNEL_ANSWER")
        self._call_state = "ACTIVE"
        self.variables.set("endpoint_disposition", "ANSWER")
        self.log("ivr", "answers")

    def hangup(self, cause: str) -> None:
        """Hang the channel up with ``cause`` (CHANNEL_HANGUP); later calls change nothing."""
        if self.hangup_cause is not None:
            return
        self.hangup_cause = cause
        self._state_number = _STATE_NUMBERS["CS_HANGUP"]
        self._answer_state = "hangup"
        self.fire("CHANNEL_HANGUP")
        self.clock.poke()

    def stop_recording(self, path: str, cause: str) -> bool:
        """Close the recording ``path`` now with RECORD_STOP; False when there is none.

        As ``send_record_stop_event``: the ``record_*`` variables first, then the event. A
        recording that holds no sample is deleted (``RECORD_DISCARDED``).
        """
        frames = self.recorder.stop(path, self.now())
        if frames is None:
            return False
        self.variables.set("record_file_size", str(Path(path).stat().st_size))
        if not frames:
            Path(path).unlink(missing_ok=True)
            self.variables.set("RECORD_DISCARDED", "true")
            cause = "empty-file"
        self.variables.set("record_samples", str(frames))
        self.variables.set("record_seconds", str(frames // RATE))
        self.variables.set("record_ms", str(frames // (RATE // 1000)))
        self.variables.set("record_completion_cause", cause)
        self.log("ivr", f"stops recording {path} ({frames / RATE:g}s)")
        self.fire(
            "RECORD_STOP",
            extra=[("Record-File-Path", path), ("Record-Completion-Cause", cause)],
        )
        return True

    def transfer(self, destination: str, dialplan: str, context: str) -> None:
        """Leave the IVR for another extension (``switch_ivr_session_transfer``)."""
        forwards = atoi(self.variables.get("max_forwards") or "70") - 1
        if forwards <= 0:
            self.hangup("EXCHANGE_ROUTING_ERROR")
            return
        self.variables.set("max_forwards", str(forwards))
        now = self.clock.micros()
        source = f"{now // 1_000_000}:{self.uuid}:bl_xfer:{destination}/{context}/{dialplan}"
        self.profile.times["transferred"] = now
        self.profile = dataclasses.replace(
            self.profile,
            rdnis=self.profile.destination_number,
            destination_number=destination,
            context=context,
            dialplan=dialplan,
            transfer_source=source,
            index=(self.profile.index or 0) + 1,
            times={**self.profile.times, "profile_created": now},
        )
        self.variables.push("transfer_history", source)
        self.variables.set("transfer_source", source)
        self._state_number = _STATE_NUMBERS["CS_ROUTING"]
        self.transferred_to = destination
        self._leaving = True
        self.clock.poke()

    def receive_dtmf(self, key: str) -> None:
        """A key from the caller reaches the channel's DTMF queue."""
        self._dtmf.append(key)
        self._dtmf_log.append(key)
        self.recorder.key(self.now(), key)
        self.clock.poke()

    def dequeue_dtmf(self) -> str:
        """Take the next queued key (FreeSWITCH fires the DTMF event here)."""
        key = self._dtmf.popleft()
        self.fire(
            "DTMF",
            extra=[
                ("DTMF-Digit", key),
                ("DTMF-Duration", DTMF_DURATION),
                ("DTMF-Source", DTMF_SOURCE),
            ],
        )
        return key

    def has_dtmf(self) -> bool:
        return bool(self._dtmf)

    def flush_dtmf(self) -> None:
        self._dtmf.clear()

    def take_break(self) -> bool:
        """True once after ``uuid_break`` asked the playing media to stop."""
        if self._break:
            self._break = False
            return True
        return False

    def set_bridged(self, other: Profile | None) -> None:
        """Bridged to ``other`` (None: unbridged); its profile stays in later events."""
        self._bridged = other is not None
        self.recorder.bridged(self.now(), self._bridged)
        if other is not None:
            self.other_leg = other

    def terminators(self) -> str:
        """The keys that stop a playback now (``playback_terminators``; default ``*``)."""
        value = self.variables.get("playback_terminators") or "*"
        if value.lower() == "any":
            return "1234567890*#"
        if value.lower() == "none":
            return ""
        return value

    def sounds_dir(self) -> Path:
        prefix = self.variables.get("sound_prefix")
        return Path(prefix) if prefix else self.settings.sounds_dir

    def pieces(self, target: str) -> list[Piece]:
        """What ``target`` plays (see ``ivr.simulator.media.resolve``)."""
        return resolve(target, self.sounds_dir())

    # ------------------------------------------------------------ time and the caller

    def _sync(self) -> None:
        """Bring the caller and the recordings up to now; give up a call past the time limit."""
        now = self.now()
        self.caller.advance(now)
        for path in self.recorder.due(now):
            # A recording's limit ran out: FreeSWITCH calls it "success-maxtime".
            self.stop_recording(path, "success-maxtime")
        if now >= self.settings.time_limit - EPSILON and self.hangup_cause is None:
            self.log(
                "system",
                f"stopped: the call ran past {self.settings.time_limit / 3600:g} hours "
                "of simulated time",
            )
            self.log("caller", "hangs up")
            self.hangup("NORMAL_CLEARING")

    def _perform(self, action: Action) -> None:
        text = self.caller.act(action)
        if text:
            self.log("caller", text)
        if action.kind == "key":
            self.receive_dtmf(action.key)
        elif action.kind == "hangup":
            self.hangup("NORMAL_CLEARING")

    def hangup_point(self) -> bool:
        """A moment the caller may hang up at (before a prompt piece, a wait, a recording).

        Returns True when the line is down afterwards.
        """
        if self.hangup_cause is None and self.caller.hangs_up_here():
            self.log("caller", "hangs up")
            self.hangup("NORMAL_CLEARING")
        return not self.ready

    def caller_finishes_entry(self, terminators: str) -> None:
        """A terminator the caller typed right after a full entry reaches the line with it."""
        key = self.caller.finishes_entry(terminators)
        if key:
            self.receive_dtmf(key)

    def pause(
        self,
        seconds: float | None,
        listen: Listen,
        *,
        keys_stop: bool,
        nested: bool = True,
        breaks: bool = True,
        until: Callable[[], bool] | None = None,
    ) -> float:
        """Let up to ``seconds`` of call time pass (None: no limit) while media plays or waits.

        Queued commands run nested meanwhile (``nested``), and the caller acts as ``listen``
        lets them. Stops early when the line goes down, ``uuid_break`` asks (``breaks``: for
        media that uuid_break stops), a key is queued (``keys_stop``) or ``until`` holds.

        Returns:
            The call seconds that passed for the pausing application (nested ones excluded).
        """
        spent = 0.0
        while True:
            self.clock.wakeup.clear()
            self._sync()
            if not self.ready or (breaks and self._break) or (keys_stop and self._dtmf):
                return spent
            if until is not None and until():
                return spent
            if nested and self._run_queued(nested=True):
                continue
            now = self.now()
            # A key due as the time runs out still counts: a caller pressing at the very end
            # of a prompt stops it.
            action = self.caller.next_action(listen)
            if action is not None and action.kind != "wake" and action.at <= now + EPSILON:
                self._perform(action)
                continue
            left = None if seconds is None else seconds - spent
            if left is not None and left <= EPSILON:
                return spent
            target = self.settings.time_limit
            if left is not None:
                target = min(target, now + left)
            if action is not None:
                target = min(target, action.at)
            deadline = self.recorder.deadline()
            if deadline is not None:
                target = min(target, deadline)
            self.clock.sleep_until(target)
            spent += self.now() - now

    def wait_out(self, seconds: float) -> float:
        """Let ``seconds`` pass while the caller only waits (ringing, an agent's whisper).

        ``uuid_break`` does not cut it short, and queued commands wait their turn.

        Returns:
            The seconds that passed (fewer when the line went down).
        """
        return self.pause(
            seconds, Listen(waiting=True), keys_stop=False, nested=False, breaks=False
        )

    def listen_for(self, keys: str, *, prompt_left: float | None, since: float) -> Listen:
        """How the caller sees a piece: a prompt heard to its end, or a wait."""
        if prompt_left is not None:
            return Listen(keys=keys, key_from=self.now() + prompt_left)
        return Listen(keys=keys, key_from=since + KEY_SECONDS, waiting=True)

    def talk(self, who: str, other: str, *, commands: bool = False) -> None:
        """The caller talks to ``other`` until one of them hangs up.

        Keys pressed meanwhile pass through as DTMF. Once the caller has nothing more to do,
        ``other`` hangs up ``DEFAULT_TALK_SECONDS`` later (as in memory.py). With ``commands``
        the controller's commands run meanwhile (a hangup ends the talk).
        """
        listen = Listen(keys=ALL_KEYS, key_from=self.now() + KEY_SECONDS, waiting=True)
        quiet_from: float | None = None
        while True:
            while self._dtmf:
                self.dequeue_dtmf()
            if self.hangup_cause is not None:
                return
            if not self.caller.idle:
                quiet_from = None
                self.pause(
                    None,
                    listen,
                    keys_stop=True,
                    nested=commands,
                    breaks=False,
                    until=lambda: self.caller.idle,
                )
                continue
            if quiet_from is None:
                quiet_from = self.now()
            left = quiet_from + DEFAULT_TALK_SECONDS - self.now()
            if left <= EPSILON:
                self.log(who, f"{other} hangs up")
                return
            self.pause(
                left,
                listen,
                keys_stop=True,
                nested=commands,
                breaks=False,
                until=lambda: not self.caller.idle,
            )
