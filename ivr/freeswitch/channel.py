"""The Channel protocol over FreeSWITCH's outbound event socket.

Each operation is one or a few dialplan applications run with ``sendmsg`` and awaited by
``Application-UUID``; results are read from the variables of the CHANNEL_EXECUTE_COMPLETE that
ends them (never from older events: FreeSWITCH leaves stale values behind, e.g.
``read_terminator_used`` after a timeout). The call clock is FreeSWITCH's own, from event
timestamps, so a simulated FreeSWITCH can run a ten-minute wait in milliseconds.

Keys typed ahead: between two applications the channel sits in the socket application's park
loop, which takes a queued key and drops it (``switch_ivr_park``: one right after each
application, then one per 20 ms frame until the next command comes). Its DTMF event still
reaches us, so keys seen while no application runs are kept here and go to the next collection,
as the caller meant them; nothing the caller typed while a lookup ran or a prompt ended is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid as uuidlib
from collections.abc import Callable

import gevent
import gevent.event

from ivr.flow.config import DEFAULT_HOLD_MUSIC
from ivr.freeswitch import apps, commands
from ivr.freeswitch.session import OutboundSession, SessionClosed
from ivr.prompts.files import PromptFiles
from ivr.runtime.channel import (
    BridgeResult,
    CallEnded,
    CallInfo,
    ChannelError,
    Collected,
    RecordResult,
    Utterance,
    split_entry,
)

log = logging.getLogger("ivr.freeswitch")

DIGITS_VARIABLE = "ivr_digits"
BEEP = "tone_stream://%(500,0,800)"
RECORD_CLOSE_SECONDS = 5.0
"""How long to wait for FreeSWITCH to close a recording (RECORD_STOP) at the call's end."""
_BRIDGE_STATUS = {
    "SUCCESS": "answered",
    "USER_BUSY": "busy",
    "NO_ANSWER": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
    "ORIGINATOR_CANCEL": "failed",
}


class FreeSwitchChannel:
    """A live call on FreeSWITCH, driven through one outbound-socket session."""

    def __init__(
        self,
        session: OutboundSession,
        prompts: PromptFiles,
        transfer_context: str = "default",
        clock_shift: dt.timedelta = dt.timedelta(0),
    ) -> None:
        data = session.channel_data or {}
        # How far the call's clock runs ahead of FreeSWITCH's: a rehearsal of another day
        # (ivr test --via-freeswitch of a case with ``at:``) sees that day's hours.
        self.clock_shift = clock_shift
        self.session = session
        self.prompts = prompts
        self.transfer_context = transfer_context
        self.info = CallInfo(
            call_id=session.uuid,
            caller=data.get("Caller-Caller-ID-Number", ""),
            caller_name=data.get("Caller-Caller-ID-Name", ""),
            dialed=data.get("Caller-Destination-Number", ""),
        )
        self._terminators: str | None = None
        self.transferred = False
        """The call was handed to the dialplan: it is no longer the controller's to hang up."""
        self._keys_heard: list[str] | None = None
        self._app_running = False
        # Keys FreeSWITCH dropped while no application ran, oldest first; those that came
        # before a playback or collection began (seen after it was sent) move to _ahead_of_app.
        self._typed_ahead = ""
        self._ahead_of_app = ""
        # The terminators of an entry that ended at its maximum length: the caller's terminator
        # after it ends that entry and is no key for the next one (as split_entry treats it).
        self._entry_may_end = ""
        self._bridge_events: dict[str, dt.datetime] = {}
        self._answered_leg = ""
        self._bridge_legs: dict[str, str] = {}
        self._on_answer: Callable[[str], None] | None = None
        # A wake (an agent became free) stops the hold music with uuid_break, once the wait's
        # playback has started: a break that came earlier would be lost.
        self._woken = False
        self._waiting = False
        self._wait_started = False
        self._break_sent = False
        self._missing_music: set[str] = set()
        # Set by each recording's RECORD_STOP: FreeSWITCH has written and closed the file.
        self._recordings_closed: dict[str, gevent.event.Event] = {}
        session.on_event(self._watch)

    def now(self) -> dt.datetime:
        # After a lost connection no event tells the time any more: the call ended when the
        # connection did, not at FreeSWITCH's last event (maybe minutes earlier, on hold).
        at = self.session.lost_at or self.session.last_event_time or dt.datetime.now(dt.UTC)
        return at + self.clock_shift

    def _files(self, prompts: list[Utterance]) -> list[str]:
        return [self.prompts.path_for(u) for u in prompts]

    def _set_terminators(self, keys: str) -> None:
        value = apps.terminators(keys)
        if value != self._terminators:
            self.session.execute("set", apps.set_var("playback_terminators", value), wait=False)
            self._terminators = value

    def _playback(self, target: str) -> dict:
        done = self.session.execute("playback", target)
        response = done.get("Application-Response", "")
        # A hang-up always shows as CHANNEL_HANGUP before the playback completes.
        if self.session.hungup.is_set():
            raise self.session.hung_up_error()
        if response == "FILE NOT FOUND":
            log.warning("[%s] prompt file not found: %s", self.info.call_id, target)
        elif response == "PLAYBACK ERROR":
            log.warning("[%s] playback of %s failed", self.info.call_id, target)
        return done

    def _take_typed_ahead(self) -> str:
        """The keys typed ahead since the last look, less a late terminator of a full entry."""
        keys, self._typed_ahead = self._typed_ahead, ""
        return self._after_entry(keys)

    def _take_ahead_of_app(self) -> str:
        """Keys FreeSWITCH dropped before the application that just ended had begun."""
        keys, self._ahead_of_app = self._ahead_of_app, ""
        return self._after_entry(keys)

    def _after_entry(self, keys: str) -> str:
        """``keys`` less the terminator that ends the full-length entry before them."""
        if keys[:1] and keys[0] in self._entry_may_end:
            keys = keys[1:]
        if keys:
            self._entry_may_end = ""
        return keys

    def _keep_typed_ahead(self, keys: str) -> None:
        """Put keys back at the front of what was typed ahead (for the next collection)."""
        self._typed_ahead = keys + self._typed_ahead

    def answer(self) -> None:
        # Not awaited: the prompt after it starts in the same tick of FreeSWITCH's park loop.
        self.session.execute("answer", wait=False)

    def play(self, prompts: list[Utterance], *, barge_in: bool, keys: str = "") -> str:
        if not prompts:
            return ""
        ahead = self._take_typed_ahead()
        if barge_in and ahead:
            # The caller pressed before the prompt began: it is stopped before it starts.
            self._keep_typed_ahead(ahead[1:])
            return ahead[0]
        if not barge_in:
            return self._play_for_keys(prompts, keys, ahead)
        self._set_terminators("0123456789*#")
        done = self._playback(apps.playback_target(self._files(prompts)))
        late = self._take_ahead_of_app()
        used = done.get("variable_playback_terminator_used") or ""
        if late:
            self._keep_typed_ahead(late[1:] + used)
            return late[0]
        return used

    def _play_for_keys(self, prompts: list[Utterance], keys: str, ahead: str) -> str:
        """Prompts only ``keys`` stop; the first of them pressed is returned, others are lost.

        FreeSWITCH's playback eats the keys pressed over a prompt that are no terminator, as
        it does those of a prompt that cannot be stopped at all (no ``keys``).
        """
        pressed = next((key for key in ahead if key in keys), "")
        if pressed:
            return pressed
        self._set_terminators(keys)
        done = self._playback(apps.playback_target(self._files(prompts)))
        late = next((key for key in self._take_ahead_of_app() if key in keys), "")
        used = done.get("variable_playback_terminator_used") or ""
        return late or (used if used and used in keys else "")

    def collect(
        self,
        prompts: list[Utterance],
        *,
        max_digits: int,
        timeout: float,
        digit_timeout: float,
        terminators: str,
    ) -> Collected:
        ahead = self._take_typed_ahead()
        entry = split_entry(ahead, max_digits, terminators)
        if entry is not None:
            collected, rest = entry
            self._keep_typed_ahead(rest)
            return self._entered(collected, terminators, max_digits)
        files = self._files(prompts) or ["silence_stream://250"]
        if ahead:
            # The caller has begun the entry: a key stops the prompt, so it is not played.
            files, timeout = ["silence_stream://250"], digit_timeout
        arg = apps.play_and_get_digits(
            min_digits=1,
            max_digits=max_digits - len(ahead),
            timeout=timeout,
            terminator_keys=terminators,
            prompt=apps.playback_target(files),
            variable=DIGITS_VARIABLE,
            digit_timeout=digit_timeout,
        )
        # The keys themselves tell which terminator ended the entry: FreeSWITCH leaves
        # read_terminator_used stale after a timeout or an entry of the maximum length.
        self._keys_heard = []
        try:
            done = self.session.execute("play_and_get_digits", arg)
        finally:
            keys, self._keys_heard = self._keys_heard, None
        if self.session.hungup.is_set():
            raise self.session.hung_up_error()
        digits = done.get(f"variable_{DIGITS_VARIABLE}") or ""
        last = keys[-1] if keys else ""
        ended_by = last if last and last in terminators and len(digits) < max_digits else ""
        # Keys dropped between the last application and this one came before all of these.
        typed = ahead + self._take_ahead_of_app() + digits + ended_by
        entry = split_entry(typed, max_digits, terminators)
        if entry is not None:
            collected, rest = entry
            self._keep_typed_ahead(rest)
            return self._entered(collected, terminators, max_digits)
        if not typed:
            return Collected("", timed_out=True)
        return Collected(typed)

    def _entered(self, collected: Collected, terminators: str, max_digits: int) -> Collected:
        """Note an entry that ended at its length: the caller may still type its terminator."""
        full = not collected.terminator and len(collected.digits) >= max_digits
        self._entry_may_end = terminators if full else ""
        return collected

    def wait(self, seconds: float, *, music: str | None = None, keys: str = "") -> str:
        if self._woken:
            self._woken = False
            return ""
        pressed = next((key for key in self._take_typed_ahead() if key in keys), "")
        if pressed:
            return pressed
        self._set_terminators(keys)
        whole = max(int(round(seconds)), 2)  # FreeSWITCH ignores playback_timeout_sec <= 1
        self._waiting, self._wait_started, self._break_sent = True, False, False
        try:
            done = self._hold(music, whole)
        finally:
            self._waiting = self._wait_started = False
        self._woken = False
        used = done.get("variable_playback_terminator_used") or ""
        late = next((key for key in self._take_ahead_of_app() if key in keys), "")
        return late or (used if used and used in keys else "")

    def _hold(self, music: str | None, seconds: int) -> dict:
        """Play ``music`` for ``seconds``, else the default hold music, else silence.

        Music FreeSWITCH cannot find (a wrong path in queues.yaml) ends at once: the wait would
        be over before it began and the caller would hear silence while the queue asks again
        and again. It is set aside for this call, with a warning, and the next choice plays.
        """
        for choice in dict.fromkeys([music, DEFAULT_HOLD_MUSIC] if music else []):
            if choice in self._missing_music:
                continue
            # Scoped to this playback: set on the channel, the limit would cut later prompts.
            # Without timeout_as_success FreeSWITCH reports the timeout as PLAYBACK ERROR.
            done = self._playback(
                apps.scoped(
                    {"playback_timeout_sec": str(seconds), "playback_timeout_as_success": "true"},
                    choice,
                )
            )
            if done.get("Application-Response") != "FILE NOT FOUND" or self._woken:
                return done
            log.warning(
                "[%s] hold music %s cannot be played; the caller hears the next choice",
                self.info.call_id,
                choice,
            )
            self._missing_music.add(choice)
        return self._playback(f"silence_stream://{seconds * 1000}")

    def wake(self) -> None:
        self._woken = True
        if self._wait_started:
            self._break_wait()

    def _break_wait(self) -> None:
        if self._break_sent:
            return
        self._break_sent = True
        # Sent from a greenlet of its own: the caller may be the session's event reader.
        gevent.spawn(self._send_break)

    def _send_break(self) -> None:
        try:
            self.session.api(commands.uuid_break(self.info.call_id, all_queued=False))
        except (SessionClosed, CallEnded):
            log.debug(
                "[%s] the call ended before its hold music could be stopped", self.info.call_id
            )

    def _watch(self, message) -> None:
        name = message.event_name
        if name == "DTMF":
            key = message.get("DTMF-Digit") or ""
            if not self._app_running:
                self._typed_ahead += key
            elif self._keys_heard is not None:
                self._keys_heard.append(key)
        elif name == "CHANNEL_EXECUTE_COMPLETE":
            self._app_running = False
        elif name == "CHANNEL_EXECUTE":
            self._app_running = True
            if message.get("Application") in ("playback", "play_and_get_digits"):
                self._ahead_of_app += self._typed_ahead
                self._typed_ahead = ""
            if self._waiting and message.get("Application") == "playback":
                self._wait_started = True
                if self._woken:
                    self._break_wait()
        elif name == "CHANNEL_BRIDGE":
            self._bridge_events["bridge"] = self.now()
            self._answered_leg = message.get("Other-Leg-Unique-ID") or ""
            endpoint = self._bridge_legs.get(self._answered_leg)
            if self._on_answer is not None and endpoint is not None:
                self._on_answer(endpoint)
        elif name == "CHANNEL_UNBRIDGE":
            self._bridge_events["unbridge"] = self.now()
        elif name == "RECORD_STOP":
            closed = self._recordings_closed.get(message.get("Record-File-Path") or "")
            if closed is not None:
                closed.set()

    def bridge(
        self,
        endpoints: list[str],
        *,
        timeout: float,
        ringback: str | None,
        whisper: list[Utterance],
        caller_id_name: str,
        variables: dict[str, str],
        on_answer: Callable[[str], None] | None = None,
    ) -> BridgeResult:
        # Keys typed before talking to someone are for nobody: not for a menu after the bridge.
        self._take_typed_ahead()
        if ringback in self._missing_music:
            ringback = DEFAULT_HOLD_MUSIC  # as the wait before it played
        legs = {str(uuidlib.uuid4()): endpoint for endpoint in endpoints}
        common = {
            "leg_timeout": str(max(int(timeout), 1)),
            "origination_caller_id_name": caller_id_name,
            "origination_caller_id_number": self.info.caller or "anonymous",
            "ignore_early_media": "true",
            **variables,
        }
        if whisper:
            # The agent's leg plays the whisper on answer, before the caller is connected.
            common["group_confirm_key"] = "exec"
            common["group_confirm_file"] = "playback " + apps.playback_target(self._files(whisper))
        for name, value in (
            ("hangup_after_bridge", "false"),
            ("continue_on_fail", "true"),
            ("ringback", ringback or "%(2000,4000,440,480)"),
            ("transfer_ringback", ringback or "%(2000,4000,440,480)"),
        ):
            self.session.execute("set", apps.set_var(name, value))
        self._bridge_events.clear()
        self._answered_leg = ""
        start = self.now()
        dial = apps.dial_string(
            [(endpoint, {"origination_uuid": leg}) for leg, endpoint in legs.items()], common
        )
        self._bridge_legs, self._on_answer = legs, on_answer
        try:
            done = self.session.execute("bridge", dial)
        finally:
            self._bridge_legs, self._on_answer = {}, None
        disposition = done.get("variable_originate_disposition") or ""
        if "bridge" not in self._bridge_events:
            status = _BRIDGE_STATUS.get(disposition, "failed")
            if status == "answered":
                status = "failed"  # SUCCESS without a bridge event: treat as not connected
            if self.session.hungup.is_set():
                raise self.session.hung_up_error()
            return BridgeResult(status, disposition)
        bridged = self._bridge_events["bridge"]
        ended = self._bridge_events.get("unbridge", self.now())
        return BridgeResult(
            "answered",
            disposition or "SUCCESS",
            legs.get(self._answered_leg, endpoints[0]),
            ring_seconds=(bridged - start).total_seconds(),
            talk_seconds=(ended - bridged).total_seconds(),
        )

    def transfer(self, destination: str, context: str | None = None) -> None:
        # When the controller lets go, socket_resume (set by our dialplan for the failover)
        # would reset the channel wherever the transfer took it, cutting off a bridge that is
        # ringing: the call is the destination's now, not the failover's.
        self.session.execute("set", apps.set_var("socket_resume", "false"))
        self.session.execute(
            "transfer", apps.transfer(destination, context or self.transfer_context)
        )
        # The call runs on in the dialplan; commands sent on this session still reach it (a
        # hangup would cut the caller off from the destination), so none is sent any more.
        self.transferred = True

    def record(self, path: str, *, max_seconds: float, beep: bool) -> RecordResult:
        self._take_typed_ahead()
        if beep:
            self._playback(BEEP)
        done = self.session.execute("record", apps.record(path, max_seconds))
        seconds = int(done.get("variable_record_seconds") or 0)
        return RecordResult(path, float(seconds))

    def start_recording(self, path: str, *, stereo: bool, from_bridge: bool = False) -> None:
        if not self._recordings_closed:
            # Only then: every call would otherwise pay for an event it never has.
            self.session.subscribe(["RECORD_STOP"])
        self._recordings_closed[path] = gevent.event.Event()
        variables = {"RECORD_STEREO": "true" if stereo else "false"}
        if from_bridge:
            # FreeSWITCH writes only while the caller is bridged: no whisper, no hold music.
            variables["RECORD_BRIDGE_REQ"] = "true"
        self._record_api("start", path, variables)

    def mask_recording(self, path: str, masked: bool) -> None:
        self._record_api("mask" if masked else "unmask", path)

    def stop_recording(self, path: str) -> bool:
        closed = self._recordings_closed.get(path)
        if closed is None:
            return False
        if not closed.is_set() and not self.session.hungup.is_set():
            try:
                self._record_api("stop", path)
            except (ChannelError, CallEnded) as exc:
                # The caller hung up meanwhile: FreeSWITCH stops it with the channel.
                log.debug("[%s] stopping the recording: %s", self.info.call_id, exc)
        gevent.wait([closed, self.session.closed], timeout=RECORD_CLOSE_SECONDS, count=1)
        return closed.is_set()

    def _record_api(self, action: str, path: str, variables: dict[str, str] | None = None) -> None:
        reply = self.session.api(commands.uuid_record(self.info.call_id, action, path, variables))
        if not reply.startswith("+OK"):
            raise ChannelError(f"uuid_record {action} {path}: {reply.strip()}")

    def set_var(self, name: str, value: str) -> None:
        self.session.execute("set", apps.set_var(name, value))

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        self.session.hangup(cause)
