"""Many callers in greenlets of their own share one pool, as in the controller: no double booking.

Each caller runs the real interpreter and queue node on a channel that really yields to the other
greenlets (gevent sleeps and events on a scaled clock: 1 simulated second is 2 real milliseconds).
Agents' phones answer after a few seconds, ring out, or are busy, at random; callers hang up when
they lose patience. A ledger of every conversation shows that no agent ever talked to two callers
at once and no caller was connected twice. The contact center's timekeeper is checked on the real
clock: an agent's wrap-up ends on time and the agent goes to a callback with nobody polling.
"""

import datetime as dt
import random
import time

import gevent
import pytest
from flowkit import build
from gevent.event import Event

from ivr.acd import Callback
from ivr.acd.center import ContactCenter
from ivr.runtime.call import Call, CallServices
from ivr.runtime.channel import BridgeResult, CallerHungUp, CallInfo, Collected, RecordResult

SCALE = 0.002
"""Real seconds per simulated second."""
T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
START = time.monotonic()

FLOW = """
flow: t
start: q
nodes:
  q:
    type: queue
    queue: "{queue}"
    announce: {{position: true, every: 30s}}
    max_wait: 10m
    on_timeout: late
  late: {{type: hangup, prompt: "Sorry."}}
"""
AGENTS = "agents:\n" + "".join(f"  a{i}: {{name: A{i}, endpoint: user/a{i}}}\n" for i in range(8))
QUEUES = """
queues:
  one: {agents: [a0, a1, a2, a3], ring_timeout: 15s, wrap_up: 5s}
  two: {agents: [a2, a3, a4, a5], ring_timeout: 15s, wrap_up: 5s, strategy: ring_all}
  three: {agents: [a5, a6, a7, a0], ring_timeout: 15s, wrap_up: 5s, strategy: round_robin}
"""


def now() -> dt.datetime:
    return T0 + dt.timedelta(seconds=(time.monotonic() - START) / SCALE)


class Ledger:
    """Every conversation: who talked to whom, from when to when (simulated seconds)."""

    def __init__(self) -> None:
        self.talks: list[tuple[str, str, dt.datetime, dt.datetime]] = []
        self.talking: dict[str, str] = {}
        self.problems: list[str] = []

    def start(self, agent: str, call_id: str) -> None:
        if agent in self.talking:
            self.problems.append(f"{agent} talks to {self.talking[agent]} and {call_id}")
        if any(c == call_id for _, c, _, _ in self.talks) or call_id in self.talking.values():
            self.problems.append(f"{call_id} connected twice")
        self.talking[agent] = call_id

    def end(self, agent: str, call_id: str, began: dt.datetime) -> None:
        del self.talking[agent]
        self.talks.append((agent, call_id, began, now()))


class GreenChannel:
    """A caller's line whose every operation takes scaled real time and yields."""

    def __init__(self, call_id: str, patience: float, rng: random.Random, ledger: Ledger):
        self.info = CallInfo(call_id, "+15550001111")
        self.rng = rng
        self.ledger = ledger
        self._woken = Event()
        self._gone_at = now() + dt.timedelta(seconds=patience)

    def _pass(self, seconds: float, *, wakeable: bool = False) -> bool:
        """Let time pass; True when a wake cut it short."""
        left = min(seconds, (self._gone_at - now()).total_seconds())
        woken = self._woken.wait(max(left, 0) * SCALE) if wakeable else gevent.sleep(left * SCALE)
        if now() >= self._gone_at:
            raise CallerHungUp()
        return bool(woken)

    def now(self) -> dt.datetime:
        return now()

    def answer(self) -> None:
        self._pass(0)

    def play(self, prompts, *, barge_in: bool, keys: str = "") -> str:
        self._pass(len(prompts))
        return ""

    def collect(self, prompts, **kw) -> Collected:
        self._pass(1)
        return Collected("", timed_out=True)

    def wait(self, seconds: float, *, music=None, keys: str = "") -> str:
        if self._woken.is_set() or self._pass(seconds, wakeable=True):
            self._woken.clear()
        return ""

    def wake(self) -> None:
        self._woken.set()

    def bridge(
        self, endpoints, *, timeout, ringback, whisper, caller_id_name, variables, on_answer
    ):
        roll = self.rng.random()
        if roll < 0.15:
            self._pass(0.1)
            return BridgeResult("busy", "USER_BUSY")
        if roll < 0.3:
            self._pass(timeout)
            return BridgeResult("no_answer", "NO_ANSWER")
        endpoint = self.rng.choice(endpoints)
        ring = self.rng.uniform(1, 8)
        self._pass(ring)
        agent = endpoint.removeprefix("user/")
        on_answer(endpoint)
        self.ledger.start(agent, self.info.call_id)
        began = now()
        talk = self.rng.uniform(10, 60)
        gevent.sleep(talk * SCALE)
        self.ledger.end(agent, self.info.call_id, began)
        return BridgeResult("answered", "SUCCESS", endpoint, ring, talk)

    def transfer(self, destination: str) -> None:
        self._pass(0)

    def record(self, path: str, *, max_seconds: float, beep: bool) -> RecordResult:
        return RecordResult(path, 0.0)

    def set_var(self, name: str, value: str) -> None:
        """Channel variables do not matter here."""

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """The call ends when its greenlet does."""


def three_queues(folder):
    """One flow per queue, with queues.yaml and agents.yaml: agents shared between queues."""
    for queue in ("one", "two", "three"):
        flow = FLOW.format(queue=queue).replace("flow: t", f"flow: {queue}")
        (folder / f"{queue}.yaml").write_text(flow)
    return build(folder, FLOW.format(queue="one"), **{"agents.yaml": AGENTS, "queues.yaml": QUEUES})


@pytest.mark.parametrize("seed", [1, 2])
def test_many_greenlet_callers_on_one_pool_never_share_an_agent_or_get_two(tmp_path, seed):
    rng = random.Random(seed)
    project = three_queues(tmp_path)
    services = CallServices(project)
    ledger = Ledger()
    records = []

    def caller(n: int, queue: str) -> None:
        gevent.sleep(rng.uniform(0, 120) * SCALE)
        channel = GreenChannel(f"c{n}", rng.uniform(20, 900), rng, ledger)
        records.append(Call(services, project.flows[queue], channel).run())

    queues = ["one", "two", "three"]
    greenlets = [gevent.spawn(caller, n, rng.choice(queues)) for n in range(120)]
    gevent.joinall(greenlets, timeout=60, raise_error=True)
    assert all(g.dead for g in greenlets)
    assert ledger.problems == []
    assert len(records) == 120
    assert {r.outcome for r in records} <= {"answered", "abandoned", "completed"}
    answered = [r for r in records if r.outcome == "answered"]
    assert len(answered) == len(ledger.talks) > 10
    assert all(line == [] for line in services.agents.lines.values())
    assert all(a.state not in ("ringing", "on_call") for a in services.agents.agents.values())


def test_the_timekeeper_ends_a_wrap_up_on_time_and_offers_the_agent_to_a_callback(tmp_path):
    project = build(
        tmp_path,
        FLOW.format(queue="one"),
        **{"agents.yaml": AGENTS, "queues.yaml": QUEUES.replace("wrap_up: 5s", "wrap_up: 300ms")},
    )
    # The center's clock only moves when the test moves it; the timekeeper still sleeps for real
    # until the wrap-up is due, then finds on this clock whether it has ended.
    clock = [T0]
    center = ContactCenter(project.agents, project.queues, clock=lambda: clock[0])
    center.start(lambda call_id: False)
    pool = center.pool
    try:
        for agent_id in pool.agents:
            if agent_id != "a1":
                pool.logout(agent_id, center.clock())
        first = pool.enqueue("one", "c1", 0, center.clock())
        pool.answered(first, "a1", center.clock())
        offered = Event()
        waiting = pool.enqueue("one", "c2", 0, center.clock())
        callback = Callback("cb", "+15550001111", "loopback/+15550001111/default")
        pool.dial_callbacks = True
        pool.to_callback(waiting, callback, offered.set, center.clock())
        pool.finish("a1", center.clock(), queue="one")
        clock[0] += dt.timedelta(milliseconds=299)
        assert not offered.wait(0.6), "the agent was offered before the wrap-up ended"
        assert pool.agents["a1"].state == "wrap_up"
        clock[0] += dt.timedelta(milliseconds=1)
        assert offered.wait(5), "the timekeeper never offered the agent"
        assert waiting.offer == ["a1"]
    finally:
        center.stop()
