"""Agent time from the agent state log: logged in, ready, talking, wrap-up, breaks, occupancy.

The journal keeps one segment per stretch of time an agent spent in one state (see
``ivr.acd.model.AgentSegment``); the journal sums them per agent, state and break reason within
the report's period (and per UTC quarter hour for intervals). Definitions (docs/reports.md says
the same for supervisors):

- **logged in**: every state but ``logged_out``;
- **ready** (idle): ``available``, waiting for a call;
- **ringing**: a call offered, the agent's phone ringing;
- **talk**: ``on_call``; **wrap-up**: the queue's rest after a call;
- **handling**: talk + wrap-up (the product has no hold for agents: hold time is 0);
- **occupancy**: handling ÷ (ready + ringing + handling); breaks and logged-out time are out of
  both. Never above 100 %;
- **missed**: calls offered (ringing) that did not become a conversation.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.acd.model import AVAILABLE, LOGGED_OUT, ON_BREAK, ON_CALL, RINGING, WRAP_UP
from ivr.store.journal import AgentTime, Journal


@dataclass
class StateTime:
    """Seconds in each agent state over a group: one agent, or every agent in one interval.

    Attributes:
        seconds: time per state.
        breaks: break time per reason.
        offered: calls offered (ringing stretches).
        missed: of those, the ones that did not become a conversation.
    """

    seconds: Counter = field(default_factory=Counter)
    breaks: Counter = field(default_factory=Counter)
    offered: int = 0
    missed: int = 0

    def add(self, row: AgentTime) -> None:
        """Count one state's time in."""
        self.seconds[row.state] += row.seconds
        if row.state == ON_BREAK:
            self.breaks[row.reason or "break"] += row.seconds
        elif row.state == RINGING:
            self.offered += row.segments
            self.missed += row.missed

    @property
    def logged_in(self) -> float:
        return sum(s for state, s in self.seconds.items() if state != LOGGED_OUT)

    @property
    def ready(self) -> float:
        return self.seconds[AVAILABLE]

    @property
    def ringing(self) -> float:
        return self.seconds[RINGING]

    @property
    def talk(self) -> float:
        return self.seconds[ON_CALL]

    @property
    def wrap_up(self) -> float:
        return self.seconds[WRAP_UP]

    @property
    def handling(self) -> float:
        """Talk and wrap-up (agents have no hold)."""
        return self.talk + self.wrap_up

    @property
    def occupancy(self) -> float | None:
        """Handling over the time the agent was ready, offered a call or handling one."""
        working = self.ready + self.ringing + self.handling
        return self.handling / working if working > 0 else None


@dataclass
class AgentTimes:
    """The agent time of a report.

    Attributes:
        agents: per agent id, their time.
        names: per agent id, their name as journaled.
        intervals: per interval start (local), every agent's time summed; filled only for a
            report with ``--interval``.
        kept: whether the journal had an agent state log for the period at all (journals
            written before schema 6, or by a run without agents, have none).
    """

    agents: dict[str, StateTime] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    intervals: dict[dt.datetime, StateTime] = field(default_factory=dict)
    kept: bool = False

    def add_agent(self, row: AgentTime) -> None:
        """Count one agent's state time in."""
        self.kept = True
        self.agents.setdefault(row.agent, StateTime()).add(row)
        if row.name:
            self.names[row.agent] = row.name

    def add_interval(self, start: dt.datetime, row: AgentTime) -> None:
        """Count every agent's time in one state and quarter hour into the interval at ``start``."""
        self.intervals.setdefault(start, StateTime()).add(row)


EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""Where a report without ``--from`` starts counting agent time."""


def read_agent_times(
    journal: Journal,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    agents: list[str] | None = None,
    interval_start: Callable[[dt.datetime], dt.datetime] | None = None,
) -> AgentTimes:
    """The agent time of a report's period from ``journal``'s agent state log.

    Args:
        journal: the journal.
        start: the period's start (None: the log's beginning).
        end: the period's end (None: now; a state still lasting counts up to it).
        agents: only these agents (None: every agent in the log).
        interval_start: the local start of the interval holding a UTC time, for a report with
            intervals (None: no intervals).
    """
    start = start or EARLIEST
    end = end or dt.datetime.now(dt.UTC)
    times = AgentTimes()
    for row in journal.agent_time(start, end, agents=agents):
        times.add_agent(row)
    if interval_start is not None:
        for row in journal.agent_time(start, end, agents=agents, by_bucket=True):
            times.add_interval(interval_start(row.bucket), row)
    return times
