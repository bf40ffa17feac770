"""The contact center of a running controller: pool, store, callbacks, timekeeping and repairs.

``ContactCenter`` loads what the store kept (agent states, callbacks, handle times), repairs what
a crash left behind (agents ``ringing`` or ``on_call`` for calls that are gone), then keeps two
greenlets: the timekeeper, which sleeps until the next timed change (a wrap-up ending, a timed
break, a callback retry) and applies it, woken early whenever an earlier one is set; and the
sweeper, which repairs the pool against the calls really running every ``SWEEP_SECONDS``.
Nothing polls for free agents: offers follow events (see ``pool.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import gevent
from gevent.event import Event

from ivr.acd.callbacks import CallbackDialer, CallbackService
from ivr.acd.pool import AgentPool
from ivr.acd.store import AcdStore
from ivr.flow.config import AgentConfig, QueueConfig

log = logging.getLogger("ivr.acd")

SWEEP_SECONDS = 60.0
"""How often the pool is checked against the calls that really run."""


def utc_now() -> dt.datetime:
    """The wall clock, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class ContactCenter:
    """Agents, lines and callbacks of one controller, kept in a store.

    Args:
        agents: the agents of agents.yaml, by id.
        queues: the queues of queues.yaml, by name.
        store: where states are kept across restarts (None: nowhere).
        dialer: how callbacks ring agents (None: callbacks wait in line).
        clock: the time.
    """

    def __init__(
        self,
        agents: dict[str, AgentConfig],
        queues: dict[str, QueueConfig],
        *,
        store: AcdStore | None = None,
        dialer: CallbackDialer | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.store = store
        self.clock = clock
        self.pool = AgentPool(agents, queues, store=store)
        if store is not None:
            self.pool.restore(store.load(), clock())
        self.callbacks = CallbackService(self.pool, dialer)
        self._timers = Event()
        self.pool.on_timers_changed = self._timers.set
        self._greenlets: list[gevent.Greenlet] = []
        self._is_live: Callable[[str], bool] = lambda call_id: False

    def start(self, is_live: Callable[[str], bool], *, sweep_every: float = SWEEP_SECONDS) -> None:
        """Repair what an earlier run left, then keep time and sweep.

        Args:
            is_live: whether a call with this id still runs on this controller.
            sweep_every: seconds between sweeps.
        """
        self._is_live = is_live
        self.sweep()
        self._greenlets = [
            gevent.spawn(self._keep_time),
            gevent.spawn(self._keep_sweeping, sweep_every),
        ]

    def stop(self) -> None:
        """Stop keeping time and sweeping; end the agent state log; close the store."""
        gevent.killall(self._greenlets)
        self._greenlets = []
        self.pool.end_log(self.clock())
        if self.store is not None:
            self.store.close()

    def sweep(self) -> list[str]:
        """Free agents and lines from calls that are gone; returns what was repaired."""
        repairs = self.pool.sweep(
            lambda call_id: self._is_live(call_id) or self.callbacks.is_live(call_id),
            self.clock(),
        )
        for repair in repairs:
            log.warning("reconciliation: %s", repair)
        return repairs

    def _keep_time(self) -> None:
        while True:
            due = self.pool.next_due()
            timeout = None if due is None else max((due - self.clock()).total_seconds(), 0.0)
            self._timers.wait(timeout)
            self._timers.clear()
            try:
                self.pool.advance(self.clock())
            except Exception:  # one bad transition must not stop the clock for every agent
                log.exception("applying timed agent changes failed")

    def _keep_sweeping(self, every: float) -> None:
        while True:
            gevent.sleep(every)
            try:
                self.sweep()
            except Exception:
                log.exception("the reconciliation sweep failed")
