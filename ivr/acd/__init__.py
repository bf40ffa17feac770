"""Automatic call distribution: who is waiting in which queue, and which agent takes the next call.

This is the in-process pool every call of one controller shares. It keeps agent states
(``available``, ``busy``, ``logged_out``), the waiting line of each queue ordered by priority then
arrival, and chooses agents by the queue's strategy. Only the caller at the head of a line is
offered an agent, so callers are served in order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from ivr.flow.config import AgentConfig, QueueConfig

AVAILABLE, BUSY, LOGGED_OUT = "available", "busy", "logged_out"


@dataclass
class AgentState:
    """An agent's live state in the pool."""

    config: AgentConfig
    state: str = AVAILABLE
    idle_since: dt.datetime = dt.datetime.min.replace(tzinfo=dt.UTC)
    calls: int = 0
    missed: int = 0
    resting_until: dt.datetime = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(order=True)
class Waiting:
    """A caller in a queue's line; ordering puts higher priority first, then earlier arrival."""

    sort_key: tuple = field(init=False, repr=False)
    priority: int
    arrived: dt.datetime
    seq: int
    call_id: str = field(compare=False)
    queue: str = field(compare=False)

    def __post_init__(self) -> None:
        self.sort_key = (-self.priority, self.arrived, self.seq)


class AgentPool:
    """Agents and waiting lines shared by all calls of a controller."""

    def __init__(self, agents: dict[str, AgentConfig]) -> None:
        self.agents = {agent_id: AgentState(cfg) for agent_id, cfg in agents.items()}
        self.lines: dict[str, list[Waiting]] = {}
        self._seq = itertools.count()
        self._round_robin: dict[str, int] = {}

    def set_state(self, agent_id: str, state: str) -> None:
        self.agents[agent_id].state = state

    def enqueue(self, queue: str, call_id: str, priority: int, now: dt.datetime) -> Waiting:
        entry = Waiting(priority, now, next(self._seq), call_id, queue)
        line = self.lines.setdefault(queue, [])
        line.append(entry)
        line.sort()
        return entry

    def leave(self, entry: Waiting) -> None:
        line = self.lines.get(entry.queue, [])
        if entry in line:
            line.remove(entry)

    def position(self, entry: Waiting) -> int:
        """1 for the caller at the head of the line."""
        return self.lines.get(entry.queue, []).index(entry) + 1

    def staffed(self, queue: QueueConfig) -> list[AgentState]:
        """Agents of the queue who are logged in (available or on a call)."""
        return [
            self.agents[a]
            for a in queue.agents
            if a in self.agents and self.agents[a].state != LOGGED_OUT
        ]

    def reserve(
        self, queue: QueueConfig, entry: Waiting, exclude: set[str], now: dt.datetime
    ) -> list[AgentState]:
        """Agents to ring for the caller ``entry``, marked busy; empty when none is free.

        Only the head of the line gets agents. ``ring_all`` returns every free agent, the other
        strategies one.
        """
        if self.lines.get(queue.name, [None])[0] is not entry:
            return []
        free = [
            self.agents[a]
            for a in queue.agents
            if a in self.agents
            and a not in exclude
            and self.agents[a].state == AVAILABLE
            and self.agents[a].resting_until <= now
        ]
        if not free:
            return []
        if queue.strategy == "ring_all":
            chosen = free
        elif queue.strategy == "round_robin":
            start = self._round_robin.get(queue.name, -1)
            order = queue.agents
            ids = {a.config.id for a in free}
            pick = next(
                order[(start + k) % len(order)]
                for k in range(1, len(order) + 1)
                if order[(start + k) % len(order)] in ids
            )
            self._round_robin[queue.name] = order.index(pick)
            chosen = [self.agents[pick]]
        elif queue.strategy == "fewest_calls":
            chosen = [min(free, key=lambda a: a.calls)]
        else:
            # longest_idle (and skills, whose matching arrives with the queue work): the agent
            # who has waited longest for a call; list order breaks ties.
            chosen = [min(free, key=lambda a: a.idle_since)]
        for agent in chosen:
            agent.state = BUSY
        return chosen

    def release(self, agent: AgentState, now: dt.datetime, *, missed: bool = False) -> None:
        """The agent did not take the call: free again (a miss is counted)."""
        agent.state = AVAILABLE
        if missed:
            agent.missed += 1

    def finish(self, agent: AgentState, now: dt.datetime, wrap_up: float) -> None:
        """The agent's call is over: free again after ``wrap_up`` seconds of rest."""
        agent.state = AVAILABLE
        agent.calls += 1
        agent.resting_until = now + dt.timedelta(seconds=wrap_up)
        agent.idle_since = agent.resting_until
