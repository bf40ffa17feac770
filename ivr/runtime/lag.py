"""How late the controller's event loop runs, and whether that is too late to take new calls.

Every call of a controller shares one gevent loop, so when it falls behind (a CPU-bound burst,
too many calls for the machine) each caller waits longer for the next prompt after a key. Taking
more calls then makes it worse for all of them; refusing them sends the new callers down the
dialplan's failover (another controller, or the fallback operators) while the running calls keep
their latency.

``LoopLag`` measures the loop by a timer greenlet: each tick it sleeps ``interval`` seconds and
notes how much later than asked it woke. The figure it reports is the worst recent lateness,
decaying by half every ``HALF_LIFE`` seconds, so one slow tick is remembered for a moment
instead of being averaged away by the fast ones around it. ``overloaded`` has hysteresis: it
turns on at the limit and off only under half of it, so calls are not let in and refused in turn
while the lag hovers at the limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent

log = logging.getLogger("ivr.controller")

INTERVAL = 0.05
"""Seconds between the timer's ticks."""
HALF_LIFE = 1.0
"""Seconds in which a remembered lateness halves."""


class LoopLag:
    """The event loop's recent lateness, and the overload state it implies.

    Args:
        limit: seconds of lateness at which new calls are refused (None: never refused).
        interval: seconds between the timer's ticks.
        clock: a monotonic clock (tests pass their own, with ``tick``).
    """

    def __init__(
        self,
        limit: float | None,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.interval = interval
        self.clock = clock
        self.seconds = 0.0
        """The worst recent lateness, decayed."""
        self.overloaded = False
        self.worst = 0.0
        """The worst lateness ever seen (for the metrics)."""
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start the timer greenlet (once)."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop the timer greenlet."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def _run(self) -> None:
        while True:
            asked = self.clock()
            gevent.sleep(self.interval)
            self.tick(self.clock() - asked - self.interval, self.clock() - asked)

    def tick(self, late: float, elapsed: float) -> None:
        """Note one tick that woke ``late`` seconds late, ``elapsed`` seconds after the last."""
        late = max(late, 0.0)
        self.worst = max(self.worst, late)
        self.seconds = max(late, self.seconds * 0.5 ** (elapsed / HALF_LIFE))
        if self.limit is None:
            return
        if not self.overloaded and self.seconds >= self.limit:
            self.overloaded = True
            log.warning(
                "the event loop runs %.0f ms late (limit %.0f ms): refusing new calls",
                self.seconds * 1000,
                self.limit * 1000,
            )
        elif self.overloaded and self.seconds < self.limit / 2:
            self.overloaded = False
            log.warning(
                "the event loop runs %.0f ms late again: taking new calls", self.seconds * 1000
            )
