"""An in-memory Channel driven by a scripted caller, on a simulated clock.

This is what ``ivr test`` runs flows on: no FreeSWITCH, no sockets, no real waiting (a ten
minute queue wait takes microseconds). The caller follows scenario steps: ``hear`` (wait until a
prompt containing the text has played), ``press`` (keys, taken by the next thing that listens
for keys), ``wait`` (stay silent for a while) and ``hangup``. Agents' phones follow the states
a case gives them. Everything that happens goes into a transcript with simulated timestamps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.runtime.channel import (
    BridgeResult,
    CallEnded,
    CallerHungUp,
    CallInfo,
    Collected,
    RecordResult,
    Utterance,
)

RING_SECONDS = 2.0
"""An available agent answers after this much ringing (DESIGN.md §5)."""
DEFAULT_TALK_SECONDS = 60.0
"""Conversation length when the caller's steps end while talking to an agent."""
KEY_SECONDS = 0.3
SPEECH_CHARS_PER_SECOND = 15.0
SOUND_SECONDS = 2.0


@dataclass
class Step:
    """One thing the scripted caller does: ``hear``, ``press``, ``wait`` or ``hangup``."""

    kind: str
    value: str | float | bool
    line: int = 0

    def describe(self) -> str:
        if self.kind == "wait":
            return f"wait {self.value:g}s"
        if self.kind == "hangup":
            return "hang up"
        return f"{self.kind} {self.value!r}"


@dataclass
class Event:
    """One transcript line: seconds since the call started, who, and what."""

    at: float
    who: str
    text: str


class CallerStalled(CallEnded):
    """The simulated call went on far past the caller's last step; the case cannot finish."""


@dataclass
class MemoryChannel:
    """A Channel for flow tests, following a scripted caller on a simulated clock.

    Args:
        info: caller, dialed number and call id.
        start: the simulated time the call starts at (timezone-aware).
        steps: the caller's script.
        phones: agent endpoints and how each phone behaves (``available``: answers after
            RING_SECONDS; ``no_answer``: rings out; ``busy``: busy at once; ``logged_out``:
            not registered). Endpoints not named answer.
        time_limit: simulated seconds after which a call still running is stopped.
        on_time: told the simulated time whenever it moves (the agent pool's timed changes
            follow the call's clock this way).
        due: when the next timed change outside the call is due; waits end there to let it
            happen on time.
    """

    info: CallInfo
    start: dt.datetime
    steps: list[Step]
    phones: dict[str, str] = field(default_factory=dict)
    time_limit: float = 4 * 3600.0
    transcript: list[Event] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    on_time: Callable[[dt.datetime], None] | None = None
    due: Callable[[], dt.datetime | None] | None = None

    def __post_init__(self) -> None:
        self._elapsed = 0.0
        self._woken = False
        self._cursor = 0
        self._pending_keys = ""
        self._wait_left: float | None = None
        self._heard = ""
        self._heard_from = 0
        self.caller_hung_up = False
        self.ivr_hung_up = False
        self.answered = False

    # ------------------------------------------------------------ the caller's script

    @property
    def remaining_steps(self) -> list[Step]:
        return self.steps[self._cursor :]

    def _step(self) -> Step | None:
        return self.steps[self._cursor] if self._cursor < len(self.steps) else None

    def _next_step(self) -> None:
        self._cursor += 1
        self._wait_left = None

    def _log(self, who: str, text: str) -> None:
        self.transcript.append(Event(self._elapsed, who, text))

    def _advance(self, seconds: float) -> None:
        """Let simulated time pass; a caller's ``wait`` step is used up by it."""
        self._elapsed += seconds
        step = self._step()
        if step is not None and step.kind == "wait":
            if self._wait_left is None:
                self._wait_left = float(step.value)
                # What the caller hears after waiting must play once the wait has begun.
                self._heard_from = len(self._heard)
            self._wait_left -= seconds
            if self._wait_left <= 1e-9:
                self._next_step()
                self._match_hears()
        if self._elapsed > self.time_limit:
            self._log(
                "system",
                f"stopped: the call ran past {self.time_limit / 3600:g} hours of simulated time",
            )
            raise CallerStalled("call ran past the simulated time limit")
        if self.on_time is not None:
            self.on_time(self.now())

    def _check_line(self) -> None:
        """Raise if the call is over; hang up now if that is the caller's next step."""
        if self.caller_hung_up:
            raise CallerHungUp()
        if self.ivr_hung_up:
            raise CallEnded("the IVR already hung up")
        step = self._step()
        if step is not None and step.kind == "hangup" and not self._pending_keys:
            self._next_step()
            self.caller_hung_up = True
            self._log("caller", "hangs up")
            raise CallerHungUp()

    def _match_hears(self) -> None:
        """Mark ``hear`` steps satisfied by what has been played since the caller's last action.

        Prompts played in a row read as one text, so a ``hear`` may span a text and a say-as
        value; case and spacing do not matter.
        """
        while True:
            step = self._step()
            if step is None or step.kind != "hear":
                return
            found = self._heard.find(" ".join(str(step.value).lower().split()), self._heard_from)
            if found < 0:
                return
            self._heard_from = found
            self._next_step()

    def _take_keys(self) -> str:
        """Keys the caller presses now: leftovers of a press, or the next ``press`` step."""
        if self._pending_keys:
            return self._pending_keys
        step = self._step()
        if step is not None and step.kind == "press":
            self._pending_keys = str(step.value)
            self._next_step()
            # What is heard after a key press must be played after it.
            self._heard_from = len(self._heard)
            self._log("caller", f"presses {self._pending_keys}")
        return self._pending_keys

    # ------------------------------------------------------------ Channel protocol

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self._elapsed)

    def answer(self) -> None:
        if self.caller_hung_up:
            raise CallerHungUp()
        if not self.answered:
            self.answered = True
            self._log("ivr", "answers")

    def _say(self, utterance: Utterance) -> None:
        text = utterance.text or f"<{utterance.sound}>"
        shown = f"{text}  [sound {utterance.sound}]" if utterance.sound else text
        self._log("ivr", f"says: {shown}")
        self._heard += " " + " ".join(text.lower().split())
        self._match_hears()
        seconds = (
            SOUND_SECONDS
            if utterance.sound and not utterance.text
            else (max(len(text) / SPEECH_CHARS_PER_SECOND, 0.5))
        )
        self._advance(seconds)

    def play(self, prompts: list[Utterance], *, barge_in: bool, keys: str = "") -> str:
        for utterance in prompts:
            # A caller whose next step is to hang up does so before the next piece plays.
            self._check_line()
            self._say(utterance)
            if (barge_in or keys) and self._take_keys():
                pressed, self._pending_keys = self._pending_keys, ""
                if barge_in:
                    self._log("ivr", "prompt stopped by a key")
                    return pressed
                key = next((k for k in pressed if k in keys), "")
                if key:
                    self._log("ivr", "prompt stopped by a key")
                    return key
                self._log("ivr", f"ignores {pressed} (not a key for this prompt)")
        return ""

    def collect(
        self,
        prompts: list[Utterance],
        *,
        max_digits: int,
        timeout: float,
        digit_timeout: float,
        terminators: str,
    ) -> Collected:
        for utterance in prompts:
            self._check_line()
            self._say(utterance)
            if self._take_keys():
                break
        self._check_line()
        keys = self._take_keys()
        if not keys:
            self._check_line()
            self._advance(timeout)
            keys = self._take_keys()
            if not keys:
                self._log("ivr", f"no key within {timeout:g}s")
                return Collected("", timed_out=True)
        digits = ""
        for i, key in enumerate(keys):
            self._advance(KEY_SECONDS)
            if key in terminators:
                self._pending_keys = keys[i + 1 :]
                return Collected(digits, terminator=key)
            digits += key
            if len(digits) >= max_digits:
                rest = keys[i + 1 :]
                # "12345678#" into an 8-digit entry: the hash the prompt asked for ends it too,
                # it is not a key for whatever comes next.
                if rest[:1] and rest[0] in terminators:
                    self._advance(KEY_SECONDS)
                    self._pending_keys = rest[1:]
                    return Collected(digits, terminator=rest[0])
                self._pending_keys = rest
                return Collected(digits)
        self._pending_keys = ""
        self._advance(digit_timeout)
        return Collected(digits)

    def wait(self, seconds: float, *, music: str | None = None, keys: str = "") -> str:
        self._check_line()
        what = f"hold music {music}" if music else "silence"
        last = self.transcript[-1] if self.transcript else None
        if last is None or last.who != "ivr" or not last.text.startswith(f"plays {what}"):
            self._log("ivr", f"plays {what}")
        end = self._elapsed + seconds
        while True:
            if self._woken:
                self._woken = False
                return ""
            pressed = self._take_keys()
            if pressed:
                self._pending_keys = ""
                self._advance(KEY_SECONDS)
                for key in pressed:
                    if key in keys:
                        return key
                self._log("ivr", f"ignores {pressed} (not a key for this wait)")
                return ""
            left = end - self._elapsed
            if left <= 1e-9:
                return ""
            # Time passes in pieces, so the caller's next step and timed changes outside the
            # call (an agent's wrap-up ending) happen when they are due, not at the wait's end.
            step = self._step()
            if step is not None and step.kind == "wait":
                left = min(left, float(step.value) if self._wait_left is None else self._wait_left)
            due = self.due() if self.due is not None else None
            if due is not None and (due - self.now()).total_seconds() > 1e-9:
                left = min(left, (due - self.now()).total_seconds())
            self._advance(left)
            self._check_line()

    def wake(self) -> None:
        self._woken = True

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
        self._check_line()
        self.variables.update(variables)
        self._log(
            "ivr",
            f"rings {', '.join(endpoints)} as '{caller_id_name}'"
            + (f" (caller hears {ringback})" if ringback else ""),
        )
        states = {e: self.phones.get(e, "available") for e in endpoints}
        answering = [e for e, s in states.items() if s == "available"]
        if not answering:
            if any(s == "no_answer" for s in states.values()):
                self._advance(timeout)
                self._check_line()
                self._log("ivr", f"no answer within {timeout:g}s")
                return BridgeResult("no_answer", "NO_ANSWER")
            if any(s == "busy" for s in states.values()):
                self._log("ivr", "busy")
                return BridgeResult("busy", "USER_BUSY")
            self._log("ivr", "not reachable")
            return BridgeResult("failed", "USER_NOT_REGISTERED")
        self._advance(RING_SECONDS)
        self._check_line()
        endpoint = answering[0]
        for utterance in whisper:
            self._log("agent", f"hears whisper: {utterance.text}")
        self._log("agent", f"{endpoint} answers; caller connected")
        if on_answer is not None:
            on_answer(endpoint)
        talk_start = self._elapsed
        while True:
            step = self._step()
            if step is None:
                self._advance(DEFAULT_TALK_SECONDS)
                self._log("agent", "hangs up")
                break
            if step.kind == "wait":
                self._advance(float(step.value) if self._wait_left is None else self._wait_left)
            elif step.kind == "press":
                self._take_keys()
                self._pending_keys = ""
            elif step.kind == "hangup":
                self._next_step()
                self.caller_hung_up = True
                self._log("caller", "hangs up")
                break
            else:
                # The caller expects to hear a prompt again: the agent ends the conversation.
                self._advance(DEFAULT_TALK_SECONDS)
                self._log("agent", "hangs up")
                break
        return BridgeResult(
            "answered", "SUCCESS", endpoint, RING_SECONDS, self._elapsed - talk_start
        )

    def transfer(self, destination: str, context: str = "default") -> None:
        self._check_line()
        self._log("ivr", f"transfers the call to {destination}")
        self.ivr_hung_up = True

    def record(self, path: str, *, max_seconds: float, beep: bool) -> RecordResult:
        self._check_line()
        self._log("ivr", ("beeps and " if beep else "") + f"records (up to {max_seconds:g}s)")
        step = self._step()
        seconds = max_seconds
        if step is not None and step.kind == "wait":
            seconds = min(max_seconds, float(step.value))
        elif step is not None and step.kind == "hangup":
            seconds = min(max_seconds, 10.0)
        self._advance(seconds)
        return RecordResult(path, seconds)

    def start_recording(self, path: str, *, stereo: bool, from_bridge: bool = False) -> None:
        when = " from the agent's answer" if from_bridge else ""
        self._log("ivr", f"records the call{when} to {path}" + (" in stereo" if stereo else ""))

    def mask_recording(self, path: str, masked: bool) -> None:
        self._log("ivr", "masks the recording" if masked else "unmasks the recording")

    def stop_recording(self, path: str) -> bool:
        # Nothing is written in memory: there is no file whose length and hash could hold.
        self._log("ivr", "stops recording")
        return False

    def set_var(self, name: str, value: str) -> None:
        self.variables[name] = value

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if self.caller_hung_up or self.ivr_hung_up:
            return
        self.ivr_hung_up = True
        self._log("ivr", "hangs up" + ("" if cause == "NORMAL_CLEARING" else f" ({cause})"))
