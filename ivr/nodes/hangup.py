"""``hangup``: say goodbye and end the call."""

from __future__ import annotations

from ivr.flow.fields import PromptField
from ivr.nodes.base import Node


class Hangup(Node):
    """Plays an optional goodbye, then hangs up."""

    type_name = "hangup"
    summary = "Say goodbye and end the call"
    ends_call = True
    options = {"prompt": PromptField("A goodbye played before hanging up")}

    example = """\
flow: example_hangup
start: goodbye
nodes:
  goodbye:
    type: hangup
    prompt: "Thank you for calling. Goodbye."
"""

    def run(self, call) -> None:
        call.say(self.opts["prompt"])
        call.hangup()
        return None


NODE = Hangup
