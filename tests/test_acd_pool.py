"""The agent pool: agent states, who is offered to whom, and repairs, event by event."""

import datetime as dt

import pytest

from ivr.acd import AgentPool, StateError, UnknownAgent
from ivr.flow.config import AgentConfig, QueueConfig

T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def agent(agent_id: str, *skills: str) -> AgentConfig:
    return AgentConfig(agent_id, agent_id.title(), f"user/{agent_id}", list(skills))


def make_pool(strategy: str = "longest_idle", **queue) -> AgentPool:
    agents = {a.id: a for a in [agent("a1", "en"), agent("a2", "en", "ru"), agent("a3", "ru")]}
    queues = {
        "help": QueueConfig("help", ["a1", "a2", "a3"], strategy, **{"wrap_up": 10.0, **queue}),
        "vip": QueueConfig("vip", ["a3"], wrap_up=0.0),
    }
    return AgentPool(agents, queues)


def states(pool: AgentPool) -> dict[str, str]:
    return {agent_id: a.state for agent_id, a in pool.agents.items()}


def test_a_caller_joining_is_offered_the_longest_idle_agent_at_once_and_it_rings():
    pool = make_pool()
    told = []
    entry = pool.enqueue("help", "c1", 0, T0, notify=lambda: told.append("c1"))
    assert entry.offer == ["a1"]
    assert told == ["c1"]
    assert pool.agents["a1"].state == "ringing"
    assert pool.agents["a1"].call_id == "c1"


def test_an_answered_caller_leaves_the_line_and_the_agent_wraps_up_before_the_next_call():
    pool = make_pool()
    entry = pool.enqueue("help", "c1", 0, T0)
    pool.answered(entry, "a1", at(2))
    assert pool.lines["help"] == []
    assert pool.agents["a1"].state == "on_call"
    pool.finish("a1", at(62), talk_seconds=60, queue="help")
    assert pool.agents["a1"].state == "wrap_up"
    assert pool.next_due() == at(72)
    pool.advance(at(71))
    assert pool.agents["a1"].state == "wrap_up"
    pool.advance(at(72))
    assert pool.agents["a1"].state == "available"
    assert pool.handle_times.recent("help") == [70.0]


def test_an_agent_freed_by_a_wrap_up_is_offered_to_the_caller_waiting_without_polling():
    pool = make_pool()
    for agent_id in ("a2", "a3"):
        pool.logout(agent_id, T0)
    first = pool.enqueue("help", "c1", 0, T0)
    pool.answered(first, "a1", at(1))
    told = []
    second = pool.enqueue("help", "c2", 0, at(5), notify=lambda: told.append(True))
    assert second.offer == []
    pool.finish("a1", at(30), queue="help")
    pool.advance(pool.next_due())
    assert second.offer == ["a1"] and told == [True]


def test_callers_are_served_by_priority_then_arrival():
    pool = make_pool()
    for agent_id in ("a1", "a2", "a3"):
        pool.take_break(agent_id, T0)
    early = pool.enqueue("help", "early", 0, at(1))
    vip = pool.enqueue("help", "vip", 10, at(2))
    late = pool.enqueue("help", "late", 0, at(3))
    assert [e.call_id for e in pool.lines["help"]] == ["vip", "early", "late"]
    assert [pool.position(e) for e in (vip, early, late)] == [1, 2, 3]
    pool.login("a1", at(4))
    assert vip.offer == ["a1"] and early.offer == [] and late.offer == []


def test_a_caller_who_needs_a_skill_only_gets_agents_who_have_it():
    pool = make_pool()
    pool.logout("a2", T0)
    entry = pool.enqueue("help", "c1", 0, T0, skills=["ru"])
    assert entry.offer == ["a3"]


def test_a_caller_behind_who_needs_another_skill_is_not_blocked_by_the_head():
    pool = make_pool()
    pool.logout("a2", T0)
    pool.logout("a3", T0)
    pool.take_break("a1", T0)
    russian = pool.enqueue("help", "ru", 0, at(1), skills=["ru"])
    english = pool.enqueue("help", "en", 0, at(2), skills=["en"])
    pool.login("a1", at(3))
    assert russian.offer == [] and english.offer == ["a1"]


def test_an_agent_in_two_queues_goes_to_the_caller_who_has_waited_longest():
    pool = make_pool()
    for agent_id in ("a1", "a2", "a3"):
        pool.logout(agent_id, T0)
    helped = pool.enqueue("help", "help-caller", 0, at(1), skills=["ru"])
    vip = pool.enqueue("vip", "vip-caller", 0, at(2))
    pool.login("a3", at(3))
    assert helped.offer == ["a3"] and vip.offer == []


def test_no_answer_frees_the_agent_counts_a_miss_and_the_caller_keeps_the_head_of_the_line():
    pool = make_pool()
    pool.logout("a2", T0)
    pool.logout("a3", T0)
    first = pool.enqueue("help", "c1", 0, T0)
    second = pool.enqueue("help", "c2", 0, at(1))
    pool.not_answered(first, "no_answer", at(15))
    assert pool.agents["a1"].missed == 1
    assert pool.position(first) == 1
    # Nobody else is free: a new round rings the same agent for the caller at the head.
    assert first.offer == ["a1"] and second.offer == []


def test_an_agent_who_misses_max_no_answer_calls_in_a_row_is_put_on_a_break():
    pool = make_pool(max_no_answer=2)
    pool.logout("a2", T0)
    pool.logout("a3", T0)
    entry = pool.enqueue("help", "c1", 0, T0)
    pool.not_answered(entry, "no_answer", at(15))
    pool.not_answered(entry, "no_answer", at(30))
    a1 = pool.agents["a1"]
    assert (a1.state, a1.reason) == ("on_break", "missed 2 calls")
    assert entry.offer == []
    pool.login("a1", at(40))
    assert a1.missed == 0 and entry.offer == ["a1"]


def test_a_busy_phone_sends_the_caller_to_the_next_agent_and_rests_the_agent_a_moment():
    pool = make_pool()
    entry = pool.enqueue("help", "c1", 0, T0)
    pool.not_answered(entry, "busy", at(1))
    assert entry.offer == ["a2"]
    assert pool.agents["a1"].missed == 0
    other = pool.enqueue("help", "c2", 0, at(2))
    assert other.offer == ["a3"]  # a1 rests after its busy phone
    pool.answered(other, "a3", at(3))
    later = pool.enqueue("help", "c3", 0, at(5))
    assert later.offer == []
    pool.advance(pool.next_due())
    assert later.offer == ["a1"]


def test_ring_all_rings_every_free_agent_and_the_first_to_answer_frees_the_others():
    pool = make_pool("ring_all")
    entry = pool.enqueue("help", "c1", 0, T0)
    assert entry.offer == ["a1", "a2", "a3"]
    pool.answered(entry, "a2", at(2))
    assert states(pool) == {"a1": "available", "a2": "on_call", "a3": "available"}
    assert entry.offer == ["a2"]


def test_round_robin_takes_agents_in_turn():
    pool = make_pool("round_robin", wrap_up=0.0)
    chosen = []
    for n in range(4):
        entry = pool.enqueue("help", f"c{n}", 0, at(n))
        chosen.append(entry.offer[0])
        pool.answered(entry, entry.offer[0], at(n))
        pool.finish(entry.offer[0], at(n), queue="help")
    assert chosen == ["a1", "a2", "a3", "a1"]


def test_fewest_calls_prefers_the_agent_who_answered_least():
    pool = make_pool("fewest_calls")
    pool.agents["a1"].calls = 5
    pool.agents["a2"].calls = 2
    pool.agents["a3"].calls = 7
    assert pool.enqueue("help", "c1", 0, T0).offer == ["a2"]


def test_the_skills_strategy_prefers_the_most_specialised_agent():
    pool = make_pool("skills")
    # a1 (en) and a2 (en, ru) can both take an English caller: a1 keeps a2 free for Russian.
    pool.agents["a1"].idle_since = at(100)
    assert pool.enqueue("help", "c1", 0, at(200), skills=["en"]).offer == ["a1"]


def test_logout_or_break_during_a_call_waits_for_its_end():
    pool = make_pool()
    entry = pool.enqueue("help", "c1", 0, T0)
    pool.answered(entry, "a1", at(2))
    pool.logout("a1", at(10))
    assert pool.agents["a1"].state == "on_call" and pool.agents["a1"].pending == "logged_out"
    pool.finish("a1", at(60), queue="help")
    pool.advance(at(70))
    assert pool.agents["a1"].state == "logged_out"


def test_a_login_during_a_call_cancels_a_pending_break():
    pool = make_pool()
    entry = pool.enqueue("help", "c1", 0, T0)
    pool.answered(entry, "a1", at(2))
    pool.take_break("a1", at(10))
    pool.login("a1", at(20))
    pool.finish("a1", at(60), queue="help")
    pool.advance(at(70))
    assert pool.agents["a1"].state == "available"


def test_a_timed_break_ends_by_itself():
    pool = make_pool()
    pool.take_break("a1", T0, until=at(900))
    assert pool.agents["a1"].state == "on_break"
    pool.advance(at(900))
    assert pool.agents["a1"].state == "available"


def test_a_break_needs_the_agent_logged_in_and_unknown_agents_are_refused():
    pool = make_pool()
    pool.logout("a1", T0)
    with pytest.raises(StateError, match="log in before"):
        pool.take_break("a1", T0)
    with pytest.raises(UnknownAgent, match="no agent 'zz'"):
        pool.login("zz", T0)


def test_a_caller_who_hangs_up_while_an_agent_rings_frees_the_agent_for_the_next_caller():
    pool = make_pool()
    pool.logout("a2", T0)
    pool.logout("a3", T0)
    gone = pool.enqueue("help", "gone", 0, T0)
    waiting = pool.enqueue("help", "waiting", 0, at(1))
    pool.leave(gone, at(3))
    assert pool.agents["a1"].missed == 0
    assert waiting.offer == ["a1"]


def test_the_sweep_frees_agents_of_calls_that_are_gone_and_clears_their_callers():
    pool = make_pool()
    ringing = pool.enqueue("help", "c1", 0, T0)
    talking = pool.enqueue("help", "c2", 0, T0)
    pool.answered(talking, talking.offer[0], at(2))
    pool.enqueue("help", "c3", 0, at(3))
    repairs = pool.sweep(lambda call_id: False, at(10))
    assert repairs == [
        "caller c1 left queue help: call gone",
        "caller c3 left queue help: call gone",
        "agent a2 was on call c2: call gone",
    ]
    assert pool.lines["help"] == []
    assert ringing.offer == []
    assert states(pool) == {"a1": "available", "a2": "available", "a3": "available"}


def test_the_sweep_leaves_live_calls_and_agents_busy_elsewhere_alone():
    pool = make_pool()
    pool.set_state("a2", "busy", T0)
    entry = pool.enqueue("help", "c1", 0, T0)
    assert pool.sweep(lambda call_id: call_id == "c1", at(5)) == []
    assert entry.offer == ["a1"]
    assert pool.agents["a2"].state == "on_call"


def test_status_lists_waiting_callers_longest_wait_and_agents_by_state():
    pool = make_pool()
    pool.set_state("a1", "busy", T0)
    pool.set_state("a2", "busy", T0)
    pool.logout("a3", T0)
    pool.enqueue("help", "c1", 0, T0)
    status = pool.status(at(95))
    help_queue = status["queues"]["help"]
    assert help_queue["waiting"] == 1
    assert help_queue["longest_wait"] == 95.0
    assert help_queue["agents"]["on_call"] == 2 and help_queue["agents"]["logged_out"] == 1
    assert status["agents"]["a3"]["state"] == "logged_out"
