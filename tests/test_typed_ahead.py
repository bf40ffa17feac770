"""Keys a caller types ahead reach the flow whole, though FreeSWITCH drops some of them.

Between two applications FreeSWITCH's park loop takes a queued key and drops it (only its DTMF
event tells), as the real FreeSWITCH did to ``100200#`` typed over the shop's greeting: the
controller got ``10200``. The simulated FreeSWITCH drops keys the same way, so these run
through the controller and it over the event socket.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.simulator import SimulatedFreeSWITCH

FLOWS = Path(__file__).parents[1] / "flows"
SHOP = "18005550199"
GREETING = "says: Thank you for calling Acme Shop.  "
SHIPPED = "Your order was shipped"
ANYTHING_ELSE = "To check another order"
NOTICE_FLOW = """\
    flow: default
    start: notice
    nodes:
      notice:
        type: play
        prompt: "Calls are recorded."
        barge_in: false
        next: ask
      ask:
        type: input
        prompt: "Enter your code."
        digits: {min: 1, max: 4}
        terminator: "#"
        save_as: code
        next: bye
        on_fail: bye
      bye:
        type: hangup
"""


def serve(project, tmp_path):
    """The controller for ``project`` and a simulated FreeSWITCH calling it; calls that end."""
    ended = []
    controller = Controller(
        project,
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", FLOWS),
        on_call_end=ended.append,
        recordings_dir=tmp_path / "rec",
    )
    controller.start()
    freeswitch = SimulatedFreeSWITCH(controller.address, sounds_dir=FLOWS.parent / "sounds")
    return controller, freeswitch, ended


@pytest.fixture
def shop(tmp_path):
    """The example flows served, with a simulated FreeSWITCH calling them."""
    project = load_project(FLOWS)
    assert project.ok
    controller, freeswitch, ended = serve(project, tmp_path)
    yield freeswitch, ended
    controller.drain(timeout=5)


def live_call(freeswitch: SimulatedFreeSWITCH, reactions: dict[str, str], dialed: str = SHOP):
    """A live caller who reacts to what plays: ``reactions`` maps words heard (the first
    transcript line holding them) to keys typed at once, or to ``hangup``. Returns the call
    once it has ended."""
    holder = []

    def on_event(event) -> None:
        if event.who != "ivr":
            return
        for words, action in reactions.items():
            if words in event.text:
                if action == "hangup":
                    holder[0].hangup()
                else:
                    holder[0].press(action)
                return

    holder.append(freeswitch.place_call(None, dialed=dialed, on_event=on_event))
    return holder[0]


def ended_call(call):
    assert call.wait(timeout=20), "the call did not end"
    return call


def test_an_order_number_typed_over_the_greeting_is_understood_whole(shop):
    freeswitch, ended = shop

    call = ended_call(live_call(freeswitch, {GREETING: "100200#", ANYTHING_ELSE: "hangup"}))

    [done] = ended
    assert done.vars["order_id"] == "100200", call.transcript
    assert "shipped" in done.record.path
    assert done.record.outcome == "self_served"


def test_an_order_number_typed_before_the_greeting_starts_skips_it(shop):
    freeswitch, ended = shop

    call = live_call(freeswitch, {ANYTHING_ELSE: "hangup"})
    call.press("100200#")
    ended_call(call)

    [done] = ended
    assert done.vars["order_id"] == "100200", call.transcript
    assert not any(GREETING in event.text for event in call.transcript)
    assert "shipped" in done.record.path


def test_keys_typed_over_a_prompt_that_cannot_be_stopped_are_not_taken_as_an_entry(tmp_path):
    (tmp_path / "flow.yaml").write_text(dedent(NOTICE_FLOW))
    project = load_project(tmp_path)
    assert project.ok
    controller, freeswitch, ended = serve(project, tmp_path)
    try:
        call = live_call(
            freeswitch, {"Calls are recorded": "99", "Enter your code": "1234#"}, dialed="100"
        )
        ended_call(call)
    finally:
        controller.drain(timeout=5)

    [done] = ended
    assert done.vars["code"] == "1234", call.transcript
