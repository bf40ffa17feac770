"""The Channel protocol: everything the interpreter may do to a call, and nothing else.

The interpreter drives a call only through these methods, so the same flow runs on FreeSWITCH (over
the outbound event socket) and on the in-memory channel used by ``ivr test``. A caller's hang-up
raises ``CallerHungUp`` from whichever method is running; it unwinds the whole call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ivr.errors import IvrError


class CallEnded(IvrError):
    """Base of the exceptions that end a call's flow early."""


class CallerHungUp(CallEnded):
    """The caller hung up; raised from any channel operation once the line is gone."""


class SwitchHungUp(CallerHungUp):
    """FreeSWITCH itself ended the call as it shut down (``SYSTEM_SHUTDOWN``), not the caller.

    It unwinds the call as a hang-up does (it is a ``CallerHungUp``), but the journal does not
    count it as the caller's: a queued caller is not ``abandoned``, the call ends as ``error``
    (or ``answered`` when an agent had taken it).

    Attributes:
        cause: FreeSWITCH's hang-up cause.
    """

    def __init__(self, cause: str) -> None:
        super().__init__(f"FreeSWITCH ended the call: {cause}")
        self.cause = cause


class ChannelError(IvrError):
    """The channel could not carry out an operation (media failure, lost connection)."""


@dataclass(frozen=True)
class Utterance:
    """One piece of audio to play, with the words it says.

    Attributes:
        text: what the caller hears, as text (for transcripts and for TTS).
        language: the language it is spoken in.
        voice: the TTS voice, or None for the language's default.
        sound: a recording name under ``sounds/<language>/`` to play instead of TTS, when it exists.
    """

    text: str
    language: str
    voice: str | None = None
    sound: str | None = None


@dataclass(frozen=True)
class Collected:
    """What the caller keyed in during one collect attempt."""

    digits: str
    terminator: str = ""
    timed_out: bool = False


def split_entry(keys: str, max_digits: int, terminators: str) -> tuple[Collected, str] | None:
    """The entry that keys the caller typed ahead make, and the keys left over after it.

    An entry ends at a terminator (not part of the digits) or at ``max_digits`` digits; a
    terminator right after a full entry ends it too, and is not a key for what comes next.

    Returns:
        The entry and the remaining keys, or None when the keys do not finish an entry yet.
    """
    typed = ""
    for i, key in enumerate(keys):
        if key in terminators:
            return Collected(typed, terminator=key), keys[i + 1 :]
        typed += key
        if len(typed) >= max_digits:
            rest = keys[i + 1 :]
            if rest[:1] and rest[0] in terminators:
                return Collected(typed, terminator=rest[0]), rest[1:]
            return Collected(typed), rest
    return None


@dataclass(frozen=True)
class BridgeResult:
    """How connecting the caller to an endpoint went.

    ``status`` is one of ``answered``, ``busy``, ``no_answer``, ``failed`` (unreachable,
    unregistered, no route). When answered, ``answered_by`` is the endpoint that answered,
    ``ring_seconds`` how long it rang and ``talk_seconds`` how long the conversation lasted.
    """

    status: str
    cause: str = ""
    answered_by: str = ""
    ring_seconds: float = 0.0
    talk_seconds: float = 0.0


@dataclass(frozen=True)
class RecordResult:
    """A finished recording: where it is and how long it lasts."""

    path: str
    seconds: float


@dataclass
class CallInfo:
    """Who is calling and what they dialed, as the channel learned it."""

    call_id: str
    caller: str = ""
    caller_name: str = ""
    dialed: str = ""
    variables: dict[str, str] = field(default_factory=dict)


def dialplan_endpoint(destination: str, context: str = "default") -> str:
    """What to ring for a transfer destination.

    An endpoint stays as given (``user/2000``); an extension or number is dialled in the dialplan
    ``context`` through FreeSWITCH's loopback endpoint, as a blind transfer would reach it.
    """
    return destination if "/" in destination else f"loopback/{destination}/{context}"


class Channel(Protocol):
    """One live call, as the interpreter sees it. All durations are in seconds."""

    info: CallInfo

    def now(self) -> dt.datetime:
        """The call clock (timezone-aware); simulated in tests."""

    def answer(self) -> None:
        """Answer the call (idempotent)."""

    def play(self, prompts: list[Utterance], *, barge_in: bool, keys: str = "") -> str:
        """Play prompts in a row; with ``barge_in`` a key press stops them and is returned.

        Without ``barge_in``, a key among ``keys`` stops them and is returned (others are not
        heard): a caller in a queue presses the callback key while it is being offered.
        """

    def collect(
        self,
        prompts: list[Utterance],
        *,
        max_digits: int,
        timeout: float,
        digit_timeout: float,
        terminators: str,
    ) -> Collected:
        """Play prompts (interruptible by a key) and collect up to ``max_digits`` keys.

        ``timeout`` is the wait for the first key after the prompt, ``digit_timeout`` the wait
        between keys; a key in ``terminators`` ends the input and is not part of the digits.
        """

    def wait(self, seconds: float, *, music: str | None = None, keys: str = "") -> str:
        """Keep the caller waiting (with hold music, or silence).

        Returns a key in ``keys`` as soon as the caller presses one, or an empty string when
        the time is up or ``wake`` cut it short.
        """

    def wake(self) -> None:
        """Cut the running ``wait`` short, from another greenlet (an agent became free).

        A wake that comes while no wait runs makes the next one return at once.
        """

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
        """Ring ``endpoints`` at once and connect the caller to the first that answers.

        Returns when the conversation is over (also when the caller hung up during it) or the
        attempt failed. ``ringback`` is what the caller hears meanwhile; ``whisper`` is played
        to the agent only, before the caller is connected; ``on_answer`` is called with the
        endpoint that answered as soon as the two are connected.
        """

    def transfer(self, destination: str, context: str = "default") -> None:
        """Hand the call to another destination (an extension of ``context``, or an endpoint).

        The call leaves the flow: the controller lets go of it without hanging it up.
        """

    def record(self, path: str, *, max_seconds: float, beep: bool) -> RecordResult:
        """Record the caller to ``path`` (after a beep), until silence, a key or ``max_seconds``."""

    def start_recording(self, path: str, *, stereo: bool, from_bridge: bool = False) -> None:
        """Record the call to ``path`` from now until it ends or ``stop_recording``.

        Stereo puts what the caller says on the left channel and what they hear (prompts, the
        agent) on the right. With ``from_bridge`` only the time the caller is connected to
        someone (an agent) is recorded. Raises ChannelError when the switch cannot record.
        """

    def mask_recording(self, path: str, masked: bool) -> None:
        """Write silence into the recording ``path`` while ``masked`` (the clock runs on)."""

    def stop_recording(self, path: str) -> bool:
        """Stop the recording ``path`` (done already when the call hung up).

        Returns whether the switch said the file is closed, so its length and hash hold.
        """

    def set_var(self, name: str, value: str) -> None:
        """Set a channel variable (shown to agents, kept in CDRs)."""

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """End the call from our side."""
