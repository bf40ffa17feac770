"""The agent pool: agent states, the waiting lines of every queue, and who is offered to whom.

One pool serves every call of a controller. Every method runs to its end without yielding to
another greenlet, so each decision (which agent rings for which caller) is taken atomically:
two callers are never offered the same agent and a caller is never connected to two agents.

Dispatch is event-driven: whenever something changes (a caller arrives or leaves, an agent logs
in, a call or a wrap-up ends) the pool matches free agents with waiting callers at once and tells
each chosen caller (``Waiting.notify``), which then rings the agent. Callers are served by
priority, then arrival; a caller is skipped only for agents they cannot take (skills) or have
just tried. Agents are chosen by the queue's strategy.

Agent states: ``logged_out``, ``available``, ``on_break``, ``ringing`` (offered to a caller),
``on_call``, ``wrap_up`` (rest after a call, then back to ``available``). A logout or break asked
for during a call waits for the call's end (``pending``). Time comes from the callers' clocks
(every method takes ``now``), so the same pool runs on FreeSWITCH's clock and on simulated time;
``next_due`` says when a timed change (end of a wrap-up, a timed break) is due and ``advance``
applies it.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import heapq
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ivr.acd.estimate import HandleTimes, WaitEstimate, estimate_wait
from ivr.acd.model import (
    AVAILABLE,
    BUSY,
    FAILED_LEG_PAUSE,
    IN_A_CALL,
    LOGGED_OUT,
    NEVER,
    ON_BREAK,
    ON_CALL,
    RINGING,
    STATES,
    WRAP_UP,
    AgentSegment,
    AgentState,
    Callback,
    StateError,
    UnknownAgent,
    Waiting,
    iso_or_none,
    seconds_since,
)
from ivr.flow.config import AgentConfig, QueueConfig

if TYPE_CHECKING:
    from ivr.acd.store import AcdStore, SavedState

log = logging.getLogger("ivr.acd")


class AgentPool:
    """Agents and waiting lines shared by all calls of a controller.

    Args:
        agents: agents.yaml.
        queues: queues.yaml.
        store: where agent states, callbacks and handle times are kept across restarts.
    """

    def __init__(
        self,
        agents: dict[str, AgentConfig],
        queues: dict[str, QueueConfig] | None = None,
        *,
        store: AcdStore | None = None,
    ) -> None:
        self.queues = dict(queues or {})
        self.agents: dict[str, AgentState] = {}
        for agent_id, config in agents.items():
            member = [q.name for q in self.queues.values() if agent_id in q.agents]
            self.agents[agent_id] = AgentState(config, member, state=config.initial_state)
        self.lines: dict[str, list[Waiting]] = {name: [] for name in self.queues}
        self.callbacks: dict[str, Waiting] = {}
        self.handle_times = HandleTimes()
        self.store = store
        self.dial_callbacks = False
        """Whether callbacks are offered agents (a dialer is attached)."""
        self.on_segment: Callable[[AgentSegment], None] | None = None
        """Given each agent state log segment as it starts and as it ends (see ``start_log``)."""
        self._log_clock: Callable[[], dt.datetime] | None = None
        self.on_timers_changed: Callable[[], None] | None = None
        """Called when a timed change is set that may be due before the ones known so far."""
        self.latest = NEVER
        """The latest time an operation reported."""
        self._seq = itertools.count()
        self._round_robin: dict[str, str] = {}
        self._cooling: set[str] = set()

    # ------------------------------------------------------------ restoring

    def restore(self, saved: SavedState, now: dt.datetime) -> None:
        """Take back agent states, callbacks and handle times kept by the store."""
        for row in saved.agents:
            agent = self.agents.get(row.id)
            if agent is None:
                continue
            agent.state, agent.since, agent.reason = row.state, row.since, row.reason
            agent.call_id, agent.pending = row.call_id, row.pending
            agent.until, agent.then = row.until, row.then
            agent.calls, agent.missed, agent.idle_since = row.calls, row.missed, row.idle_since
        last = -1
        for entry in saved.callbacks:
            if entry.queue not in self.queues:
                log.warning("callback %s is for unknown queue %s", entry.callback.id, entry.queue)
                continue
            self._insert(entry)
            self.callbacks[entry.callback.id] = entry
            last = max(last, entry.seq)
        self._seq = itertools.count(last + 1)
        for queue, seconds in saved.handle_times.items():
            self.handle_times.extend(queue, seconds)
        self._seen(now)

    # ------------------------------------------------------------ agent control

    def agent(self, agent_id: str) -> AgentState:
        """The agent with this id.

        Raises:
            UnknownAgent: agents.yaml has no such agent.
        """
        agent = self.agents.get(str(agent_id))
        if agent is None:
            raise UnknownAgent(f"no agent '{agent_id}' in agents.yaml")
        return agent

    def login(self, agent_id: str, now: dt.datetime) -> AgentState:
        """The agent takes calls: logged out or on a break -> available.

        During a call it cancels a logout or break asked for earlier.
        """
        agent = self.agent(agent_id)
        self._seen(now)
        if agent.state in IN_A_CALL or agent.state == WRAP_UP:
            agent.pending = ""
            if agent.state == WRAP_UP:
                agent.then = AVAILABLE
            self._save(agent)
            return agent
        if agent.state != AVAILABLE:
            if agent.state == LOGGED_OUT:
                agent.idle_since = now
            agent.missed = 0
            agent.ready_at = NEVER
            self._cooling.discard(agent.id)
            self._become(agent, AVAILABLE, now)
        self.dispatch(now)
        return agent

    def logout(self, agent_id: str, now: dt.datetime) -> AgentState:
        """The agent stops taking calls; during a call, once it ends."""
        agent = self.agent(agent_id)
        self._seen(now)
        if agent.state in IN_A_CALL:
            agent.pending = LOGGED_OUT
            self._save(agent)
        elif agent.state != LOGGED_OUT:
            self._become(agent, LOGGED_OUT, now)
        return agent

    def take_break(
        self,
        agent_id: str,
        now: dt.datetime,
        *,
        reason: str = "break",
        until: dt.datetime | None = None,
    ) -> AgentState:
        """The agent pauses (until ``until``, or until logging in again); during a call, after it.

        Raises:
            StateError: the agent is logged out.
        """
        agent = self.agent(agent_id)
        self._seen(now)
        if agent.state == LOGGED_OUT:
            raise StateError(f"agent {agent.id} is logged out: log in before taking a break")
        if agent.state in IN_A_CALL:
            agent.pending = ON_BREAK
            self._save(agent)
        else:
            self._become(agent, ON_BREAK, now, reason=reason, until=until)
        return agent

    def set_state(
        self,
        agent_id: str,
        state: str,
        now: dt.datetime | None = None,
        *,
        until: dt.datetime | None = None,
        then: str = AVAILABLE,
    ) -> AgentState:
        """Put an agent in a state directly (scenario set-up), optionally until a given time.

        ``state`` is ``available``, ``logged_out``, ``on_break`` or ``busy`` (on a call this
        controller does not know about; it ends at ``until``, or never).
        """
        agent = self.agent(agent_id)
        now = now or self.latest
        if state == BUSY:
            self._become(agent, ON_CALL, now, until=until, then=then)
        elif state in (AVAILABLE, LOGGED_OUT, ON_BREAK):
            self._become(agent, state, now, until=until, then=then)
        else:
            raise StateError(f"cannot put an agent in state {state!r} directly")
        self.dispatch(now)
        return agent

    # ------------------------------------------------------------ callers

    def enqueue(
        self,
        queue: str,
        call_id: str,
        priority: int,
        now: dt.datetime,
        *,
        skills: Iterable[str] = (),
        notify: Callable[[], None] | None = None,
    ) -> Waiting:
        """A caller joins the line of ``queue``; agents free for them are offered at once."""
        entry = Waiting(
            priority, now, next(self._seq), call_id, queue, frozenset(skills), now, notify=notify
        )
        self._seen(now)
        self._insert(entry)
        self.dispatch(now)
        return entry

    def leave(self, entry: Waiting, now: dt.datetime) -> None:
        """The caller is gone from the line (answered elsewhere, left, hung up, timed out)."""
        self._seen(now)
        self._withdraw(entry, now)
        self._remove(entry)
        self.dispatch(now)

    def move(self, entry: Waiting, queue: str, now: dt.datetime) -> None:
        """Overflow: the caller moves to another queue, keeping priority and arrival time."""
        self._seen(now)
        self._withdraw(entry, now)
        self._remove(entry)
        entry.queue, entry.entered = queue, now
        entry.tried.clear()
        self._insert(entry)
        self.dispatch(now)

    def hold(self, entry: Waiting) -> None:
        """The caller keeps the place but is not offered agents for now."""
        entry.held = True

    def resume(self, entry: Waiting, now: dt.datetime) -> None:
        """The caller may be offered agents again."""
        entry.held = False
        self.dispatch(now)

    def to_callback(
        self, entry: Waiting, callback: Callback, notify: Callable[[], None], now: dt.datetime
    ) -> None:
        """The caller hangs up to be called back; the entry keeps its place in line."""
        self._seen(now)
        self._withdraw(entry, now)
        entry.callback, entry.notify, entry.held = callback, notify, False
        self.callbacks[callback.id] = entry
        self._save_callback(entry)
        self.dispatch(now)

    def retry_callback(self, entry: Waiting, now: dt.datetime) -> bool:
        """A callback the caller did not answer: try again later, or give up.

        Returns:
            True when it will be tried again (it keeps its place in line).
        """
        callback = entry.callback
        assert callback is not None
        callback.attempts_left -= 1
        entry.offer, entry.answered_by = [], ""
        if callback.attempts_left <= 0:
            self.leave(entry, now)
            return False
        entry.not_before = now + dt.timedelta(seconds=callback.retry_after)
        self._save_callback(entry)
        self._timers_changed()
        self.dispatch(now)
        return True

    def reached(self, entry: Waiting) -> None:
        """The callback's caller answered: the store forgets the callback at once.

        It stays in the line until the talk ends (``leave``); a restart meanwhile must not
        call the caller again.
        """
        if self.store is not None and entry.callback is not None:
            self.store.delete_callback(entry.callback.id)

    def position(self, entry: Waiting) -> int:
        """1 for the caller at the head of the line."""
        return self.lines[entry.queue].index(entry) + 1

    def skills_of(self, entry: Waiting) -> frozenset[str]:
        """What an agent must be able to do to take this caller."""
        return entry.wanted | frozenset(self.queues[entry.queue].skills)

    def staffed(self, queue: QueueConfig | str, skills: Iterable[str] = ()) -> list[AgentState]:
        """Agents of the queue who are logged in (also on a break), with the given skills."""
        config = self.queues[queue] if isinstance(queue, str) else queue
        need = frozenset(skills) | frozenset(config.skills)
        return [
            self.agents[a]
            for a in config.agents
            if a in self.agents and self.agents[a].logged_in and need <= self.agents[a].skills
        ]

    def estimate(self, entry: Waiting) -> WaitEstimate:
        """The caller's expected wait, from the queue's recent calls and its agents."""
        taking = [a for a in self.staffed(entry.queue, entry.wanted) if a.state != ON_BREAK]
        recent = self.handle_times.recent(entry.queue)
        return estimate_wait(self.position(entry), len(taking), recent)

    # ------------------------------------------------------------ a caller's agents

    def answered(self, entry: Waiting, agent_id: str, now: dt.datetime) -> None:
        """One offered agent answered: they talk, the others are free again.

        A caller leaves the line; a callback stays in it until its caller answers.
        """
        self._seen(now)
        if entry.answered_by == agent_id:
            return
        agent = self.agents[agent_id]
        if agent.state != RINGING or agent.call_id != entry.leg:
            log.warning(
                "agent %s answered %s while %s (for %r)",
                agent_id,
                entry.leg,
                agent.state,
                agent.call_id,
            )
        for other in entry.offer:
            if other != agent_id:
                self._free(self.agents[other], now, "lost_race", entry.queue)
        entry.offer, entry.answered_by = [agent_id], agent_id
        agent.missed = 0
        self._become(agent, ON_CALL, now, call_id=entry.leg, queue=entry.queue)
        if entry.callback is None:
            self._remove(entry)
        self.dispatch(now)

    def not_answered(self, entry: Waiting, status: str, now: dt.datetime) -> None:
        """Nobody offered took the call (``no_answer``, ``busy`` or ``failed``).

        The caller keeps the place at the head of the line; the agents are free again (a
        ``no_answer`` counts as a miss, and ``max_no_answer`` misses in a row put the agent on
        a break); others are offered at once.
        """
        self._seen(now)
        for agent_id in entry.offer:
            agent = self.agents[agent_id]
            if agent.state == RINGING and agent.call_id == entry.leg:
                self._free(agent, now, status, entry.queue)
        entry.tried.update(entry.offer)
        entry.offer = []
        self.dispatch(now)

    def finish(
        self,
        agent_id: str,
        now: dt.datetime,
        *,
        talk_seconds: float = 0.0,
        queue: str | None = None,
    ) -> None:
        """The agent's call is over: wrap-up (the queue's), then what was pending or available."""
        agent = self.agents[agent_id]
        self._seen(now)
        if agent.state != ON_CALL:
            return
        config = self.queues.get(queue) if queue else None
        wrap_up = config.wrap_up if config else 0.0
        agent.calls += 1
        if config is not None:
            self.handle_times.add(config.name, talk_seconds + wrap_up)
            if self.store is not None:
                self.store.add_handle_time(config.name, now, talk_seconds + wrap_up)
        after, agent.pending = agent.pending or AVAILABLE, ""
        agent.idle_since = now + dt.timedelta(seconds=wrap_up)
        if wrap_up > 0:
            call_id = agent.call_id
            self._become(
                agent,
                WRAP_UP,
                now,
                call_id=call_id,
                queue=queue or "",
                until=agent.idle_since,
                then=after,
            )
        else:
            self._become(agent, after, now)
        self.dispatch(now)

    # ------------------------------------------------------------ time and repairs

    def next_due(self) -> dt.datetime | None:
        """When the next timed change is due (end of a wrap-up, a timed state, a pause)."""
        times = [a.until for a in self.agents.values() if a.until is not None]
        times += [self.agents[a].ready_at for a in self._cooling]
        times += [e.not_before for e in self.callbacks.values() if e.not_before is not None]
        return min(times, default=None)

    def advance(self, now: dt.datetime) -> None:
        """Apply the timed changes due by ``now``, then offer the agents who became free."""
        self._seen(now)
        for agent in self.agents.values():
            if agent.until is not None and agent.until <= now:
                at, target = agent.until, agent.then
                self._become(agent, target, at, reason="break" if target == ON_BREAK else "")
        for agent_id in [a for a in self._cooling if self.agents[a].ready_at <= now]:
            self._cooling.discard(agent_id)
        for entry in self.callbacks.values():
            if entry.not_before is not None and entry.not_before <= now:
                entry.not_before = None
        self.dispatch(now)

    def sweep(self, is_live: Callable[[str], bool], now: dt.datetime) -> list[str]:
        """Repair what calls that are gone left behind (a crash, a lost connection).

        Callers whose call is gone leave the line; agents ringing for or talking on a call that
        is gone are freed (a talk goes to wrap-up). Callbacks stay in line.

        Args:
            is_live: whether a call (or ``callback:<id>`` attempt) still runs.
            now: the time.

        Returns:
            What was repaired, one line each, for the log.
        """
        self._seen(now)
        repairs = []
        for line in self.lines.values():
            for entry in list(line):
                if entry.callback is None and not is_live(entry.call_id):
                    self._withdraw(entry, now)
                    self._remove(entry)
                    repairs.append(f"caller {entry.call_id} left queue {entry.queue}: call gone")
        owners = {
            agent_id: entry
            for line in self.lines.values()
            for entry in line
            for agent_id in entry.offer
        }
        for agent in self.agents.values():
            owner = owners.get(agent.id)
            if agent.state == RINGING and (
                owner is None or owner.leg != agent.call_id or not is_live(agent.call_id)
            ):
                if owner is not None and owner.leg == agent.call_id:
                    owner.offer.remove(agent.id)
                repairs.append(f"agent {agent.id} was ringing for {agent.call_id}: call gone")
                self._free(agent, now, "gone", None)
            elif agent.state == ON_CALL and agent.call_id and not is_live(agent.call_id):
                call_id = agent.call_id
                self.finish(agent.id, now)
                repairs.append(f"agent {agent.id} was on call {call_id}: call gone")
        for line in self.lines.values():
            for entry in line:
                entry.offer = [
                    a
                    for a in entry.offer
                    if self.agents[a].state in IN_A_CALL and self.agents[a].call_id == entry.leg
                ]
        self.dispatch(now)
        return repairs

    # ------------------------------------------------------------ dispatch

    def dispatch(self, now: dt.datetime) -> None:
        """Offer every free agent to the best waiting caller who can take them."""
        free = {
            a.id: a
            for a in self.agents.values()
            if a.state == AVAILABLE and a.id not in self._cooling
        }
        if not free:
            return
        told: list[Waiting] = []
        lines = [self.lines[q] for q in {q for a in free.values() for q in a.queues}]
        for entry in heapq.merge(*lines, key=lambda e: e.sort_key):
            if entry.offer or entry.held or entry.not_before is not None:
                continue
            if entry.callback is not None and not self.dial_callbacks:
                continue
            queue = self.queues[entry.queue]
            need = self.skills_of(entry)
            candidates = [free[a] for a in queue.agents if a in free and need <= free[a].skills]
            if not candidates:
                continue
            fresh = [a for a in candidates if a.id not in entry.tried]
            if not fresh:
                # Everyone free was tried: a new round.
                entry.tried.clear()
                fresh = candidates
            chosen = self._choose(queue, fresh)
            if entry.callback is not None:
                chosen = chosen[:1]
            self._offer(entry, chosen, now)
            told.append(entry)
            for agent in chosen:
                del free[agent.id]
            if not free:
                break
        for entry in told:
            if entry.notify is not None:
                entry.notify()

    def _offer(self, entry: Waiting, agents: list[AgentState], now: dt.datetime) -> None:
        entry.offer = [a.id for a in agents]
        for agent in agents:
            self._become(agent, RINGING, now, call_id=entry.leg, queue=entry.queue)

    def _choose(self, queue: QueueConfig, candidates: list[AgentState]) -> list[AgentState]:
        """The agents to ring, by the queue's strategy; ties go to queues.yaml order."""
        strategy = queue.strategy
        if strategy == "ring_all":
            return candidates
        if strategy == "round_robin":
            order = queue.agents
            last = self._round_robin.get(queue.name)
            start = order.index(last) + 1 if last in order else 0
            ids = {a.id for a in candidates}
            pick = next(
                order[(start + k) % len(order)]
                for k in range(len(order))
                if order[(start + k) % len(order)] in ids
            )
            self._round_robin[queue.name] = pick
            return [a for a in candidates if a.id == pick]
        if strategy == "fewest_calls":
            return [min(candidates, key=lambda a: (a.calls, a.idle_since))]
        if strategy == "skills":
            # The most specialised agent first, keeping the versatile ones free for others.
            return [min(candidates, key=lambda a: (len(a.skills), a.idle_since))]
        return [min(candidates, key=lambda a: a.idle_since)]

    # ------------------------------------------------------------ status

    def status(self, now: dt.datetime) -> dict[str, Any]:
        """Queues (waiting callers, callbacks, longest wait, agents by state) and agents."""
        queues = {}
        for name, config in self.queues.items():
            line = self.lines[name]
            by_state = {state: 0 for state in STATES}
            for agent_id in config.agents:
                if agent_id in self.agents:
                    by_state[self.agents[agent_id].state] += 1
            waits = [seconds_since(e.arrived, now) for e in line]
            queues[name] = {
                "waiting": sum(1 for e in line if e.callback is None),
                "callbacks": sum(1 for e in line if e.callback is not None),
                "longest_wait": max(waits, default=0.0),
                "agents": by_state,
                "line": [
                    {
                        "position": i + 1,
                        "call_id": e.call_id,
                        "kind": "callback" if e.callback else "caller",
                        "priority": e.priority,
                        "waited": waits[i],
                        "offered_to": list(e.offer),
                    }
                    for i, e in enumerate(line)
                ],
            }
        agents = {agent_id: a.summary(now) for agent_id, a in self.agents.items()}
        return {"at": iso_or_none(now), "queues": queues, "agents": agents}

    # ------------------------------------------------------------ internals

    def _seen(self, now: dt.datetime) -> None:
        if now > self.latest:
            self.latest = now

    def _insert(self, entry: Waiting) -> None:
        bisect.insort(self.lines.setdefault(entry.queue, []), entry, key=lambda e: e.sort_key)

    def _remove(self, entry: Waiting) -> None:
        line = self.lines.get(entry.queue, [])
        if entry in line:
            line.remove(entry)
        if entry.callback is not None and self.callbacks.pop(entry.callback.id, None) is not None:
            if self.store is not None:
                self.store.delete_callback(entry.callback.id)

    def _withdraw(self, entry: Waiting, now: dt.datetime) -> None:
        """Free the agents offered to a caller who has not been connected to them."""
        for agent_id in entry.offer:
            agent = self.agents[agent_id]
            if agent.state == RINGING and agent.call_id == entry.leg:
                self._free(agent, now, "withdrawn", entry.queue)
        if not entry.answered_by:
            entry.offer = []

    def _free(self, agent: AgentState, now: dt.datetime, why: str, queue: str | None) -> None:
        """A ringing agent is free again; a miss or a broken phone may set them aside."""
        config = self.queues.get(queue) if queue else None
        if why == "no_answer":
            agent.missed += 1
            if config is not None and agent.missed >= config.max_no_answer:
                log.warning("agent %s missed %d calls in a row: on a break", agent.id, agent.missed)
                target = LOGGED_OUT if agent.pending == LOGGED_OUT else ON_BREAK
                agent.pending = ""
                self._become(agent, target, now, reason=f"missed {agent.missed} calls")
                return
        elif why in ("busy", "failed"):
            agent.ready_at = now + dt.timedelta(seconds=FAILED_LEG_PAUSE)
            self._cooling.add(agent.id)
            self._timers_changed()
        target, agent.pending = agent.pending or AVAILABLE, ""
        self._become(agent, target, now)

    def _become(
        self,
        agent: AgentState,
        state: str,
        now: dt.datetime,
        *,
        reason: str = "",
        call_id: str = "",
        queue: str = "",
        until: dt.datetime | None = None,
        then: str = AVAILABLE,
    ) -> None:
        """Put ``agent`` in ``state`` from ``now``, journaling the change when a log is kept.

        ``call_id`` and ``queue`` are the call of a ringing, a conversation or the wrap-up
        after it.
        """
        if state not in IN_A_CALL and state != WRAP_UP:
            agent.pending = ""
        # Calls report times from their own clocks (an event's, the timer's): the log keeps an
        # agent's segments in order even when one comes a few milliseconds behind another.
        logged = self._log_clock() if self._log_clock is not None else now
        if agent.segment is not None:
            logged = max(logged, agent.segment.started_at)
        if self.on_segment is not None:
            self._end_segment(agent, logged, state)
        agent.state, agent.since, agent.reason = state, now, reason
        agent.call_id, agent.until, agent.then = call_id, until, then
        if self.on_segment is not None:
            self._open_segment(agent, logged, call_id, queue)
        self._save(agent)
        if until is not None:
            self._timers_changed()

    # ------------------------------------------------------------ the agent state log

    def start_log(
        self,
        now: dt.datetime,
        on_segment: Callable[[AgentSegment], None],
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        """Journal every agent's states from ``now`` on: each agent's current state opens one.

        Args:
            now: when the log starts (the controller's start, a scenario case's).
            on_segment: given each segment as it starts and again as it ends.
            clock: where segment times come from (a controller's wall clock); None: from the
                time each change reports (a scenario's simulated time, the only time it has).
                A controller's calls report their channel's times, which a simulated
                FreeSWITCH sets to its scenario cases' dates: an agent's day is measured on
                one clock all the same.
        """
        self.on_segment = on_segment
        self._log_clock = clock
        for agent in self.agents.values():
            self._open_segment(agent, now, agent.call_id, "")

    def end_log(self, now: dt.datetime) -> None:
        """End every agent's current segment at ``now`` and journal no more (a clean stop)."""
        if self.on_segment is None:
            return
        for agent in self.agents.values():
            self._end_segment(agent, now, "")
        self.on_segment = None

    def _open_segment(self, agent: AgentState, now: dt.datetime, call_id: str, queue: str) -> None:
        agent.segment = AgentSegment(
            uuid.uuid4().hex,
            agent.id,
            agent.config.name,
            agent.state,
            now,
            reason=agent.reason,
            call_id=call_id,
            queue=queue,
        )
        self.on_segment(agent.segment)

    def _end_segment(self, agent: AgentState, now: dt.datetime, next_state: str) -> None:
        if agent.segment is None:
            return
        ended = max(now, agent.segment.started_at)
        self.on_segment(dataclasses.replace(agent.segment, ended_at=ended, next_state=next_state))
        agent.segment = None

    def _timers_changed(self) -> None:
        if self.on_timers_changed is not None:
            self.on_timers_changed()

    def _save(self, agent: AgentState) -> None:
        if self.store is not None:
            self.store.save_agent(agent)

    def _save_callback(self, entry: Waiting) -> None:
        if self.store is not None:
            self.store.save_callback(entry)
