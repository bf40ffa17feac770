"""A simulated call's own clock: real time, or virtual time that jumps instead of sleeping.

Every timestamp the simulated FreeSWITCH puts on an event comes from this clock, and our
controller takes its notion of "now" from those timestamps only. In virtual mode a ten-minute
hold costs no real time: when the call would wait, the clock first gives the controller a short
real-time ``settle`` window to send something (a ``uuid_break``, a nested execute, a hangup),
and, when nothing comes, jumps straight to the end of the wait.
"""

from __future__ import annotations

import datetime as dt
import time

from gevent.event import Event

__all__ = ["CallClock"]


class CallClock:
    """Seconds since the call started, real or virtual, and the wake-up signal of its channel.

    Args:
        start: wall-clock time of the call's first event (timezone-aware).
        virtual: jump over waits instead of sleeping through them.
        settle: real seconds a virtual wait first listens for the controller before jumping.
        jumps: (call seconds, seconds) at which the wall clock steps forward (or back, when
            negative), as NTP steps a host's clock; ``elapsed`` is not affected, as
            FreeSWITCH's timers are monotonic.
    """

    def __init__(
        self,
        start: dt.datetime,
        *,
        virtual: bool,
        settle: float,
        jumps: list[tuple[float, float]] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the call's start time must be timezone-aware")
        self.start = start
        self.virtual = virtual
        self.settle = settle
        self.wakeup = Event()
        self._virtual_elapsed = 0.0
        self._real_origin = time.monotonic()
        self._start_us = round(start.timestamp() * 1_000_000)
        self._jumps = sorted(jumps or [])

    def _stepped(self, elapsed: float) -> float:
        """How far the wall clock was stepped by ``elapsed``."""
        return sum(by for at, by in self._jumps if at <= elapsed)

    def elapsed(self) -> float:
        """Seconds since the call started."""
        if self.virtual:
            return self._virtual_elapsed
        return time.monotonic() - self._real_origin

    def micros(self, elapsed: float | None = None) -> int:
        """Microseconds since the Unix epoch at ``elapsed`` (default: now), as FreeSWITCH counts."""
        seconds = self.elapsed() if elapsed is None else elapsed
        return self._start_us + round((seconds + self._stepped(seconds)) * 1_000_000)

    def wall(self, elapsed: float | None = None) -> dt.datetime:
        """The call's time at ``elapsed`` (default: now) in the start time's zone."""
        seconds = self.elapsed() if elapsed is None else elapsed
        return self.start + dt.timedelta(seconds=seconds + self._stepped(seconds))

    def poke(self) -> None:
        """Wake the channel: a command arrived, the caller did something, the line changed."""
        self.wakeup.set()

    def sleep_until(self, elapsed: float | None) -> None:
        """Wait until ``elapsed`` (None: until poked), or return early when poked.

        The caller clears ``wakeup`` before checking what it waits for, so a poke that came
        while it was busy is not lost.
        """
        if not self.virtual:
            timeout = None if elapsed is None else max(elapsed - self.elapsed(), 0.0)
            self.wakeup.wait(timeout)
            return
        if elapsed is None:
            self.wakeup.wait()
            return
        if elapsed <= self._virtual_elapsed:
            return
        # The controller gets a moment to act before the wait is skipped over.
        if self.settle > 0 and self.wakeup.wait(self.settle):
            return
        self._virtual_elapsed = elapsed
