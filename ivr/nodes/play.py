"""``play``: play a prompt, then go on."""

from __future__ import annotations

from ivr.flow.fields import Edge, Flag, PromptField
from ivr.nodes.base import Node


class Play(Node):
    """Plays a prompt, which a key may stop when the next node asks for keys.

    The key is handed on, so callers who know the menu need not wait for the prompt to end.
    """

    type_name = "play"
    summary = "Play a prompt, then go on to the next node"
    options = {
        "prompt": PromptField("What the caller hears", required=True),
        "barge_in": Flag(
            "Let a key press stop the prompt (default: on when the next node is a menu or input)"
        ),
        "next": Edge("The node after the prompt", label="next", required=True),
    }

    example = """\
flow: example_play
start: welcome
nodes:
  welcome:
    type: play
    prompt: "Welcome to Acme Bank."   # a key pressed now goes to the menu
    next: menu
  menu:
    type: menu
    prompt: "For opening hours press 1. For an operator press 0."
    choices: {1: hours, 0: operator}
    on_fail: operator
  hours:
    type: hangup
    prompt: "We are open weekdays from 9 to 6. Goodbye."
  operator:
    type: queue
    queue: retail
"""

    def check(self, project) -> dict | None:
        if self.opts["barge_in"] is not None:
            return None
        following = project.flow.nodes.get(self.edges.get("next", ""))
        return {**self.opts, "barge_in": following is not None and following.collects_keys}

    def run(self, call) -> str:
        keys = call.say(self.opts["prompt"], barge_in=bool(self.opts["barge_in"]))
        if keys:
            call.pending_digits = keys
        return "next"


NODE = Play
