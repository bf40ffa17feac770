"""Operator queues on a real FreeSWITCH: hold music, announcements, agents, hang-ups, callbacks.

Each test starts a controller with its contact center on a free port, with a small queue flow and
its call journal, and places a real call: a loopback call to the IVR number, through the
installed dialplan (``ivr freeswitch-conf install``), carrying ``ivr_controller`` so that the
IVR extension hands it to this test's controller. Agents are FreeSWITCH endpoints of the stock
dialplan: ``loopback/9196/default`` (the echo test) answers at once, ``loopback/wait/default``
rings (early media) for 20 s before it answers, ``error/user_busy`` is busy. What the caller and
the agent hear is read from FreeSWITCH's own events (PLAYBACK_START, CHANNEL_EXECUTE), whose
channel says who heard it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from realfs import QueueCenter, is_loopback, next_event, started_center

IVR_NUMBER = "18005550100"
ANSWERS = "loopback/9196/default"
RINGS = "loopback/wait/default"
BUSY = "error/user_busy"
CALLER = "15550001111"
HOLD_MUSIC = "local_stream://moh"

TENANTS = """\
    tenants:
      acme: {name: Acme Bank, numbers: ["18005550100"], flow: support}
"""
HOLD_FLOW = """\
    flow: support
    start: operator
    nodes:
      operator:
        type: queue
        queue: retail
        announce: {position: true, every: 2s}
"""


def project(flow: str, agents: dict[str, str], **queue_options: str) -> dict[str, str]:
    """The files of a project: ``flow``, one tenant, the queue ``retail`` of ``agents``.

    Args:
        flow: support.yaml.
        agents: each agent's number and the endpoint its phone is.
        queue_options: more options of the queue, as YAML values.
    """
    people = "".join(
        f"  {number}: {{name: Agent {number}, endpoint: {endpoint}}}\n"
        for number, endpoint in agents.items()
    )
    extra = "".join(f"    {key}: {value}\n" for key, value in queue_options.items())
    return {
        "support.yaml": flow,
        "tenants.yaml": TENANTS,
        "queues.yaml": f"queues:\n  retail:\n    agents: [{', '.join(agents)}]\n{extra}",
        "agents.yaml": f"agents:\n{people}",
    }


@pytest.fixture
def fs_center(freeswitch):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    with started_center(freeswitch) as start:
        yield start


def heard_on(center: QueueCenter, leg: str, words: str, timeout: float = 10.0):
    """The PLAYBACK_START on ``leg`` of a prompt whose words hold ``words``."""
    return next_event(
        center.events,
        lambda m: (
            m.event_name == "PLAYBACK_START"
            and m.unique_id == leg
            and words in center.words_of(m.get("Playback-File-Path") or "")
        ),
        f"playback of {words!r} on {leg}",
        timeout=timeout,
    )


def playing_on(center: QueueCenter, leg: str, path: str, what: str):
    """The PLAYBACK_START on ``leg`` of the file or stream ``path``."""
    return next_event(
        center.events,
        lambda m: (
            m.event_name == "PLAYBACK_START"
            and m.unique_id == leg
            and m.get("Playback-File-Path") == path
        ),
        what,
    )


def test_a_waiting_caller_hears_the_queues_hold_music_between_position_announcements(fs_center):
    center: QueueCenter = fs_center(
        project(HOLD_FLOW, {"1001": ANSWERS}, hold_music=HOLD_MUSIC),
        logged_out=["1001"],
    )
    call = center.call(IVR_NUMBER, caller=CALLER)

    heard_on(center, call.ivr_leg, "You are number 1 in line.")
    music = next_event(
        center.events,
        lambda m: m.event_name == "PLAYBACK_START" and m.unique_id == call.ivr_leg,
        "hold music after the announcement",
    )
    assert music.get("Playback-File-Path") == HOLD_MUSIC
    # Two seconds later the caller, still holding, hears the position again.
    heard_on(center, call.ivr_leg, "You are number 1 in line.")
    center.hang_up(call)

    entry = center.journal_entry(call)
    assert entry["outcome"] == "abandoned"
    assert entry["queue"] == "retail"
    center.expect_no_leg_left()


def test_hold_music_freeswitch_cannot_find_gives_way_to_the_default_music(fs_center):
    center: QueueCenter = fs_center(
        project(QUEUE_FLOW, {"1001": ANSWERS}, hold_music="/nonexistent/hold.wav"),
        logged_out=["1001"],
    )
    call = center.call(IVR_NUMBER, caller=CALLER)

    playing_on(center, call.ivr_leg, HOLD_MUSIC, "the default hold music")
    center.hang_up(call)

    assert center.journal_entry(call)["outcome"] == "abandoned"
    tried = [
        m
        for m in center.history
        if m.event_name == "CHANNEL_EXECUTE_COMPLETE"
        and m.unique_id == call.ivr_leg
        and m.get("Application-Data") == "/nonexistent/hold.wav"
    ]
    assert [m.get("Application-Response") for m in tried] == ["FILE NOT FOUND"]
    center.expect_no_leg_left()


QUEUE_FLOW = """\
    flow: support
    start: operator
    nodes:
      operator:
        type: queue
        queue: retail
"""


def test_the_agent_alone_hears_the_whisper_and_sees_the_company_in_the_caller_id_name(fs_center):
    center: QueueCenter = fs_center(project(QUEUE_FLOW, {"1001": ANSWERS}, wrap_up="5s"))
    call = center.call(IVR_NUMBER, caller=CALLER, caller_name="Jane Doe")

    agent_leg = connected_agent(center, call)
    whispers = [
        m
        for m in center.history
        if m.event_name == "PLAYBACK_START"
        and "Call for Acme Bank." in center.words_of(m.get("Playback-File-Path") or "")
    ]
    assert [m.unique_id for m in whispers] == [agent_leg]
    # Both sides of the agent's loopback leg: the one bridged and the phone's.
    agent_sides = [
        m
        for m in center.history
        if m.event_name == "CHANNEL_CREATE"
        and (m.unique_id == agent_leg or m.get("Other-Leg-Unique-ID") == agent_leg)
    ]
    assert agent_sides, "FreeSWITCH created no channel for the agent"
    for side in agent_sides:
        assert side.get("Caller-Caller-ID-Name") == "Acme Bank: Jane Doe"
        assert side.get("Caller-Caller-ID-Number") == CALLER
    center.client.uuid_kill(agent_leg)  # the agent hangs up

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["agent"], entry["tenant"]) == ("answered", "1001", "acme")
    assert center.center.pool.agents["1001"].state == "wrap_up"
    center.expect_no_leg_left()


def connected_agent(center: QueueCenter, call, timeout: float = 20.0) -> str:
    """The agent's leg once the caller is connected to it."""
    bridged = next_event(
        center.events,
        lambda m: m.event_name == "CHANNEL_BRIDGE" and m.unique_id == call.ivr_leg,
        "the caller connected to an agent",
        timeout=timeout,
    )
    return bridged.get("Other-Leg-Unique-ID")


def rung(center: QueueCenter, call) -> list[str]:
    """What the controller's bridges rang for the caller so far, in order."""
    return [
        m.get("Application-Data").rpartition("]")[2]
        for m in center.history
        if m.event_name == "CHANNEL_EXECUTE"
        and m.unique_id == call.ivr_leg
        and m.get("Application") == "bridge"
    ]


def test_an_agent_who_lets_it_ring_out_is_put_on_a_break_and_the_next_agent_answers(fs_center):
    center: QueueCenter = fs_center(
        project(QUEUE_FLOW, {"1001": RINGS, "1002": ANSWERS}, ring_timeout="2s", max_no_answer="1")
    )
    call = center.call(IVR_NUMBER, caller=CALLER)

    agent_leg = connected_agent(center, call)
    assert rung(center, call) == [RINGS, ANSWERS]
    center.client.uuid_kill(agent_leg)

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["agent"]) == ("answered", "1002")
    missed = center.center.pool.agents["1001"]
    assert (missed.state, missed.reason) == ("on_break", "missed 1 calls")
    center.expect_no_leg_left()


def test_a_busy_agent_is_passed_over_for_a_while_and_the_next_agent_answers(fs_center):
    center: QueueCenter = fs_center(project(QUEUE_FLOW, {"1001": BUSY, "1002": ANSWERS}))
    call = center.call(IVR_NUMBER, caller=CALLER)

    agent_leg = connected_agent(center, call)
    assert rung(center, call) == [BUSY, ANSWERS]
    center.client.uuid_kill(agent_leg)

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["agent"]) == ("answered", "1002")
    busy = center.center.pool.agents["1001"]
    assert busy.state == "available"
    assert busy.ready_at > dt.datetime.fromisoformat(entry["ended_at"])
    center.expect_no_leg_left()


def test_when_no_agent_answers_the_caller_goes_on_at_max_wait(fs_center):
    center: QueueCenter = fs_center(
        project(
            """\
                flow: support
                start: operator
                nodes:
                  operator:
                    type: queue
                    queue: retail
                    max_wait: 2s
                    on_timeout: sorry
                  sorry:
                    type: hangup
                    prompt: "Sorry, nobody is free. Please call again later."
            """,
            {"1001": BUSY},
        )
    )
    call = center.call(IVR_NUMBER, caller=CALLER)

    heard_on(center, call.ivr_leg, "Sorry, nobody is free.")

    entry = center.journal_entry(call)
    assert entry["outcome"] == "completed"
    assert (entry["queue"], entry["agent"], entry["in_queue_at_end"]) == ("retail", None, 0)
    assert rung(center, call) == [BUSY]
    center.expect_no_leg_left()


def test_a_caller_who_hangs_up_on_hold_leaves_an_abandoned_call(fs_center):
    center: QueueCenter = fs_center(
        project(QUEUE_FLOW, {"1001": ANSWERS}),
        logged_out=["1001"],
    )
    call = center.call(IVR_NUMBER, caller=CALLER)
    playing_on(center, call.ivr_leg, HOLD_MUSIC, "hold music")

    center.hang_up(call)

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["hung_up_by_caller"], entry["in_queue_at_end"]) == (
        "abandoned",
        1,
        1,
    )
    assert entry["ended_at"] is not None
    center.expect_no_leg_left()


MENU_THEN_QUEUE = """\
    flow: support
    start: welcome
    nodes:
      welcome:
        type: play
        prompt: "Welcome to Acme Bank."
        next: operator
      operator:
        type: queue
        queue: retail
        prompt: "All our operators are busy. Please hold."
"""


@pytest.mark.parametrize(
    ("words", "outcome"),
    [("Welcome to Acme Bank.", "ivr_hangup"), ("All our operators are busy.", "abandoned")],
    ids=["in the menus", "in the queue"],
)
def test_a_caller_who_hangs_up_during_a_prompt_leaves_a_closed_call(fs_center, words, outcome):
    center: QueueCenter = fs_center(
        project(MENU_THEN_QUEUE, {"1001": ANSWERS}),
        logged_out=["1001"],
    )
    call = center.call(IVR_NUMBER, caller=CALLER)
    heard_on(center, call.ivr_leg, words)

    center.hang_up(call)

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["hung_up_by_caller"]) == (outcome, 1)
    center.expect_no_leg_left()


def test_a_caller_who_hangs_up_while_the_agent_rings_is_abandoned_and_the_agent_freed(fs_center):
    center: QueueCenter = fs_center(project(QUEUE_FLOW, {"1001": RINGS}, ring_timeout="15s"))
    call = center.call(IVR_NUMBER, caller=CALLER)
    # The agent's phone rings: the stock "wait" extension has pre-answered and sleeps.
    next_event(
        center.events,
        lambda m: (
            m.event_name == "CHANNEL_EXECUTE"
            and m.get("Application") == "sleep"
            and m.get("Caller-Destination-Number") == "wait"
        ),
        "the agent's phone ringing",
    )
    assert center.center.pool.agents["1001"].state == "ringing"

    center.hang_up(call)

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["agent"]) == ("abandoned", None)
    agent = center.center.pool.agents["1001"]
    assert (agent.state, agent.missed) == ("available", 0)
    center.expect_no_leg_left()


def test_a_caller_who_hangs_up_while_the_agent_hears_the_whisper_is_abandoned(fs_center):
    center: QueueCenter = fs_center(project(QUEUE_FLOW, {"1001": ANSWERS}))
    call = center.call(IVR_NUMBER, caller=CALLER)
    next_event(
        center.events,
        lambda m: (
            m.event_name == "PLAYBACK_START"
            and "Call for Acme Bank." in center.words_of(m.get("Playback-File-Path") or "")
        ),
        "the whisper to the agent",
    )

    center.hang_up(call)

    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["agent"]) == ("abandoned", None)
    agent = center.center.pool.agents["1001"]
    assert (agent.state, agent.missed) == ("available", 0)
    center.expect_no_leg_left()


CALLBACK_FLOW = """\
    flow: support
    start: operator
    nodes:
      operator:
        type: queue
        queue: retail
        callback: {key: 1, offer_after: 1s}
"""
CALLBACK_NUMBER = "9196"
"""The caller's own number, to be called back at: the stock echo test, which answers."""


def test_a_caller_called_back_is_dialled_by_originate_and_the_journal_records_it(fs_center):
    center: QueueCenter = fs_center(
        project(CALLBACK_FLOW, {"1001": ANSWERS}),
        logged_out=["1001"],
    )
    call = center.call(IVR_NUMBER, caller=CALLBACK_NUMBER)
    # The caller presses as soon as they hear the offer, before it has finished.
    heard_on(center, call.ivr_leg, "To be called back without losing your place in line")
    center.press(call, "1")
    confirm = listening(center, call, "play_and_get_digits")
    assert "We will call you back at" in center.words_of(confirm.get("Application-Data").split()[5])
    center.press(call, "1")
    # The caller hangs up over the goodbye: the callback is theirs all the same.
    heard_on(center, call.ivr_leg, "we will call you back as soon as an operator is free")
    center.hang_up(call)
    entry = center.journal_entry(call)
    assert (entry["outcome"], entry["callback"]) == ("callback", CALLBACK_NUMBER)

    center.center.pool.login("1001", dt.datetime.now(dt.UTC))

    # The agent's phone is rung first, hears whom the call is for, then the caller's rings.
    heard = next_event(
        center.events,
        lambda m: (
            m.event_name == "PLAYBACK_START"
            and "Callback for Acme Bank." in center.words_of(m.get("Playback-File-Path") or "")
        ),
        "the agent hearing whom the callback is for",
        timeout=20,
    )
    bridged = next_event(
        center.events,
        lambda m: m.event_name == "CHANNEL_BRIDGE" and m.unique_id == heard.unique_id,
        "the agent connected to the caller called back",
    )
    agent = next(
        m
        for m in center.history
        if m.event_name == "CHANNEL_CREATE" and m.unique_id == heard.unique_id
    )
    assert agent.get("Caller-Caller-ID-Name") == f"Acme Bank: callback {CALLBACK_NUMBER}"
    caller_phone = bridged.get("Other-Leg-Unique-ID")
    dialled = next(
        m
        for m in center.history
        if m.event_name == "CHANNEL_CREATE" and m.unique_id == caller_phone
    )
    assert dialled.get("Caller-Destination-Number") == CALLBACK_NUMBER
    assert dialled.get("Caller-Caller-ID-Number") == IVR_NUMBER
    assert dialled.get("Caller-Caller-ID-Name") == "Acme Bank"
    center.client.uuid_kill(caller_phone)  # the caller hangs up after talking

    call_id, result = center.callbacks_dialed.get(timeout=15)
    assert (call_id, result.status, result.agent) == (call.ivr_leg, "answered", "1001")
    row = center.journal_row("callbacks", call.ivr_leg)
    assert (row["number"], row["status"], row["agent"], row["attempts"]) == (
        CALLBACK_NUMBER,
        "answered",
        "1001",
        1,
    )
    center.expect_no_leg_left()


def listening(center: QueueCenter, call, application: str):
    """The CHANNEL_EXECUTE of ``application`` listening for the caller's keys."""
    return next_event(
        center.events,
        lambda m: (
            m.event_name == "CHANNEL_EXECUTE"
            and m.unique_id == call.ivr_leg
            and m.get("Application") == application
        ),
        f"{application} listening for keys",
    )
