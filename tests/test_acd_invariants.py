"""Property-style: many callers and agents changing state at random never break the pool's rules.

Each seed runs a discrete-event simulation on one pool: callers arrive in four queues with
priorities and skills, hang up, overflow, time out or ask for callbacks; agents log in and out,
take breaks, answer, let phones ring out or be busy, talk and wrap up. After every event:

- no agent rings for or talks to two callers, and no caller is offered an agent someone else has;
- a caller is connected to one agent at most, once;
- within a queue, an agent is never offered to a caller while a caller ahead of them (by
  priority, then arrival) who could take that agent has no agent of their own;

and at the end every caller is answered, abandoned, timed out, moved on, or called back.
"""

import datetime as dt
import heapq
import itertools
import random

import pytest

from ivr.acd import AgentPool, Callback
from ivr.flow.config import AgentConfig, QueueConfig

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
SKILLS = ["en", "ru", "bg"]
QUEUES = ["retail", "cards", "loans", "vip"]
STRATEGIES = ["longest_idle", "round_robin", "ring_all", "fewest_calls", "skills"]


class CheckedPool(AgentPool):
    """A pool that checks first-come-first-served at the moment of every offer."""

    violations: list[str]

    def _offer(self, entry, agents, now):
        for ahead in self.lines[entry.queue]:
            if ahead is entry:
                break
            free_to_take = not (ahead.offer or ahead.held or ahead.not_before)
            if ahead.callback is not None and not self.dial_callbacks:
                free_to_take = False
            need = self.skills_of(ahead)
            if free_to_take and any(need <= a.skills for a in agents):
                self.violations.append(f"{entry.call_id} got {agents} before {ahead.call_id}")
        super()._offer(entry, agents, now)


class Simulation:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        agents = {
            f"a{i}": AgentConfig(
                f"a{i}", f"Agent {i}", f"user/a{i}", rng.sample(SKILLS, rng.randint(1, 3))
            )
            for i in range(12)
        }
        queues = {}
        for name in QUEUES:
            members = rng.sample(sorted(agents), rng.randint(3, 7))
            queues[name] = QueueConfig(
                name,
                members,
                rng.choice(STRATEGIES),
                ring_timeout=15.0,
                wrap_up=float(rng.choice([0, 5, 20])),
                max_no_answer=2,
            )
        self.pool = CheckedPool(agents, queues)
        self.pool.violations = []
        self.pool.dial_callbacks = True
        self.events: list = []
        self.seq = itertools.count()
        self.now = T0
        self.outcome: dict[str, str] = {}
        self.connected: dict[str, str] = {}
        self.entries = {}

    def at(self, seconds: float, what, *args) -> None:
        moment = self.now + dt.timedelta(seconds=seconds)
        heapq.heappush(self.events, (moment, next(self.seq), what, args))

    # ------------------------------------------------------------ callers

    def arrive(self, n: int) -> None:
        rng = self.rng
        queue = rng.choice(QUEUES)
        spoken = sorted({s for a in self.pool.queues[queue].agents for s in self.skills(a)})
        skills = [rng.choice(spoken)] if rng.random() < 0.3 else []
        priority = 10 if rng.random() < 0.1 else 0
        call_id = f"c{n}"
        entry = self.pool.enqueue(
            queue, call_id, priority, self.now, skills=skills, notify=self.notifier(call_id)
        )
        self.entries[call_id] = entry
        choice = rng.random()
        if choice < 0.25:
            self.at(rng.uniform(5, 400), self.abandon, call_id)
        elif choice < 0.35:
            self.at(rng.uniform(30, 300), self.overflow, call_id)
        elif choice < 0.5:
            self.at(rng.uniform(30, 300), self.ask_callback, call_id)
        self.at(1800, self.time_out, call_id)

    def skills(self, agent_id: str) -> frozenset[str]:
        return self.pool.agents[agent_id].skills

    def waiting(self, call_id: str) -> bool:
        return call_id not in self.outcome and call_id not in self.connected

    def abandon(self, call_id: str) -> None:
        entry = self.entries[call_id]
        if self.waiting(call_id) and entry.callback is None:
            self.pool.leave(entry, self.now)
            self.outcome[call_id] = "abandoned"

    def time_out(self, call_id: str) -> None:
        entry = self.entries[call_id]
        if self.waiting(call_id) and entry.callback is None:
            self.pool.leave(entry, self.now)
            self.outcome[call_id] = "timed_out"

    def overflow(self, call_id: str) -> None:
        entry = self.entries[call_id]
        if self.waiting(call_id) and entry.callback is None and not entry.offer:
            # Only to a queue with someone who can take the caller, as analysts would set it up.
            able = [
                q
                for q in QUEUES
                if any(entry.wanted <= self.skills(a) for a in self.pool.queues[q].agents)
            ]
            self.pool.move(entry, self.rng.choice(able), self.now)

    def ask_callback(self, call_id: str) -> None:
        entry = self.entries[call_id]
        if self.waiting(call_id) and entry.callback is None and not entry.offer:
            callback = Callback(call_id, "+1555", "loopback/+1555/default", retry_after=120)
            self.pool.to_callback(entry, callback, self.notifier(call_id), self.now)

    # ------------------------------------------------------------ agents' phones

    def notifier(self, call_id: str):
        # The caller reacts right after the pool's decision, never inside it.
        return lambda: self.at(0, self.offered, call_id)

    def offered(self, call_id: str) -> None:
        entry = self.entries[call_id]
        offer = list(entry.offer)
        if not offer or entry.answered_by:
            return
        rng = self.rng
        roll = rng.random()
        if roll < 0.65:
            self.at(rng.uniform(1, 10), self.answer, call_id, rng.choice(offer), offer)
        elif roll < 0.85:
            self.at(15, self.ring_out, call_id, "no_answer", offer)
        else:
            self.at(0.1, self.ring_out, call_id, rng.choice(["busy", "failed"]), offer)

    def still_offered(self, call_id: str, offer: list[str]) -> bool:
        entry = self.entries[call_id]
        return call_id not in self.outcome and entry.offer == offer and not entry.answered_by

    def ring_out(self, call_id: str, status: str, offer: list[str]) -> None:
        if self.still_offered(call_id, offer):
            self.pool.not_answered(self.entries[call_id], status, self.now)

    def answer(self, call_id: str, agent_id: str, offer: list[str]) -> None:
        if not self.still_offered(call_id, offer):
            return
        entry = self.entries[call_id]
        assert call_id not in self.connected, f"{call_id} connected twice"
        self.pool.answered(entry, agent_id, self.now)
        self.connected[call_id] = agent_id
        self.at(self.rng.uniform(20, 400), self.hang_up, call_id, agent_id)

    def hang_up(self, call_id: str, agent_id: str) -> None:
        entry = self.entries[call_id]
        self.pool.finish(agent_id, self.now, talk_seconds=60, queue=entry.queue)
        del self.connected[call_id]
        if entry.callback is None:
            self.outcome[call_id] = "answered"
        elif self.rng.random() < 0.7:
            self.pool.leave(entry, self.now)
            self.outcome[call_id] = "called_back"
        elif not self.pool.retry_callback(entry, self.now):
            self.outcome[call_id] = "callback_given_up"

    def agent_changes(self, agent_id: str) -> None:
        action = self.rng.choice(["login", "login", "logout", "break"])
        if action == "login":
            self.pool.login(agent_id, self.now)
        elif action == "logout":
            self.pool.logout(agent_id, self.now)
        elif self.pool.agents[agent_id].state != "logged_out":
            self.pool.take_break(agent_id, self.now)
        self.at(self.rng.uniform(60, 900), self.agent_changes, agent_id)

    # ------------------------------------------------------------ the rules

    def check(self) -> None:
        pool = self.pool
        owners: dict[str, str] = {}
        for line in pool.lines.values():
            for entry in line:
                for agent_id in entry.offer:
                    assert agent_id not in owners, f"{agent_id} offered to two callers"
                    owners[agent_id] = entry.leg
                    assert pool.agents[agent_id].call_id == entry.leg
        for call_id, agent_id in self.connected.items():
            owners.setdefault(agent_id, self.entries[call_id].leg)
            assert owners[agent_id] == self.entries[call_id].leg, f"{agent_id} has two calls"
        for agent_id, agent in pool.agents.items():
            if agent.state in ("ringing", "on_call"):
                assert owners.get(agent_id) == agent.call_id, f"{agent_id} {agent.state} alone"
            else:
                assert agent_id not in owners, f"{agent_id} {agent.state} yet offered"
        assert pool.violations == []

    def run(self, callers: int = 300) -> None:
        for agent_id in self.pool.agents:
            self.at(self.rng.uniform(0, 600), self.agent_changes, agent_id)
        for n in range(callers):
            self.at(self.rng.uniform(0, 3600), self.arrive, n)
        closing = T0 + dt.timedelta(hours=2)
        while self.events:
            due = self.pool.next_due()
            moment, _, what, args = self.events[0]
            if due is not None and due < moment:
                self.now = max(self.now, due)
                self.pool.advance(self.now)
            else:
                heapq.heappop(self.events)
                if what == self.agent_changes and moment > closing:
                    continue  # after closing, agents stay as they are
                self.now = max(self.now, moment)
                what(*args)
            self.check()
        # Everyone still logged out or on a break comes in to finish the day's callbacks.
        for agent_id in self.pool.agents:
            self.pool.login(agent_id, self.now)
            self.check()
        while self.events or self.pool.next_due() is not None:
            due = self.pool.next_due()
            if self.events and (due is None or self.events[0][0] <= due):
                moment, _, what, args = heapq.heappop(self.events)
                self.now = max(self.now, moment)
                what(*args)
            else:
                self.now = max(self.now, due)
                self.pool.advance(self.now)
            self.check()


@pytest.mark.parametrize("seed", range(12))
def test_random_callers_and_agents_never_break_the_pools_rules(seed):
    simulation = Simulation(seed)
    simulation.run()
    outcomes = simulation.outcome
    assert len(outcomes) == 300, "every caller's call ends one way or another"
    assert set(outcomes.values()) <= {
        "answered",
        "abandoned",
        "timed_out",
        "called_back",
        "callback_given_up",
    }
    assert "answered" in outcomes.values()
    assert all(line == [] for line in simulation.pool.lines.values())
    assert all(a.state not in ("ringing", "on_call") for a in simulation.pool.agents.values())
