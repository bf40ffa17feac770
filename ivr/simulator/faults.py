"""Faults the simulated FreeSWITCH can inflict on its calls, chosen from a seed.

A ``FaultPlan(seed, faults)`` decides, for the n-th call placed, which of its faults strike that
call and where (after which event, at what call time): the same seed and the same calls give the
same faults, so a run that found a bug runs again the same way. Each fault works where
FreeSWITCH's own trouble would show: on the events one call's outbound socket carries
(``OutboundConnection.deliver``) and on the call's clock.

- ``drop_socket``: the connection breaks after ``after_events`` events (or at the first event
  once the call clock passed ``at``) without the disconnect notice, as when FreeSWITCH crashes
  or the network fails; the channel, its controller gone, hangs up as a socket application's
  channel does.
- ``delay``: from ``after_events`` on, each event waits ``seconds`` (real seconds: the
  controller's own pace is what it tests) before it is written, while command replies go out at
  once, as a FreeSWITCH behind on its event queue still answers commands. Events keep their
  order: FreeSWITCH queues a listener's events in one FIFO (``listener->event_queue`` in
  mod_event_socket.c) and writes them from one thread, so on one socket they can come late but
  never overtake each other. What can change is when a key or a completion lands against the
  controller's next command, and the delay moves exactly that.
- ``lose_execute_complete``: one CHANNEL_EXECUTE_COMPLETE (the ``nth`` one, or one picked from
  the seed) never arrives, as when FreeSWITCH drops an event for a listener whose queue is full.
- ``flood``: ``count`` events the call does not wait for (CHANNEL_EXECUTE of applications it did
  not send) arrive at once after ``after_events`` events.
- ``clock_jump``: at call time ``at`` the wall clock FreeSWITCH stamps its events with jumps by
  ``seconds`` (negative: back), as when NTP steps the host's clock. Durations FreeSWITCH
  measures itself (playback timeouts, ringing) go on unchanged: its timers are monotonic.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent
from gevent.queue import Queue

from ivr.errors import IvrError


class OutboundConnection(Protocol):
    """What the faults use of the simulator's connection to the controller (``connection.py``)."""

    def call_seconds(self) -> float: ...

    def drop(self) -> None: ...

    def send_raw(self, data: bytes) -> None: ...

    def send_event(self, name: str, headers: list[tuple[str, str]], body: str | None) -> None: ...

    def encode_event(self, name: str, extra: list[tuple[str, str]]) -> bytes: ...


__all__ = ["FAULT_KINDS", "CallFaults", "Fault", "FaultError", "FaultPlan"]

FAULT_KINDS = ("drop_socket", "delay", "lose_execute_complete", "flood", "clock_jump")
"""The faults a plan can hold."""
_KINDS = ", ".join(FAULT_KINDS)
OPTIONS: dict[str, frozenset[str]] = {
    "drop_socket": frozenset({"after_events", "at"}),
    "delay": frozenset({"after_events", "seconds"}),
    "lose_execute_complete": frozenset({"nth"}),
    "flood": frozenset({"after_events", "count"}),
    "clock_jump": frozenset({"at", "seconds"}),
}
"""The options each fault takes besides ``kind`` and ``calls``."""
FLOOD_LIMIT = 1_000_000
"""The most events one flood may send (a plan is data: it must not exhaust the machine)."""
_FLOOD_CHUNK = 1000
_PICK_EVENTS = 40
"""Where a fault without a position strikes: within this many events of the call's start."""


class FaultError(IvrError, ValueError):
    """A fault is described wrongly (an unknown kind or option, a value out of range)."""


@dataclass(frozen=True)
class Fault:
    """One fault of a plan.

    Attributes:
        kind: one of ``FAULT_KINDS``.
        calls: the share of calls it strikes, from 0 to 1 (picked from the seed).
        after_events: events sent before it strikes (None: picked from the seed).
        at: call seconds at which it strikes (``drop_socket``, ``clock_jump``).
        seconds: how long each event is held (``delay``) or how far the clock jumps.
        count: events in a ``flood``.
        nth: which CHANNEL_EXECUTE_COMPLETE is lost, from 1 (None: picked from the seed).
    """

    kind: str
    calls: float = 1.0
    after_events: int | None = None
    at: float | None = None
    seconds: float = 0.0
    count: int = 100_000
    nth: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(
                f"unknown fault {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        if not 0.0 <= self.calls <= 1.0:
            raise FaultError(f"{self.kind}: calls must be a share from 0 to 1, not {self.calls}")
        for name in ("after_events", "nth"):
            value = getattr(self, name)
            if value is not None and value < (1 if name == "nth" else 0):
                raise FaultError(f"{self.kind}: {name} must be at least {int(name == 'nth')}")
        if self.at is not None and self.at < 0:
            raise FaultError(f"{self.kind}: at must not be negative")
        if self.kind == "delay" and self.seconds <= 0:
            raise FaultError("delay: seconds must be above 0")
        if self.kind == "clock_jump" and (self.at is None or self.seconds == 0):
            raise FaultError("clock_jump: needs at (call seconds) and seconds (not 0)")
        if self.kind == "flood" and not 1 <= self.count <= FLOOD_LIMIT:
            raise FaultError(f"flood: count must be from 1 to {FLOOD_LIMIT:,}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Fault:
        """A fault from ``{kind: ..., option: value}`` (a scenario file's or ``--faults``)."""
        kind = values.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultError(f"unknown fault {kind!r}; expected one of {_KINDS}")
        allowed = OPTIONS[kind] | {"kind", "calls"}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise FaultError(
                f"{kind} takes {', '.join(sorted(allowed - {'kind'}))}, not {', '.join(unknown)}"
            )
        return cls(**dict(values))


@dataclass
class _Strike:
    """A fault as it strikes one call: where, decided from the seed."""

    fault: Fault
    after_events: int
    done: bool = False


class FaultPlan:
    """Which faults strike which calls, the same for the same seed.

    Args:
        seed: the seed every choice is made from.
        faults: the faults, as ``Fault`` or as mappings (``{kind: drop_socket, after_events: 5}``).
    """

    def __init__(self, seed: int, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        self.seed = seed
        self.faults = [f if isinstance(f, Fault) else Fault.from_mapping(f) for f in faults]
        self._placed = 0

    def for_call(self) -> CallFaults:
        """The faults of the next call placed (the n-th call gets the n-th draw)."""
        rng = random.Random(f"{self.seed}:{self._placed}")
        self._placed += 1
        strikes = []
        for fault in self.faults:
            # Drawn for every fault, struck or not, so one fault's share does not shift another's.
            hit = rng.random() < fault.calls
            position = rng.randrange(1, _PICK_EVENTS)
            if not hit:
                continue
            if fault.kind == "lose_execute_complete":
                position = fault.nth if fault.nth is not None else 1 + position % 8
            elif fault.after_events is not None:
                position = fault.after_events
            strikes.append(_Strike(fault, position))
        return CallFaults(strikes)


@dataclass
class CallFaults:
    """The faults striking one call; the connection hands every event through ``deliver``."""

    strikes: list[_Strike]
    struck: list[str] = field(default_factory=list)
    """What struck, in order, in words (the simulated call's transcript has them too)."""
    _events: int = 0
    _completes: int = 0
    _delay: float = 0.0
    _late: Queue | None = None
    _writer: gevent.Greenlet | None = None

    @property
    def clock_jumps(self) -> list[tuple[float, float]]:
        """(call seconds, jump) of each clock jump, for the call's clock."""
        return [
            (s.fault.at or 0.0, s.fault.seconds)
            for s in self.strikes
            if s.fault.kind == "clock_jump"
        ]

    def deliver(
        self,
        connection: OutboundConnection,
        name: str,
        headers: list[tuple[str, str]],
        body: str | None,
        note: Callable[[str], None],
    ) -> None:
        """Send one event through the faults: late, lost, after a flood, or not at all."""
        self._events += 1
        if name == "CHANNEL_EXECUTE_COMPLETE":
            self._completes += 1
        for strike in self.strikes:
            if strike.done:
                continue
            kind = strike.fault.kind
            if kind == "clock_jump":
                # The clock itself steps (``CallClock``); this only tells when it did.
                if connection.call_seconds() >= (strike.fault.at or 0.0):
                    strike.done = True
                    self._struck(note, f"the wall clock jumped by {strike.fault.seconds:g}s")
                continue
            if kind == "lose_execute_complete":
                if name == "CHANNEL_EXECUTE_COMPLETE" and self._completes == strike.after_events:
                    strike.done = True
                    self._struck(note, f"lost the CHANNEL_EXECUTE_COMPLETE of {_app(headers)}")
                    return
                continue
            due = (
                strike.fault.at is not None and connection.call_seconds() >= strike.fault.at
                if kind == "drop_socket" and strike.fault.at is not None
                else self._events > strike.after_events
            )
            if not due:
                continue
            strike.done = True
            if kind == "drop_socket":
                self._struck(note, f"dropped the socket before {name} (event {self._events})")
                self._do(connection.drop)
                return
            if kind == "delay":
                self._struck(
                    note, f"holds each event {strike.fault.seconds:g}s from event {self._events}"
                )
                self._start_delay(strike.fault.seconds)
            elif kind == "flood":
                self._struck(note, f"floods {strike.fault.count:,} events before {name}")
                for chunk in _flood(connection, strike.fault.count):
                    self._do(connection.send_raw, chunk)
        self._do(connection.send_event, name, headers, body)

    def flush(self, timeout: float) -> None:
        """Let the events held back be written (before the connection closes)."""
        if self._late is not None and self._writer is not None:
            self._late.put(None)
            self._writer.join(timeout)
            self._writer.kill(block=False)
            self._late = self._writer = None

    def _do(self, action: Callable[..., None], *args: Any) -> None:
        if self._late is None:
            action(*args)
        else:
            self._late.put((action, args))

    def _start_delay(self, seconds: float) -> None:
        self._delay = seconds
        self._late = Queue()
        self._writer = gevent.spawn(self._write_late, self._late)

    def _write_late(self, late: Queue) -> None:
        # One writer, in order: FreeSWITCH's listener writes its queued events one by one.
        while (item := late.get()) is not None:
            gevent.sleep(self._delay)
            action, args = item
            action(*args)

    def _struck(self, note: Callable[[str], None], text: str) -> None:
        self.struck.append(text)
        note(f"fault: {text}")


def _app(headers: list[tuple[str, str]]) -> str:
    return next((value for key, value in headers if key == "Application"), "an application")


def _flood(connection: OutboundConnection, count: int) -> Iterable[bytes]:
    """``count`` CHANNEL_EXECUTE events of applications the controller never sent, in writes.

    Encoded once and repeated with a fresh Application-UUID each: what the reader must parse
    and let go, as it would the events of a dialplan's own applications. Written a thousand at a
    time, so the flood never sits whole in memory.
    """
    placeholder = "00000000-0000-0000-0000-000000000000"
    template = connection.encode_event(
        "CHANNEL_EXECUTE",
        [
            ("Application", "log"),
            ("Application-Data", "INFO noise"),
            ("Application-UUID", placeholder),
        ],
    )
    for first in range(0, count, _FLOOD_CHUNK):
        yield b"".join(
            template.replace(placeholder.encode(), str(uuidlib.UUID(int=n + 1)).encode())
            for n in range(first, min(first + _FLOOD_CHUNK, count))
        )
