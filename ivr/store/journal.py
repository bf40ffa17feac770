"""The call journal's interface: what any journal store (SQLite, PostgreSQL) must do.

A journal keeps one entry per call: the call's closed ``CallRecord`` and the queue's answer-time
target at the time of the call, so service levels stay as they were when the call was taken even
after ``queues.yaml`` changes. A call that asked for a callback also gets a ``CallbackEntry``
(written later, when the callback is dialed), read back with the call. Writers append entries in
batches; reports read them back by time, tenant and queue.

A call is also noted when it starts (``OpenCall``), and its entry replaces that note when it
ends: a controller killed mid-call (``kill -9``, a power cut) leaves its calls open, and the next
controller to open the journal on that host closes each one whose controller is gone as lost,
with the reason, so every call that reached a controller has exactly one closed entry.

Reports do not read the calls one by one: a journal adds them up itself (``call_sums``,
``node_sums``, ``wait_counts`` ...), so a report over a million calls takes seconds. Each of these
is one aggregate query in a SQL store.

Agents' states are journaled too, as ``AgentSegment`` entries: one per stretch of time an agent
spent in one state (logged out, available, ringing, on a call, in wrap-up, on a break with its
reason), written open when it starts and again, closed, when it ends. Reports count agent time
(login, ready, talk, wrap-up, breaks, occupancy) from them, and AHT's wrap-up part.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ivr.acd.model import AgentSegment
from ivr.errors import IvrError
from ivr.flow.compiler import Project
from ivr.runtime.record import CallRecord


class JournalError(IvrError):
    """The journal cannot be opened, read or written (a missing or foreign file, a bad schema)."""


class JournalUnavailable(JournalError):
    """A write failed for a reason that may pass (disk full, database locked); retry later."""


@dataclass
class CallbackEntry:
    """What became of the callback a call asked for, keyed by that call's id.

    Attributes:
        call_id: the call that asked for the callback.
        number: the number called back.
        status: ``scheduled`` (waiting for its first or next try), ``answered`` (the caller
            answered and was connected to the agent) or ``failed`` (given up).
        agent: the agent who reached the caller.
        attempts: times the caller's phone was dialed.
        first_dialed_at: when the caller's phone was first dialed.
        last_ended_at: when the last dial ended (answered: the conversation ended).
    """

    call_id: str
    number: str
    status: str = "scheduled"
    agent: str | None = None
    attempts: int = 0
    first_dialed_at: dt.datetime | None = None
    last_ended_at: dt.datetime | None = None

    @property
    def made(self) -> bool:
        """The caller's phone was dialed at least once."""
        return self.attempts > 0

    @property
    def reached(self) -> bool:
        """The caller answered and was connected to an agent."""
        return self.status == "answered"


@dataclass
class JournalEntry:
    """One call as the journal keeps it.

    Attributes:
        record: the call's closed record (outcome decided, inputs already masked).
        service_level: the answer-time target in seconds of the queue the caller waited in,
            as configured when the call was taken; None when the caller never queued.
        callback: the callback the call asked for, once it was journaled (read back only;
            written as a ``CallbackEntry`` of its own).
    """

    record: CallRecord
    service_level: float | None = None
    callback: CallbackEntry | None = None

    @property
    def call_id(self) -> str:
        return self.record.call_id

    @classmethod
    def of(cls, record: CallRecord, project: Project) -> JournalEntry:
        """The entry for a finished call of ``project``, with its queue's target."""
        queue = project.queues.get(record.queue) if record.queue else None
        return cls(record, queue.service_level if queue is not None else None)


@dataclass(frozen=True)
class OpenCall:
    """A call that started, noted until its own entry replaces the note when it ends.

    Attributes:
        call_id: the call.
        flow: the flow it started in.
        tenant: the tenant it is for.
        caller: the caller's number.
        dialed: the number dialed.
        started_at: when it started.
        host: the machine of the controller taking it.
        pid: that controller's process.
    """

    call_id: str
    flow: str
    tenant: str | None
    caller: str | None
    dialed: str | None
    started_at: dt.datetime
    host: str
    pid: int

    @classmethod
    def of(cls, record: CallRecord, host: str, pid: int) -> OpenCall:
        """The note for the call of ``record``, which has just started on ``host``'s ``pid``."""
        return cls(
            record.call_id,
            record.flow,
            record.tenant,
            record.caller,
            record.dialed,
            record.started_at,
            host,
            pid,
        )

    def lost(self) -> CallRecord:
        """The closed record of this call, cut by its controller's end before it was journaled."""
        return CallRecord(
            call_id=self.call_id,
            caller=self.caller,
            dialed=self.dialed,
            flow=self.flow,
            tenant=self.tenant,
            started_at=self.started_at,
            error=(
                f"lost: the controller (process {self.pid} on {self.host}) stopped before the "
                "call's end was journaled"
            ),
            outcome="error",
        )


@dataclass(frozen=True)
class SurveySums:
    """How often one survey question got one answer, in calls of one tenant, queue and agent.

    Attributes:
        question: the question's id (the survey node's ``question``).
        scale: its scale (``1-5``, ``0-10``, ``yes/no``).
        answer: the answer (a number or ``yes``/``no``, as text); None for callers who gave
            none (no valid key in the attempts, or they hung up).
        tenant: the call's tenant.
        queue: the queue the call waited in (a post-call survey's), else None.
        agent: the agent who answered the call, else None.
        calls: how many times.
    """

    question: str
    scale: str
    answer: str | None
    tenant: str | None
    queue: str | None
    agent: str | None
    calls: int


@dataclass(frozen=True)
class TenantEntry:
    """A tenant as tenants.yaml describes it, kept so reports can name it and keep its hours.

    Attributes:
        id: the tenant's id (what calls are journaled with).
        name: the company's name.
        timezone: the IANA name of the zone its days and intervals are counted in; empty for
            none.
    """

    id: str
    name: str
    timezone: str = ""

    @property
    def call_id(self) -> str:
        """None of its calls: for the writer's messages, which name the calls of an entry."""
        return f"(tenant {self.id})"


@dataclass(frozen=True)
class AgentTime:
    """Seconds one agent spent in one state (and reason) within a report's period.

    Attributes:
        agent: the agent's id.
        name: the agent's name, as last journaled.
        state: the state.
        reason: the break's reason (empty for other states).
        seconds: the time in that state, cut to the period (a state still lasting counts up
            to the period's end or the time of the report, whichever is earlier).
        segments: the stretches counted (for ``ringing``: the calls offered).
        missed: of those, ringing stretches that did not end in a conversation.
        bucket: the UTC start of the 15-minute stretch counted (None: the whole period).
    """

    agent: str
    name: str
    state: str
    reason: str
    seconds: float
    segments: int = 0
    missed: int = 0
    bucket: dt.datetime | None = None


@dataclass(frozen=True)
class CallFilter:
    """Which calls a report reads: started in [start, end), of a tenant, through a queue.

    Each field left None does not filter.
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    tenant: str | None = None
    queue: str | None = None


@dataclass
class CallSums:
    """Counts and sums over the calls of one group, for a report to add up.

    A group is the calls that started in the same UTC quarter hour, of one tenant, queued in one
    queue with one answer-time target (or not queued). Every real time-zone offset is a multiple
    of 15 minutes, so a report's hours, days and intervals in any zone are sums of groups.

    Attributes:
        bucket: the UTC start of the quarter hour the calls started in.
        tenant: their tenant.
        queue: the queue they entered (None: they never entered one).
        target: the answer-time target of the calls counted as queued (entered a queue with a
            known wait); None when none is.
        outcomes: calls per outcome.
        queued: calls that entered a queue and left it after a known wait.
        answered: queued calls an agent answered.
        answered_in_target: answered calls whose wait was at most ``target``.
        answer_seconds: the waits of the answered calls, summed.
        talk_seconds: their talk times, summed.
        wrap_up_seconds: the wrap-up the answering agents had after them (agent state log).
        short_abandons: abandoned calls that waited less than the short-abandon time.
        abandon_seconds: the waits of the other abandoned calls, summed.
        longest_wait: the longest wait of a queued call.
        callbacks_made: calls whose callback dialed the caller's phone at least once.
        callbacks_reached: of those, the ones whose caller was connected to an agent.
    """

    bucket: dt.datetime
    tenant: str | None
    queue: str | None
    target: float | None
    outcomes: dict[str, int] = field(default_factory=dict)
    queued: int = 0
    answered: int = 0
    answered_in_target: int = 0
    answer_seconds: float = 0.0
    talk_seconds: float = 0.0
    short_abandons: int = 0
    abandon_seconds: float = 0.0
    longest_wait: float | None = None
    wrap_up_seconds: float = 0.0
    callbacks_made: int = 0
    callbacks_reached: int = 0


@dataclass
class NodeSums:
    """What happened at one node of one flow over the calls of a report.

    Attributes:
        type: the node's type.
        depth: the fewest visits before this one on any call's path (0: the flow's first).
        entries: visits.
        calls: calls that visited it at least once.
        results: visits per result label.
        hangups: visits without a result label that were the last of a caller who gave up.
        failed: visits without a result label that were the last of a call that failed.
        ended: the other visits without a result label (the call ended there).
    """

    flow: str
    node: str
    type: str
    depth: int
    entries: int = 0
    calls: int = 0
    results: dict[str, int] = field(default_factory=dict)
    hangups: int = 0
    failed: int = 0
    ended: int = 0


class Journal(abc.ABC):
    """A store of call journal entries.

    Implementations create or migrate their schema when opened. ``write`` is called from one
    writer thread at a time (see ``JournalWriter``); reads may run in other processes while it
    writes.
    """

    @abc.abstractmethod
    def write(
        self, entries: list[JournalEntry | CallbackEntry | OpenCall | AgentSegment | TenantEntry]
    ) -> None:
        """Store the entries (calls, callbacks, calls started, agent states) in one transaction.

        An entry whose call id is already in the journal replaces the earlier one: a call has
        exactly one record, and a callback one entry (its latest state; the attempts counted
        and the first dial kept when a restarted controller counts afresh). A call's entry
        replaces its ``OpenCall`` note. An agent segment already there is ended (its
        ``ended_at`` and ``next_state`` taken from the new one). A tenant replaces the one with
        its id.

        Raises:
            JournalUnavailable: the store failed in a way that may pass; nothing was written.
            JournalError: the store refused the entries.
        """

    def close_lost_calls(self, host: str, running: Callable[[int], bool]) -> list[OpenCall]:
        """Close the calls left open on ``host`` by controllers no longer ``running``, as lost.

        The agent state segments those controllers left open end too, at the last state change
        the same controller journaled (what it knew last; the time it was down is nobody's).
        Notes of other hosts are left alone: whether their controllers run is not known here.
        A journal that keeps no notes of calls started has none to close.

        Returns:
            The calls closed.

        Raises:
            JournalUnavailable: the store could not be written now; nothing was closed.
        """
        return []

    @abc.abstractmethod
    def entries(self, where: CallFilter) -> Iterator[JournalEntry]:
        """The entries matching ``where``, oldest call first, read as the iterator advances."""

    def agent_time(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        by_bucket: bool = False,
        agents: list[str] | None = None,
    ) -> list[AgentTime]:
        """Each agent's time per state (and break reason) within [start, end).

        Args:
            start: the period's start.
            end: the period's end; a segment still open counts up to it.
            by_bucket: cut the time per UTC 15-minute stretch too (for intervals in any time
                zone: every zone's offset is a whole number of quarter hours), summed over
                the agents (``agent`` empty).
            agents: only these agents (None: all).

        A journal that keeps no agent state log has none.
        """
        return []

    def tenant_entries(self) -> dict[str, TenantEntry]:
        """The tenants written to the journal, by id (none for a journal that keeps none)."""
        return {}

    def mark_recording(self, call_id: str, path: str, status: str, detail: str) -> bool:
        """Note what became of a call's recording later (``deleted`` by the retention purge).

        A journal that keeps no recordings has none to mark.

        Returns:
            Whether the journal has that recording.

        Raises:
            JournalUnavailable: the store could not be written now.
        """
        return False

    def period(self, where: CallFilter) -> tuple[dt.datetime, dt.datetime] | None:
        """The start times of the first and last calls matching ``where``; None for no call."""
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def call_sums(
        self, where: CallFilter, *, short_abandon: float, default_target: float
    ) -> list[CallSums]:
        """The calls matching ``where`` added up per group (see ``CallSums``).

        Args:
            where: the calls.
            short_abandon: abandoned calls that waited less than this many seconds are short
                abandons.
            default_target: the answer-time target of a queued call journaled without one.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def goal_counts(self, where: CallFilter) -> dict[str, int]:
        """Calls matching ``where`` that reached each goal (once per call, however often)."""
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def wait_counts(self, where: CallFilter, highs: list[float]) -> list[tuple[int, int, int]]:
        """The calls that waited in a queue, per band of their wait: (answered, abandoned, other).

        Args:
            where: the calls.
            highs: the upper bounds of the bands but the last, which is open: band ``i`` holds
                waits in ``[highs[i - 1], highs[i])``. A call with no known wait is in band 0.

        Returns:
            One tuple per band, ``len(highs) + 1`` of them.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def node_sums(self, where: CallFilter, gave_up: tuple[str, ...]) -> list[NodeSums]:
        """Each flow's nodes as the calls matching ``where`` went through them.

        Args:
            where: the calls.
            gave_up: outcomes of callers who gave up; their last visit without a result label is
                counted as a hang-up there.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def agent_sums(self, where: CallFilter) -> dict[str, tuple[int, float, float]]:
        """Per agent, the answered calls matching ``where``: (calls, talk seconds, wrap-up seconds).

        Wrap-up is the agent state log's wrap-up after each of those calls (0 without a log).
        """
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def survey_sums(self, where: CallFilter) -> list[SurveySums]:
        """The survey questions asked in the calls matching ``where``, counted per answer.

        Counted per the call's tenant, queue and agent too: a survey after a queue call rates
        that queue's service and the agent who answered.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    def recorded(self, where: CallFilter, latest: int) -> tuple[int, list[JournalEntry]]:
        """The calls matching ``where`` with a recording file (``recorded`` or ``stopped``).

        Returns:
            How many there are, and the ``latest`` last of them (by start), oldest first.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no report figures")

    @abc.abstractmethod
    def tenants(self) -> list[str]:
        """Every tenant id that appears in the journal, sorted."""

    @abc.abstractmethod
    def queues(self) -> list[str]:
        """Every queue name that appears in the journal, sorted."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; the journal is not used afterwards."""
