"""The figures of a report, added up by the journal and put together here.

The journal adds the calls up in groups of one UTC quarter hour, tenant and queue
(``Journal.call_sums``); every real time-zone offset is a multiple of 15 minutes, so the report's
hours, days and intervals in any zone, its tenants and queues are each a sum of those groups
(``Totals.merge``). Goals, waits, node funnels, agents and recordings are one query each.

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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ivr.nodes.survey import YES_NO
from ivr.report.agents import AgentTimes
from ivr.store.journal import CallFilter, CallSums, Journal, JournalEntry

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
        goals: calls per goal reached; counted for the whole report (``Report.totals``) only.
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

    @classmethod
    def of(cls, sums: CallSums, short_abandon: float) -> Totals:
        """The totals of one group of calls as the journal added it up."""
        return cls(
            short_abandon=short_abandon,
            calls=sum(sums.outcomes.values()),
            outcomes=Counter(sums.outcomes),
            queued=sums.queued,
            answered=sums.answered,
            answered_in_target=sums.answered_in_target,
            answer_seconds=sums.answer_seconds,
            talk_seconds=sums.talk_seconds,
            wrap_up_seconds=sums.wrap_up_seconds,
            short_abandons=sums.short_abandons,
            abandon_seconds=sums.abandon_seconds,
            longest_wait=sums.longest_wait,
            targets={sums.target} if sums.target is not None else set(),
            callbacks_made=sums.callbacks_made,
            callbacks_reached=sums.callbacks_reached,
        )

    def merge(self, other: Totals) -> None:
        """Count the calls of ``other`` in too (a group of other calls)."""
        self.calls += other.calls
        for outcome, calls in other.outcomes.items():
            self.outcomes[outcome] += calls
        for goal, calls in other.goals.items():
            self.goals[goal] += calls
        self.queued += other.queued
        self.answered += other.answered
        self.answered_in_target += other.answered_in_target
        self.answer_seconds += other.answer_seconds
        self.talk_seconds += other.talk_seconds
        self.wrap_up_seconds += other.wrap_up_seconds
        self.short_abandons += other.short_abandons
        self.abandon_seconds += other.abandon_seconds
        if other.longest_wait is not None:
            longest = self.longest_wait
            self.longest_wait = (
                other.longest_wait if longest is None else max(longest, other.longest_wait)
            )
        self.targets |= other.targets
        self.callbacks_made += other.callbacks_made
        self.callbacks_reached += other.callbacks_reached

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

    @property
    def aht(self) -> float | None:
        return _mean(self.talk_seconds + self.wrap_up_seconds, self.calls)


@dataclass
class SurveyTotals:
    """The answers one survey question got, over a group of calls.

    Attributes:
        scale: the question's scale (``1-5``, ``0-10``, ``yes/no``).
        asked: times the question was asked (answered or not).
        answers: calls per answer (numbers and ``yes``/``no`` as text).
    """

    scale: str
    asked: int = 0
    answers: Counter = field(default_factory=Counter)

    def add(self, answer: str | None, calls: int) -> None:
        self.asked += calls
        if answer is not None:
            self.answers[answer] += calls

    @property
    def answered(self) -> int:
        return sum(self.answers.values())

    @property
    def response_rate(self) -> float | None:
        """Answered over asked: callers who gave a valid key."""
        return _share(self.answered, self.asked)

    @property
    def mean(self) -> float | None:
        """The mean answer on a number scale (None for yes/no, or no answer)."""
        numbers = {a: n for a, n in self.answers.items() if a.lstrip("-").isdigit()}
        if not numbers or self.scale == YES_NO:
            return None
        return sum(int(a) * n for a, n in numbers.items()) / sum(numbers.values())

    @property
    def yes_share(self) -> float | None:
        """Yes over yes and no, for a yes/no question."""
        if self.scale != YES_NO:
            return None
        return _share(self.answers["yes"], self.answers["yes"] + self.answers["no"])

    def answers_text(self) -> str:
        """Each answer with its count, in the scale's order (``1:2, 2:0, ...``)."""

        def order(answer: str) -> tuple:
            return (
                not answer.lstrip("-").isdigit(),
                int(answer) if answer.isdigit() else 0,
                answer,
            )

        return ", ".join(f"{a}:{self.answers[a]}" for a in sorted(self.answers, key=order))


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
    by_tenant_interval: dict[tuple[str, dt.datetime], Totals] = field(default_factory=dict)
    """Calls per tenant and ``interval``, each tenant's intervals in its own time zone (see
    ``zones``)."""
    by_queue_interval: dict[tuple[str, dt.datetime], Totals] = field(default_factory=dict)
    """Calls per queue and ``interval``, in the report's time zone."""
    zones: dict[str, ZoneInfo] = field(default_factory=dict)
    """The tenants' own time zones (tenants.yaml), for their intervals."""
    by_tenant: dict[str, Totals] = field(default_factory=dict)
    by_queue: dict[str, Totals] = field(default_factory=dict)
    by_agent: dict[str, AgentTotals] = field(default_factory=dict)
    funnels: dict[str, dict[str, NodeFunnel]] = field(default_factory=dict)
    waits: list[WaitBucket] = field(
        default_factory=lambda: [WaitBucket(low, high) for low, high in WAIT_BUCKETS]
    )
    recorded: list[JournalEntry] = field(default_factory=list)
    """The latest ``RECORDINGS_SHOWN`` calls with a recording file, oldest first, for the page
    that plays them."""
    recorded_calls: int = 0
    """All calls with a recording file in the report."""
    surveys: dict[str, SurveyTotals] = field(default_factory=dict)
    """Per survey question, its answers."""
    survey_groups: dict[tuple[str, str, str], SurveyTotals] = field(default_factory=dict)
    """Per (question, ``tenant``/``queue``/``agent``, which one), its answers."""
    tenant_names: dict[str, str] = field(default_factory=dict)
    """Each tenant's company name, as the journal last had it from tenants.yaml."""
    agent_times: AgentTimes = field(default_factory=AgentTimes)
    """Agent time from the agent state log (read apart from the calls: see ``read_agent_times``)."""
    previous: Report | None = None
    """The same report over the period of equal length just before this one (``run_report``
    fills it in for a bounded period); None when that period has no call."""

    def __post_init__(self) -> None:
        self.totals = self.group()

    def group(self) -> Totals:
        """Empty totals for one group of calls, counting short abandons by the report's rule."""
        return Totals(short_abandon=self.short_abandon)

    def _of(self, groups: dict, key) -> Totals:
        """The totals of ``key`` in ``groups``, made on its first group of calls."""
        totals = groups.get(key)
        if totals is None:
            totals = groups[key] = self.group()
        return totals

    def local(self, when: dt.datetime) -> dt.datetime:
        """``when`` in the report's time zone."""
        return when.astimezone(self.timezone)

    def add(self, sums: Iterable[CallSums]) -> None:
        """Count groups of calls (from ``Journal.call_sums``) into every figure they are in."""
        quarters: dict[dt.datetime, Totals] = {}
        for group in sums:
            part = Totals.of(group, self.short_abandon)
            self._of(self.by_tenant, group.tenant or "").merge(part)
            if group.queue is not None:
                self._of(self.by_queue, group.queue).merge(part)
            self._of(quarters, group.bucket).merge(part)
            if self.interval is not None:
                tenant = group.tenant or ""
                zone = self.zones.get(tenant, self.timezone)
                held = self.interval_start(group.bucket.astimezone(zone))
                self._of(self.by_tenant_interval, (tenant, held)).merge(part)
                if group.queue is not None:
                    held = self.interval_start(self.local(group.bucket))
                    self._of(self.by_queue_interval, (group.queue, held)).merge(part)
        # A quarter hour is all in one local hour, day and interval: its calls are added up
        # once, then counted into those.
        for bucket, part in quarters.items():
            started = self.local(bucket)
            self.totals.merge(part)
            self._of(self.by_hour, started.hour).merge(part)
            self._of(self.by_day, started.date()).merge(part)
            if self.interval is not None:
                self._of(self.by_interval, self.interval_start(started)).merge(part)

    def interval_start(self, started: dt.datetime) -> dt.datetime:
        """The start of the ``interval`` holding a local time: intervals start on the hour."""
        minutes = INTERVALS[self.interval]
        if minutes >= 24 * 60:
            return started.replace(hour=0, minute=0, second=0, microsecond=0)
        of_day = started.hour * 60 + started.minute
        floor = of_day // minutes * minutes
        return started.replace(hour=floor // 60, minute=floor % 60, second=0, microsecond=0)

    def flow_nodes(self, flow: str) -> list[NodeFunnel]:
        """A flow's nodes in funnel order: nearest the start first, then the busiest."""
        return sorted(self.funnels[flow].values(), key=lambda n: (n.depth, -n.entries, n.node))


def _funnels(journal: Journal, where: CallFilter) -> dict[str, dict[str, NodeFunnel]]:
    funnels: dict[str, dict[str, NodeFunnel]] = {}
    for sums in journal.node_sums(where, GAVE_UP):
        results = Counter(sums.results)
        results.update({ENDED: sums.ended, FAILED: sums.failed})
        funnels.setdefault(sums.flow, {})[sums.node] = NodeFunnel(
            sums.flow,
            sums.node,
            sums.type,
            sums.depth,
            sums.entries,
            sums.calls,
            sums.hangups,
            sums.results.get("0", 0),
            +results,
        )
    return funnels


def _agents(journal: Journal, where: CallFilter) -> dict[str, AgentTotals]:
    return {
        agent: AgentTotals(calls, talk, wrap_up)
        for agent, (calls, talk, wrap_up) in journal.agent_sums(where).items()
    }


def build_report(
    journal: Journal,
    where: CallFilter | None = None,
    *,
    timezone: ZoneInfo | None = None,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
    interval: str | None = None,
    zones: dict[str, ZoneInfo] | None = None,
) -> Report:
    """Compute a report over the calls of ``journal`` matching ``where``.

    Args:
        journal: the journal; it adds the calls up (``Journal.call_sums`` and the others).
        where: the calls (all of them when None); its period, tenant and queue are the heading's.
        timezone: where hours and days are counted; None for the machine's local time.
        short_abandon: callers who hang up in a queue in under this many seconds are short
            abandons: counted apart, out of the abandon rate and service level (0: none are).
        interval: also count the calls per interval of their start (a key of ``INTERVALS``).
        zones: tenants' own time zones: their intervals are counted in them.
    """
    where = where or CallFilter()
    report = Report(
        timezone, where.start, where.end, where.tenant, where.queue, short_abandon, interval
    )
    report.zones = dict(zones or {})
    report.add(
        journal.call_sums(where, short_abandon=short_abandon, default_target=DEFAULT_SERVICE_LEVEL)
    )
    report.totals.goals.update(journal.goal_counts(where))
    highs = [high for _, high in WAIT_BUCKETS if high is not None]
    for bucket, (answered, abandoned, other) in zip(
        report.waits, journal.wait_counts(where, highs), strict=True
    ):
        bucket.answered, bucket.abandoned, bucket.other = answered, abandoned, other
    report.funnels = _funnels(journal, where)
    report.by_agent = _agents(journal, where)
    for row in journal.survey_sums(where):
        report.surveys.setdefault(row.question, SurveyTotals(row.scale)).add(row.answer, row.calls)
        for by, name in (("tenant", row.tenant), ("queue", row.queue), ("agent", row.agent)):
            if name is not None:
                key = (row.question, by, name)
                report.survey_groups.setdefault(key, SurveyTotals(row.scale)).add(
                    row.answer, row.calls
                )
    report.recorded_calls, report.recorded = journal.recorded(where, RECORDINGS_SHOWN)
    period = journal.period(where) if where.start is None or where.end is None else None
    if period is not None:
        report.start = where.start or period[0]
        report.end = where.end or period[1]
    return report
