"""Who is waiting and who answers: agent states, callers in line, callbacks keeping a place.

The records the agent pool (``ivr.acd.pool``) keeps and its store (``ivr.acd.store``) saves,
and the errors of asking the pool for what an agent's state does not allow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.errors import IvrError
from ivr.flow.config import DEFAULT_HOLD_MUSIC, AgentConfig

LOGGED_OUT = "logged_out"
AVAILABLE = "available"
ON_BREAK = "on_break"
RINGING = "ringing"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
STATES = (LOGGED_OUT, AVAILABLE, ON_BREAK, RINGING, ON_CALL, WRAP_UP)
BUSY = "busy"
"""What scenarios and ``set_state`` call an agent on a call this controller did not place."""
NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
FAILED_LEG_PAUSE = 10.0
"""Seconds an agent whose phone was busy or unreachable is not offered another call."""
IN_A_CALL = (RINGING, ON_CALL)


class AcdError(IvrError):
    """Base of the errors of agent control (``ivr agents``, the HTTP API)."""


class UnknownAgent(AcdError):
    """No agent with this id is in agents.yaml."""


class StateError(AcdError):
    """The change is not possible in the agent's current state (a break while logged out)."""


@dataclass(frozen=True)
class AgentSegment:
    """A stretch of time one agent spent in one state: the agent state log's entry.

    Written when the state starts (``ended_at`` None) and again when it ends, under the same
    ``id``; the journal keeps the latest. A controller killed mid-segment leaves it open, and
    the next controller on its host ends it (the journal's ``close_lost_calls``).

    Attributes:
        id: the segment's own id (unique; a restart does not reuse it).
        agent: the agent's id.
        name: the agent's name in agents.yaml, for reports.
        state: ``logged_out``, ``available``, ``ringing``, ``on_call``, ``wrap_up`` or
            ``on_break``.
        started_at: when the agent entered the state.
        ended_at: when the agent left it; None while it lasts.
        reason: why the agent is on a break (``lunch``, ``missed 3 calls``).
        call_id: the call rung for, talked on, or wrapped up after (``callback:<id>`` for a
            callback); empty otherwise.
        queue: the queue of that call; empty otherwise.
        next_state: the state the agent went to when it ended (a ringing that ended elsewhere
            than ``on_call`` is a missed call); empty while it lasts.
        host: the machine of the controller that journaled it.
        pid: that controller's process.
    """

    id: str
    agent: str
    name: str
    state: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    reason: str = ""
    call_id: str = ""
    queue: str = ""
    next_state: str = ""
    host: str = ""
    pid: int = 0


@dataclass
class AgentState:
    """An agent's live state.

    Attributes:
        config: the agent as agents.yaml describes them.
        queues: the queues the agent takes calls from, in queues.yaml order.
        state: one of ``STATES``.
        since: when the agent entered the state.
        reason: why the agent is on a break (``break``, ``missed 3 calls``).
        call_id: the call the agent rings for or talks on (``callback:<id>`` for callbacks;
            empty for a call this controller does not know).
        pending: the state to take when the current call ends (a logout or break asked for
            during the call).
        until: when a timed state ends (a wrap-up, a timed break); then ``then`` follows.
        then: the state after ``until``.
        ready_at: not offered calls before this (after a busy or unreachable phone).
        idle_since: when the agent last became free, for ``longest_idle``.
        calls: calls answered since the controller started.
        missed: calls left ringing in a row.
        segment: the agent state log's segment of the current state, as it was journaled when
            it started (None while no log is kept).
    """

    config: AgentConfig
    queues: list[str]
    state: str = AVAILABLE
    since: dt.datetime = NEVER
    reason: str = ""
    call_id: str = ""
    pending: str = ""
    until: dt.datetime | None = None
    then: str = AVAILABLE
    ready_at: dt.datetime = NEVER
    idle_since: dt.datetime = NEVER
    calls: int = 0
    missed: int = 0
    segment: AgentSegment | None = None

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def skills(self) -> frozenset[str]:
        return frozenset(self.config.skills)

    @property
    def logged_in(self) -> bool:
        return self.state != LOGGED_OUT

    def summary(self, now: dt.datetime) -> dict[str, Any]:
        """The agent as the HTTP API and ``ivr agents status`` show it."""
        return {
            "id": self.id,
            "name": self.config.name,
            "state": self.state,
            "since": iso_or_none(self.since),
            "seconds_in_state": seconds_since(self.since, now),
            "reason": self.reason,
            "pending": self.pending,
            "until": iso_or_none(self.until),
            "call_id": self.call_id,
            "queues": list(self.queues),
            "skills": list(self.config.skills),
            "calls": self.calls,
            "missed": self.missed,
        }


@dataclass
class Callback:
    """A caller who hung up to be called back, keeping their place in line.

    Attributes:
        id: the callback's id (also its store key).
        number: the number to call back.
        endpoint: the dial string that reaches ``number``.
        tenant: the company's id, ``tenant_name`` its name, ``tenant_number`` the number shown
            to the caller when called back.
        language: the call's language, for what the agent hears.
        voice: the TTS voice of that language.
        hold_music: what the agent hears while the caller's phone rings.
        attempts_left: tries left when the caller does not answer.
        retry_after: seconds between tries.
        variables: the call variables agents' screens show (``ivr_path``, ``ivr_inputs``).
    """

    id: str
    number: str
    endpoint: str
    tenant: str = ""
    tenant_name: str = ""
    tenant_number: str = ""
    language: str = "en"
    voice: str | None = None
    hold_music: str = DEFAULT_HOLD_MUSIC
    attempts_left: int = 3
    retry_after: float = 600.0
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class Waiting:
    """One caller (or callback) in a queue's line.

    Attributes:
        priority: higher is served first.
        arrived: when the caller first joined a line (kept through overflow and callbacks).
        seq: arrival order among callers who arrived at the same moment.
        call_id: the caller's call.
        queue: the queue the caller waits in now.
        wanted: skills the caller needs besides the queue's own.
        entered: when the caller joined this queue.
        offer: the agents offered to this caller (ringing for them, or talking to them).
        tried: agents tried for this caller who did not answer; skipped until no one else is
            free.
        held: the caller is busy with something else (entering a callback number): not offered
            agents meanwhile, but keeps the place.
        not_before: a callback is not dialed again before this.
        callback: set once the caller chose to be called back.
        answered_by: the agent who answered.
        notify: called when agents are offered to this caller.
    """

    priority: int
    arrived: dt.datetime
    seq: int
    call_id: str
    queue: str
    wanted: frozenset[str] = frozenset()
    entered: dt.datetime = NEVER
    offer: list[str] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    held: bool = False
    not_before: dt.datetime | None = None
    callback: Callback | None = None
    answered_by: str = ""
    notify: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def sort_key(self) -> tuple[int, dt.datetime, int]:
        return (-self.priority, self.arrived, self.seq)

    @property
    def leg(self) -> str:
        """The call an agent offered to this caller is tied to."""
        return f"callback:{self.callback.id}" if self.callback else self.call_id


def iso_or_none(moment: dt.datetime | None) -> str | None:
    """``moment`` as ISO 8601 text; None for none or ``NEVER``."""
    if moment is None or moment == NEVER:
        return None
    return moment.isoformat()


def seconds_since(since: dt.datetime, now: dt.datetime) -> float:
    """Seconds from ``since`` to ``now`` to a tenth, 0 for ``NEVER``."""
    if since == NEVER:
        return 0.0
    return round(max((now - since).total_seconds(), 0.0), 1)
