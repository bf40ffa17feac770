"""Wait estimates for callers in line, from the queue's recent handle times and staffed agents.

A handle time is one answered call's talk time plus the agent's wrap-up. With enough recent calls
and at least one agent taking calls, the estimate is the caller's position times the average
handle time, shared among the agents taking calls. Otherwise it is only a lower bound (the
shortest recent call, or a minute when there is no history), which callers hear as "more than N
minutes".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

RECENT_CALLS = 50
"""How many of a queue's latest handle times the estimate uses."""
MIN_SAMPLES = 3
"""Fewer recent calls than this and the estimate is only a lower bound."""
SHORTEST_CALL_SECONDS = 60.0
"""The lower bound of one call's handle time when a queue has no history yet."""


@dataclass(frozen=True)
class WaitEstimate:
    """How long a caller will probably wait.

    Attributes:
        seconds: the estimate, or its lower bound when ``sure`` is False.
        sure: the queue has enough history and agents taking calls for a real estimate.
    """

    seconds: float
    sure: bool


class HandleTimes:
    """The latest handle times of each queue, newest last."""

    def __init__(self, limit: int = RECENT_CALLS) -> None:
        self._limit = limit
        self._by_queue: dict[str, deque[float]] = {}

    def add(self, queue: str, seconds: float) -> None:
        self._by_queue.setdefault(queue, deque(maxlen=self._limit)).append(max(seconds, 0.0))

    def extend(self, queue: str, seconds: Iterable[float]) -> None:
        for value in seconds:
            self.add(queue, value)

    def recent(self, queue: str) -> list[float]:
        return list(self._by_queue.get(queue, ()))


def estimate_wait(position: int, taking_calls: int, recent: list[float]) -> WaitEstimate:
    """The wait of the caller at ``position`` (1 = next) in a queue.

    Args:
        position: the caller's place in line.
        taking_calls: agents of the queue who are logged in and not on a break.
        recent: the queue's recent handle times in seconds.
    """
    if len(recent) >= MIN_SAMPLES and taking_calls > 0:
        average = sum(recent) / len(recent)
        return WaitEstimate(position * average / taking_calls, True)
    shortest = min(recent) if recent else SHORTEST_CALL_SECONDS
    return WaitEstimate(position * shortest / max(taking_calls, 1), False)
