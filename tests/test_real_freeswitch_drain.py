"""SIGTERM drains ``ivr serve`` on a real FreeSWITCH: no caller is cut off by a controller stop.

After SIGTERM the controller refuses new calls, so FreeSWITCH's dialplan fails them over (the
apology and the fallback operators, freeswitch_conf/dialplan/default/00_ivr_controller.xml); the
calls in progress go on to their end, and the process exits 0 after the last one. A call still
going when the drain time (``--drain-timeout``) is up is handed back to FreeSWITCH, whose
failover takes the caller, and is journaled as an error. Each test has a FreeSWITCH of its own
(``private_freeswitch``); the caller is a loopback call to the IVR number, pressing keys with
``uuid_send_dtmf``.
"""

from __future__ import annotations

import signal

import pytest
from realfs import (
    ServeProcess,
    call_the_ivr_number,
    events_of,
    expect_failover,
    in_the_menu,
    readable_dir,
)

MENU_FLOW = """\
flow: default
start: menu
nodes:
  menu:
    type: menu
    prompt: "For sales press 1."
    choices: {1: thanks}
    timeout: 60s
    attempts: 1
    on_fail: bye
  thanks: {type: play, prompt: "Thank you.", goal: served, next: bye}
  bye: {type: hangup}
"""


@pytest.fixture
def serving(private_freeswitch):
    """Starts ``ivr serve`` on the private FreeSWITCH's controller address with the menu."""
    started = []
    with readable_dir() as work:
        flows = work / "flows"
        flows.mkdir()
        (flows / "default.yaml").write_text(MENU_FLOW)

        def start(*extra: str) -> ServeProcess:
            started.append(ServeProcess(work, flows, private_freeswitch.controller, *extra))
            return started[-1]

        try:
            yield start
        finally:
            for serve in started:
                serve.stop()


@pytest.fixture
def fs(private_freeswitch):
    client = private_freeswitch.connect()
    yield client
    client.close()


def test_sigterm_lets_a_call_in_the_menu_finish_fails_new_callers_over_and_exits_0(fs, serving):
    serve = serving("--drain-timeout", "60")
    events = events_of(fs, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
    caller = call_the_ivr_number(fs)
    menu_leg = in_the_menu(events)

    serve.process.send_signal(signal.SIGTERM)

    serve.next_line("ivr: draining 1 call(s)")
    # A new caller meanwhile is refused by the controller and taken by the dialplan's failover.
    call_the_ivr_number(fs)
    expect_failover(events, other_than=menu_leg)
    assert serve.process.poll() is None, "ivr serve left before its call ended"
    # The caller in the menu goes on: presses 1, hears the thanks, and the call ends.
    assert fs.uuid_send_dtmf(caller, "1")
    assert serve.process.wait(timeout=30) == 0
    entries = serve.calls()
    assert [(e["call_id"], e["outcome"]) for e in entries] == [(menu_leg, "self_served")]


def test_a_call_still_going_when_the_drain_time_is_up_is_handed_to_the_fallback(fs, serving):
    serve = serving("--drain-timeout", "2")
    events = events_of(fs, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
    call_the_ivr_number(fs)
    menu_leg = in_the_menu(events)

    serve.process.send_signal(signal.SIGTERM)

    assert serve.process.wait(timeout=30) == 0
    assert expect_failover(events, leg=menu_leg).unique_id == menu_leg
    [entry] = serve.calls()
    assert (entry["call_id"], entry["outcome"]) == (menu_leg, "error")
    assert "drain time up" in entry["error"]
