"""Whether a contact may be dialled now, and if not, why and from when (DESIGN.md section 9).

``decide`` is the one question a dialer asks before every call; it is pure (the clock is an
argument), so the rules are tested on any date, time zone and daylight-saving change. The rules,
in the order they are applied:

1. a number on a do-not-call list is never dialled (``dnc``);
2. a contact who answered is done (``done``);
3. a contact called ``max_attempts`` times is not called again (``max_attempts``); only calls
   that were placed count (``dnc_skipped`` and ``window_skipped`` were not);
4. after each result the contact waits its ``retry:`` time, and at least 72 h after an
   ``abandoned`` call, whatever came after it (``retry_wait``);
5. the contact's calling window must be open in its time zone, in every one of them when the
   number may ring in several (``outside_window``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from ivr.flow.campaigns import (
    DEFAULT_MAX_ATTEMPTS,
    MIN_ABANDONED_WAIT,
    RETRY_DEFAULTS,
    Campaign,
)

Window = Mapping[int, list[tuple[int, int]]]
"""Weekly hours: weekday (0 is Monday) to ranges in minutes since midnight, local time."""

DEFAULT_WINDOW: Window = {day: [(9 * 60, 20 * 60)] for day in range(6)}
"""A campaign without ``window:`` calls 09:00-20:00 Monday to Saturday."""

RESULTS = (
    "answered",
    "busy",
    "no_answer",
    "machine",
    "abandoned",
    "failed",
    "dnc_skipped",
    "window_skipped",
)
"""What an attempt ended with, as the journal records it."""
PLACED = frozenset(RESULTS[:6])
"""Results of calls that were placed: they count towards ``max_attempts``."""

DIAL = None
DNC = "dnc"
DONE = "done"
MAX_ATTEMPTS = "max_attempts"
RETRY_WAIT = "retry_wait"
OUTSIDE_WINDOW = "outside_window"

HORIZON = dt.timedelta(days=15)
"""How far ahead an opening is looked for: a weekly window that opens at all does within it."""
_UTC = dt.UTC


class Attempt(NamedTuple):
    """One earlier attempt at a contact: when it was made (aware) and how it ended."""

    when: dt.datetime
    result: str


@dataclass(frozen=True)
class Decision:
    """What to do with a contact now.

    Attributes:
        dial: whether to dial it now.
        reason: why not (``dnc``, ``done``, ``max_attempts``, ``retry_wait``,
            ``outside_window``); None when it is dialled.
        not_before: the first moment it may be dialled; None when dialled now or never.
    """

    dial: bool
    reason: str | None = None
    not_before: dt.datetime | None = None


@dataclass(frozen=True)
class DialRules:
    """A campaign's rules for calling one contact.

    Attributes:
        window: the weekly calling hours in the contact's own time.
        max_attempts: placed calls per contact at most.
        retry: seconds to wait after each result before the next call.
    """

    window: Window = field(default_factory=lambda: DEFAULT_WINDOW)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry: Mapping[str, float] = field(default_factory=lambda: dict(RETRY_DEFAULTS))

    @classmethod
    def of(cls, campaign: Campaign) -> DialRules:
        """The rules of a campaign from campaigns.yaml, with the defaults where it says none."""
        options = campaign.options
        return cls(
            window=options.get("window") or DEFAULT_WINDOW,
            max_attempts=options.get("max_attempts") or DEFAULT_MAX_ATTEMPTS,
            retry={**RETRY_DEFAULTS, **(options.get("retry") or {})},
        )

    def wait_after(self, result: str) -> dt.timedelta:
        """How long a contact waits after a call that ended with ``result``."""
        seconds = self.retry.get(result, 0.0)
        if result == "abandoned":
            seconds = max(seconds, MIN_ABANDONED_WAIT)
        return dt.timedelta(seconds=seconds)


def decide(
    rules: DialRules,
    zones: tuple[ZoneInfo, ...],
    history: Iterable[tuple[dt.datetime, str]],
    now: dt.datetime,
    *,
    on_dnc: bool = False,
) -> Decision:
    """Whether a contact may be dialled at ``now``; if not, why and from when.

    Args:
        rules: the campaign's rules.
        zones: the contact's time zones; the window must be open in all of them.
        history: the contact's earlier attempts as (when, result), in any order.
        now: the moment asked about (aware).
        on_dnc: the contact's number is on a do-not-call list.

    Raises:
        ValueError: ``now`` or an attempt's time is naive, or a result is unknown.
    """
    _aware(now)
    attempts = sorted(Attempt(*item) for item in history)
    for attempt in attempts:
        _aware(attempt.when)
        if attempt.result not in RESULTS:
            raise ValueError(f"unknown attempt result {attempt.result!r}: one of {RESULTS}")
    if on_dnc:
        return Decision(False, DNC)
    placed = [a for a in attempts if a.result in PLACED]
    if any(a.result == "answered" for a in placed):
        return Decision(False, DONE)
    if len(placed) >= rules.max_attempts:
        return Decision(False, MAX_ATTEMPTS)
    waits = [a.when + rules.wait_after(a.result) for a in placed if a.result == "abandoned"]
    if placed:
        waits.append(placed[-1].when + rules.wait_after(placed[-1].result))
    until = max(waits, default=now)
    if until > now:
        opening = next_open(rules.window, zones, until)
        return Decision(False, RETRY_WAIT if opening else OUTSIDE_WINDOW, opening)
    if is_open(rules.window, zones, now):
        return Decision(True)
    return Decision(False, OUTSIDE_WINDOW, next_open(rules.window, zones, now))


def is_open(window: Window, zones: tuple[ZoneInfo, ...], when: dt.datetime) -> bool:
    """Whether the window is open at ``when`` in every one of ``zones`` (false for none)."""
    if not zones:
        return False
    for zone in zones:
        local = when.astimezone(zone)
        minute = local.hour * 60 + local.minute
        if not any(start <= minute < end for start, end in window.get(local.weekday(), ())):
            return False
    return True


def next_open(
    window: Window, zones: tuple[ZoneInfo, ...], after: dt.datetime
) -> dt.datetime | None:
    """The first moment from ``after`` on when the window is open in every one of ``zones``.

    The window is read in each zone's wall-clock time, so it follows daylight-saving changes: a
    window opening at 02:30 on a night that skips 02:00-03:00 opens at 03:00, and one opening
    at 01:30 on a night that repeats 01:00-02:00 opens the first time 01:30 comes.

    Returns:
        That moment, in ``after``'s time zone; None when the window does not open in all the
        zones together within ``HORIZON`` (they lie too far apart for it).
    """
    _aware(after)
    if not zones:
        return None
    start = after.astimezone(_UTC)
    end = start + HORIZON
    # The set of moments open in every zone starts either now, where one zone's window opens, or
    # where a zone's clock jumps into its window; those moments are all that need checking.
    candidates = {start}
    for zone in zones:
        candidates.update(_openings(window, zone, start, end))
        day = start.date()
        while day <= end.date():
            candidates.update(t for t in _clock_changes(zone, day) if start <= t <= end)
            day += dt.timedelta(days=1)
    for moment in sorted(candidates):
        if is_open(window, zones, moment):
            return moment.astimezone(after.tzinfo)
    return None


def _openings(window: Window, zone: ZoneInfo, start: dt.datetime, end: dt.datetime):
    """The moments between ``start`` and ``end`` whose wall-clock time in ``zone`` opens a range.

    Both readings of a wall time are given: the first and the second time a repeated hour comes,
    and, for a time the clock skips, the moment just after the skip (the checks that follow
    discard readings that are not open).
    """
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        for opening, _ in window.get(day.weekday(), ()):
            wall = dt.datetime.combine(day, dt.time(opening // 60, opening % 60), tzinfo=zone)
            for fold in (0, 1):
                moment = wall.replace(fold=fold).astimezone(_UTC)
                if start <= moment <= end:
                    yield moment
        day += dt.timedelta(days=1)


@lru_cache(maxsize=16384)
def _clock_changes(zone: ZoneInfo, day: dt.date) -> tuple[dt.datetime, ...]:
    """The moments of the UTC day ``day`` when ``zone``'s UTC offset changes, to the second."""
    found = []
    moment = dt.datetime.combine(day, dt.time(), tzinfo=_UTC)
    for _ in range(24):
        later = moment + dt.timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = moment, later
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment = later
    return tuple(found)


def _aware(when: dt.datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when} has no time zone: give an aware datetime")
