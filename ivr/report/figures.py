"""The figures of a report, computed in one pass over the journal's entries.

Definitions (docs/reports.md says the same for supervisors):

- **containment**: self-served calls (outcome ``self_served``) over all calls;
- **abandoned in the IVR**: calls whose caller hung up in the menus (``ivr_hangup``), over all
  calls;
- **short abandons**: callers who hung up in a queue in under ``short_abandon`` seconds; they are
  counted apart and left out of the calls **offered** (the calls that entered a queue);
- **abandon rate**: ``abandoned`` calls (short abandons out) over calls offered; **average time
  to abandon**: the mean wait of those abandoned calls;
- **ASA** (average speed of answer): mean time from entering the queue to an agent answering,
  ringing included, over answered calls;
- **service level**: calls answered within their queue's own ``service_level`` (as configured
  when the call was taken) over the calls offered to that queue;
- **AHT** (average handle time): mean talk + wrap-up time of answered calls (agents have no hold);
- **callbacks**: *scheduled* are calls with outcome ``callback``; of those, *made* are callbacks
  whose caller's phone was dialed at least once, and *reached* those whose caller answered and
  was connected to an agent (a callback counts with the call that asked for it);
- **agent time** and **occupancy**: from the agent state log (``ivr.report.agents``);
- **node funnel**: per flow and node, entries (visits), calls that reached it, each result label,
  hang-ups (callers who gave up there: ``ivr_hangup`` in the menus, ``abandoned`` in a queue)
  and zero-outs (the caller pressed 0 there).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ivr.report.agents import AgentTimes
from ivr.store.journal import JournalEntry

RECORDINGS_SHOWN = 500
"""Recorded calls the HTML report lists and plays, the latest ones (``ivr recordings list``
lists them all)."""
DEFAULT_SHORT_ABANDON = 5.0
"""Callers who hang up in a queue in under this many seconds are short abandons (``ivr report
--short-abandon``): most of them misdialed or changed their mind before an agent could answer."""
INTERVALS = {"15m": 15, "30m": 30, "60m": 60, "day": 24 * 60}
"""``ivr report --interval`` choices and their length in minutes (staffing is planned per
interval)."""
DEFAULT_SERVICE_LEVEL = 20.0
"""Target for a queued call whose queue was unknown when it was journaled (queues.yaml default)."""
WAIT_BUCKETS: list[tuple[float, float | None]] = [
    (0, 10),
    (10, 20),
    (20, 30),
    (30, 60),
    (60, 120),
    (120, 300),
    (300, 600),
    (600, None),
]
"""Wait-time distribution bins in seconds: [low, high), the last one open."""
ENDED = "(end)"
"""Funnel label of a node where the flow ended the call (hang-up node, agent, transfer)."""
FAILED = "(failed)"
"""Funnel label of a node where the call failed for good."""
GAVE_UP = ("ivr_hangup", "abandoned")
"""Outcomes of callers who gave up: the funnel counts them as hang-ups where they hung up."""


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


@dataclass
class Totals:
    """Counts and sums over a group of calls, and the rates derived from them.

    Attributes:
        short_abandon: callers who hang up in a queue in under this many seconds are counted
            apart, out of the abandon rate and of service level's calls offered (0: none are).
    """

    short_abandon: float = DEFAULT_SHORT_ABANDON
    calls: int = 0
    outcomes: Counter = field(default_factory=Counter)
    goals: Counter = field(default_factory=Counter)
    queued: int = 0
    answered: int = 0
    answered_in_target: int = 0
    answer_seconds: float = 0.0
    talk_seconds: float = 0.0
    wrap_up_seconds: float = 0.0
    short_abandons: int = 0
    abandon_seconds: float = 0.0
    """Summed waits of the abandoned calls that count (short abandons left out)."""
    longest_wait: float | None = None
    targets: set[float] = field(default_factory=set)
    callbacks_made: int = 0
    callbacks_reached: int = 0

    def add(self, entry: JournalEntry) -> None:
        """Count one call in."""
        record = entry.record
        self.calls += 1
        self.outcomes[record.outcome] += 1
        self.goals.update(set(record.goals))
        if entry.callback is not None and entry.callback.made:
            self.callbacks_made += 1
            self.callbacks_reached += entry.callback.reached
        wait = record.wait_seconds
        if record.queued_at is None or wait is None:
            return
        target = entry.service_level if entry.service_level is not None else DEFAULT_SERVICE_LEVEL
        self.targets.add(target)
        self.queued += 1
        self.longest_wait = wait if self.longest_wait is None else max(self.longest_wait, wait)
        if record.agent_answered_at is not None:
            self.answered += 1
            self.answer_seconds += wait
            self.talk_seconds += record.talk_seconds
            self.wrap_up_seconds += entry.wrap_up_seconds
            self.answered_in_target += wait <= target
        elif record.outcome == "abandoned":
            if wait < self.short_abandon:
                self.short_abandons += 1
            else:
                self.abandon_seconds += wait

    @property
    def self_served(self) -> int:
        return self.outcomes["self_served"]

    @property
    def ivr_hangups(self) -> int:
        return self.outcomes["ivr_hangup"]

    @property
    def abandoned(self) -> int:
        """Every caller who hung up waiting in a queue, short abandons included."""
        return self.outcomes["abandoned"]

    @property
    def counted_abandons(self) -> int:
        """Abandoned calls that count in the abandon rate: short abandons left out."""
        return self.abandoned - self.short_abandons

    @property
    def offered(self) -> int:
        """Calls offered to a queue: every queued call but the short abandons."""
        return self.queued - self.short_abandons

    @property
    def left_queue_otherwise(self) -> int:
        """Queued calls neither answered nor abandoned: max_wait, a key out, or a callback."""
        return self.queued - self.answered - self.abandoned

    @property
    def callbacks_scheduled(self) -> int:
        return self.outcomes["callback"]

    @property
    def callback_reach(self) -> float | None:
        """Callbacks reached over callbacks made."""
        return _share(self.callbacks_reached, self.callbacks_made)

    @property
    def containment(self) -> float | None:
        return _share(self.self_served, self.calls)

    @property
    def ivr_abandonment(self) -> float | None:
        return _share(self.ivr_hangups, self.calls)

    @property
    def queue_abandonment(self) -> float | None:
        """The abandon rate: abandoned calls over calls offered, short abandons out of both."""
        return _share(self.counted_abandons, self.offered)

    @property
    def average_time_to_abandon(self) -> float | None:
        """Mean wait of the abandoned calls that count (short abandons left out)."""
        return _mean(self.abandon_seconds, self.counted_abandons)

    @property
    def service_level(self) -> float | None:
        return _share(self.answered_in_target, self.offered)

    @property
    def asa(self) -> float | None:
        return _mean(self.answer_seconds, self.answered)

    @property
    def aht(self) -> float | None:
        """Average handle time: talk and wrap-up of answered calls (agents have no hold)."""
        return _mean(self.talk_seconds + self.wrap_up_seconds, self.answered)


@dataclass
class AgentTotals:
    """One agent's answered calls, their talk time and the wrap-up after them."""

    calls: int = 0
    talk_seconds: float = 0.0
    wrap_up_seconds: float = 0.0

    def add(self, entry: JournalEntry) -> None:
        self.calls += 1
        self.talk_seconds += entry.record.talk_seconds
        self.wrap_up_seconds += entry.wrap_up_seconds

    @property
    def aht(self) -> float | None:
        return _mean(self.talk_seconds + self.wrap_up_seconds, self.calls)


@dataclass
class NodeFunnel:
    """What happened at one node of one flow."""

    flow: str
    node: str
    type: str
    depth: int
    entries: int = 0
    calls: int = 0
    hangups: int = 0
    zero_outs: int = 0
    results: Counter = field(default_factory=Counter)


@dataclass
class WaitBucket:
    """Queued calls whose wait fell in [low, high) seconds, by how the wait ended."""

    low: float
    high: float | None
    answered: int = 0
    abandoned: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.answered + self.abandoned + self.other


@dataclass
class Report:
    """Every figure of a report over the calls that matched its filter.

    Attributes:
        timezone: where hours and days are counted (None: the machine's local time).
        start: the first instant reported on (the filter's, else the first call's start).
        end: the end of the reported period (the filter's, else the last call's start).
        short_abandon: callers who hang up in a queue in under this many seconds are short
            abandons, counted apart (0: none are).
        interval: the ``--interval`` the calls are also counted per (``15m`` ... ``day``), or
            None for no interval table.
    """

    timezone: ZoneInfo | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    tenant: str | None = None
    queue: str | None = None
    short_abandon: float = DEFAULT_SHORT_ABANDON
    interval: str | None = None
    totals: Totals = field(init=False)
    by_hour: dict[int, Totals] = field(default_factory=dict)
    by_day: dict[dt.date, Totals] = field(default_factory=dict)
    by_interval: dict[dt.datetime, Totals] = field(default_factory=dict)
    """Calls per ``interval``, keyed by the interval's local start."""
    by_tenant: dict[str, Totals] = field(default_factory=dict)
    by_queue: dict[str, Totals] = field(default_factory=dict)
    by_agent: dict[str, AgentTotals] = field(default_factory=dict)
    funnels: dict[str, dict[str, NodeFunnel]] = field(default_factory=dict)
    waits: list[WaitBucket] = field(
        default_factory=lambda: [WaitBucket(low, high) for low, high in WAIT_BUCKETS]
    )
    recorded: deque[JournalEntry] = field(default_factory=lambda: deque(maxlen=RECORDINGS_SHOWN))
    """The latest calls with a recording file, for the page that plays them."""
    recorded_calls: int = 0
    """All calls with a recording file in the report."""
    tenant_names: dict[str, str] = field(default_factory=dict)
    """Each tenant's company name, as the journal last had it from tenants.yaml."""
    agent_times: AgentTimes = field(default_factory=AgentTimes)
    """Agent time from the agent state log (read apart from the calls: see ``read_agent_times``)."""

    def __post_init__(self) -> None:
        self.totals = self.group()

    def group(self) -> Totals:
        """Empty totals for one group of calls, counting short abandons by the report's rule."""
        return Totals(short_abandon=self.short_abandon)

    def _of(self, groups: dict, key) -> Totals:
        """The totals of ``key`` in ``groups``, made on its first call (not once per call)."""
        totals = groups.get(key)
        if totals is None:
            totals = groups[key] = self.group()
        return totals

    def local(self, when: dt.datetime) -> dt.datetime:
        """``when`` in the report's time zone."""
        return when.astimezone(self.timezone)

    def add(self, entry: JournalEntry) -> None:
        """Count one call into every figure."""
        record = entry.record
        started = self.local(record.started_at)
        self.totals.add(entry)
        self._of(self.by_hour, started.hour).add(entry)
        self._of(self.by_day, started.date()).add(entry)
        if self.interval is not None:
            self._of(self.by_interval, self.interval_start(started)).add(entry)
        self._of(self.by_tenant, record.tenant or "").add(entry)
        if record.queue is not None and record.queued_at is not None:
            self._of(self.by_queue, record.queue).add(entry)
            self._add_wait(entry)
        if record.agent is not None and record.agent_answered_at is not None:
            self.by_agent.setdefault(record.agent, AgentTotals()).add(entry)
        if any(r.status in ("recorded", "stopped") for r in record.recordings):
            self.recorded.append(entry)
            self.recorded_calls += 1
        self._add_path(entry)

    def interval_start(self, started: dt.datetime) -> dt.datetime:
        """The start of the ``interval`` holding a local time: intervals start on the hour."""
        minutes = INTERVALS[self.interval]
        if minutes >= 24 * 60:
            return started.replace(hour=0, minute=0, second=0, microsecond=0)
        of_day = started.hour * 60 + started.minute
        floor = of_day // minutes * minutes
        return started.replace(hour=floor // 60, minute=floor % 60, second=0, microsecond=0)

    def _add_wait(self, entry: JournalEntry) -> None:
        record = entry.record
        wait = record.wait_seconds or 0.0
        bucket = next(b for b in self.waits if b.high is None or wait < b.high)
        if record.agent_answered_at is not None:
            bucket.answered += 1
        elif record.outcome == "abandoned":
            bucket.abandoned += 1
        else:
            bucket.other += 1

    def _add_path(self, entry: JournalEntry) -> None:
        record = entry.record
        seen: set[tuple[str, str]] = set()
        gave_up = record.outcome in GAVE_UP
        last = len(record.visits) - 1
        for depth, visit in enumerate(record.visits):
            nodes = self.funnels.setdefault(visit.flow, {})
            node = nodes.get(visit.node)
            if node is None:
                node = nodes[visit.node] = NodeFunnel(visit.flow, visit.node, visit.type, depth)
            node.depth = min(node.depth, depth)
            node.entries += 1
            if (visit.flow, visit.node) not in seen:
                seen.add((visit.flow, visit.node))
                node.calls += 1
            if visit.result == "0":
                node.zero_outs += 1
            if visit.result is not None:
                node.results[visit.result] += 1
            elif depth == last and gave_up:
                node.hangups += 1
            elif depth == last and record.outcome == "error":
                node.results[FAILED] += 1
            else:
                node.results[ENDED] += 1

    def flow_nodes(self, flow: str) -> list[NodeFunnel]:
        """A flow's nodes in funnel order: nearest the start first, then the busiest."""
        return sorted(self.funnels[flow].values(), key=lambda n: (n.depth, -n.entries, n.node))


def build_report(
    entries: Iterable[JournalEntry],
    *,
    timezone: ZoneInfo | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    tenant: str | None = None,
    queue: str | None = None,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
    interval: str | None = None,
) -> Report:
    """Compute a report over ``entries`` (already filtered by the journal).

    Args:
        entries: the calls, oldest first.
        timezone: where hours and days are counted; None for the machine's local time.
        start: the filter's start, shown as the period's start (else the first call's).
        end: the filter's end (else the last call's start).
        tenant: the tenant filter, for the heading.
        queue: the queue filter, for the heading.
        short_abandon: callers who hang up in a queue in under this many seconds are short
            abandons: counted apart, out of the abandon rate and service level (0: none are).
        interval: also count the calls per interval of their start (a key of ``INTERVALS``).
    """
    report = Report(timezone, start, end, tenant, queue, short_abandon, interval)
    first = last = None
    for entry in entries:
        report.add(entry)
        started = entry.record.started_at
        first = started if first is None else min(first, started)
        last = started if last is None else max(last, started)
    report.start = start or first
    report.end = end or last
    return report
