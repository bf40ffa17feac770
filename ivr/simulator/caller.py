"""The person on the simulated line: a scripted caller (scenario steps) or an interactive one.

The simulated channel asks its caller what they do next given what the line is doing (a
``Listen``: which keys would be acted on, from when, and whether the caller is just waiting);
both kinds answer through the same ``Caller`` interface, so the channel logic is shared.

The scripted caller follows the in-memory channel's rules (``ivr/runtime/memory.py``) as closely
as FreeSWITCH allows: ``hear`` waits for the words to be played since the last key press (a
prompt still playing when a ``wait`` ends counts); a ``press`` is keyed in when something
listens for its first key (at the end of the prompt being heard, or ``KEY_SECONDS`` into a wait,
``KEY_SECONDS`` between keys); ``wait`` lets call time pass; ``hangup`` hangs up before the next
prompt piece or listening point, or at once while the caller is only waiting (music, silence,
ringing, talking).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ivr.runtime.memory import KEY_SECONDS, Step

__all__ = ["ALL_KEYS", "Action", "Caller", "InteractiveCaller", "Listen", "ScriptedCaller"]

ALL_KEYS = "0123456789*#ABCD"
"""Every DTMF key."""
_SAME_MOMENT = 1e-6
"""Call seconds below which a wait is over (float sums of prompt lengths are not exact)."""
RECORD_BEFORE_HANGUP_SECONDS = 10.0
"""How long a caller whose next step is to hang up talks into a recording first (as memory.py)."""


@dataclass(frozen=True)
class Listen:
    """What the line is doing while call time passes, as far as the caller can tell.

    Attributes:
        keys: the keys that would be acted on now (empty: nothing listens for keys).
        key_from: the earliest call time a key comes: the end of the prompt being heard, or a
            moment into a wait.
        waiting: the caller only waits (music, silence, ringing, talk) and may hang up mid-way.
    """

    keys: str = ""
    key_from: float = 0.0
    waiting: bool = False


@dataclass(frozen=True)
class Action:
    """Something the caller does at call time ``at``: press ``key``, ``hangup``, or ``wake``.

    ``wake`` only asks to be asked again then (a ``wait`` step ends).
    """

    kind: str
    at: float
    key: str = ""


class Caller(ABC):
    """A person on the line, as the simulated channel consults them."""

    @abstractmethod
    def attach(self, poke: Callable[[], None]) -> None:
        """Called once with the function that wakes the channel when the caller acts."""

    @property
    @abstractmethod
    def remaining_steps(self) -> list[Step]:
        """Script steps not done yet (always empty for an interactive caller)."""

    @property
    @abstractmethod
    def idle(self) -> bool:
        """Nothing more to do in a conversation: the other side ends it after a while."""

    @abstractmethod
    def advance(self, to: float) -> None:
        """Call time is now ``to`` seconds."""

    @abstractmethod
    def heard(self, text: str) -> None:
        """A prompt piece saying ``text`` starts playing now."""

    @abstractmethod
    def next_action(self, listen: Listen) -> Action | None:
        """What the caller does next while the line does ``listen``; None: nothing for now."""

    @abstractmethod
    def act(self, action: Action) -> str:
        """Carry out ``action`` (returned by ``next_action``); returns the transcript text."""

    @abstractmethod
    def hangs_up_here(self) -> bool:
        """At a point where the caller may hang up: True (and it is done) if they do."""

    @abstractmethod
    def finishes_entry(self, terminators: str) -> str:
        """A full entry was just taken: the terminator typed right after it, if any.

        Like memory.py, "12345678#" into an eight-digit entry ends with the hash the prompt
        asked for; it is not a key for whatever comes next.
        """

    @abstractmethod
    def recording(self, max_seconds: float) -> tuple[float, bool]:
        """How long the caller talks into a recording, and whether they hang up after it."""


class ScriptedCaller(Caller):
    """A caller following scenario steps (``hear``, ``press``, ``wait``, ``hangup``)."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps = list(steps)
        self._cursor = 0
        self._wait_left: float | None = None
        self._pending = ""
        self._heard = ""
        self._heard_from = 0
        self._now = 0.0
        self._ready_at = 0.0
        self._last_key_at = 0.0

    def attach(self, poke: Callable[[], None]) -> None:
        """A script acts only when the channel consults it: nothing to wake."""

    @property
    def remaining_steps(self) -> list[Step]:
        return self.steps[self._cursor :]

    @property
    def idle(self) -> bool:
        step = self._step()
        return not self._pending and (step is None or step.kind == "hear")

    def _step(self) -> Step | None:
        return self.steps[self._cursor] if self._cursor < len(self.steps) else None

    def _next_step(self) -> None:
        self._cursor += 1
        self._wait_left = None
        self._ready_at = self._now

    def advance(self, to: float) -> None:
        while (step := self._step()) is not None and step.kind == "wait":
            if self._wait_left is None:
                self._wait_left = float(step.value)
            used = max(0.0, min(self._wait_left, to - self._now))
            self._now += used
            self._wait_left -= used
            if self._wait_left > _SAME_MOMENT:
                return
            self._next_step()
            # What plays as the wait ends counts for the hear after it.
            self._match_hears()
        self._now = max(self._now, to)

    def heard(self, text: str) -> None:
        self._heard += " " + " ".join(text.lower().split())
        self._match_hears()

    def _match_hears(self) -> None:
        """Mark ``hear`` steps satisfied by what was played since the caller's last key press."""
        while (step := self._step()) is not None and step.kind == "hear":
            found = self._heard.find(" ".join(str(step.value).lower().split()), self._heard_from)
            if found < 0:
                return
            self._heard_from = found
            self._next_step()

    def next_action(self, listen: Listen) -> Action | None:
        step = self._step()
        keys = self._pending or (
            str(step.value) if step is not None and step.kind == "press" else ""
        )
        if keys:
            if keys[0] not in listen.keys:
                return None
            paced = (self._last_key_at if self._pending else self._ready_at) + KEY_SECONDS
            return Action("key", max(listen.key_from, paced, self._now), keys[0])
        if step is None:
            return None
        if step.kind == "wait":
            left = float(step.value) if self._wait_left is None else self._wait_left
            return Action("wake", self._now + left)
        if step.kind == "hangup" and listen.waiting:
            return Action("hangup", self._now)
        return None

    def act(self, action: Action) -> str:
        if action.kind == "hangup":
            self._next_step()
            return "hangs up"
        text = ""
        if not self._pending:
            step = self._step()
            self._pending = str(step.value) if step is not None else action.key
            self._next_step()
            # What is heard after a key press must be played after it.
            self._heard_from = len(self._heard)
            text = f"presses {self._pending}"
        self._pending = self._pending[1:]
        self._last_key_at = action.at
        return text

    def hangs_up_here(self) -> bool:
        step = self._step()
        if step is not None and step.kind == "hangup" and not self._pending:
            self._next_step()
            return True
        return False

    def finishes_entry(self, terminators: str) -> str:
        if self._pending[:1] and self._pending[0] in terminators:
            key, self._pending = self._pending[0], self._pending[1:]
            self._last_key_at = self._now
            return key
        return ""

    def recording(self, max_seconds: float) -> tuple[float, bool]:
        step = self._step()
        if step is not None and step.kind == "wait":
            left = float(step.value) if self._wait_left is None else self._wait_left
            return min(max_seconds, left), False
        if step is not None and step.kind == "hangup" and not self._pending:
            return min(max_seconds, RECORD_BEFORE_HANGUP_SECONDS), True
        return max_seconds, False


class InteractiveCaller(Caller):
    """A caller driven live: ``press`` and ``hangup`` take effect at once, whatever plays.

    Keys reach the line like a real caller's would: FreeSWITCH drops those nobody listens for.
    """

    def __init__(self) -> None:
        self._inputs: deque[str] = deque()
        self._poke: Callable[[], None] = lambda: None
        self._now = 0.0

    def attach(self, poke: Callable[[], None]) -> None:
        self._poke = poke

    def press(self, keys: str) -> None:
        """Press ``keys`` one after the other."""
        bad = [key for key in keys if key not in ALL_KEYS]
        if bad or not keys:
            raise ValueError(f"{keys!r} are not phone keys ({ALL_KEYS})")
        self._inputs.extend(keys)
        self._poke()

    def hangup(self) -> None:
        """Hang up."""
        self._inputs.append("hangup")
        self._poke()

    @property
    def remaining_steps(self) -> list[Step]:
        return []

    @property
    def idle(self) -> bool:
        return True

    def advance(self, to: float) -> None:
        self._now = max(self._now, to)

    def heard(self, text: str) -> None:
        """Live callers read the transcript instead."""

    def next_action(self, listen: Listen) -> Action | None:
        if not self._inputs:
            return None
        first = self._inputs[0]
        return Action("hangup", self._now) if first == "hangup" else Action("key", self._now, first)

    def act(self, action: Action) -> str:
        self._inputs.popleft()
        return "hangs up" if action.kind == "hangup" else f"presses {action.key}"

    def hangs_up_here(self) -> bool:
        if self._inputs and self._inputs[0] == "hangup":
            self._inputs.popleft()
            return True
        return False

    def finishes_entry(self, terminators: str) -> str:
        return ""

    def recording(self, max_seconds: float) -> tuple[float, bool]:
        return max_seconds, False
