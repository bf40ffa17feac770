"""``countdown``: a node type that comes from a plugin, written as a plugin author would.

It says "3, 2, 1" (each number said as a number or as digits, in the call's language), then
an optional line, and goes on; a caller who presses a key during it goes where ``on_key``
leads, the key handed on to the next node. It is a test fixture: tests/test_countdown_plugin.py
installs it through the ``ivr.nodes`` entry point, as a distribution would, and checks that
this one file is all ivr needs to validate, draw, pre-render, run and journal it.
"""

from __future__ import annotations

from ivr.flow.fields import Edge, Number, PromptField, Text
from ivr.flow.prompts import Prompt, SayPart
from ivr.nodes.base import Node
from ivr.prompts.speech import FixedSpeech


class Countdown(Node):
    """Counts down aloud from ``from`` to 1, then says ``then`` and goes on.

    Each number is its own prompt, so a key stops the count where the caller pressed it.
    The visit's journal notes say how far it got (``counted``) and the key (``stopped_by``).
    """

    type_name = "countdown"
    summary = "Count down aloud, then go on"
    options = {
        "from": Number("The number to count down from", minimum=1, maximum=10, default=3),
        "say_as": Text("How each number is said", choices=["number", "digits"], default="number"),
        "then": PromptField("Said after the last number"),
        "next": Edge("Where the caller goes after the countdown", label="next", required=True),
        "on_key": Edge("Where a caller who presses a key during the countdown goes", label="key"),
    }

    example = """\
flow: example_countdown
start: launch
nodes:
  launch:
    type: countdown
    from: 3
    then: "Lift off!"
    next: goodbye
  goodbye:
    type: hangup
    prompt: "Goodbye."
"""

    def _numbers(self) -> list[Prompt]:
        kind = self.opts["say_as"]
        return [Prompt({"*": (SayPart(kind, str(n)),)}) for n in range(self.opts["from"], 0, -1)]

    def diagram_lines(self) -> list[str]:
        then = self.opts["then"]
        return [f"counts down from {self.opts['from']}", *([then.plain_text()] if then else [])]

    def fixed_speech(self, language: str, tenant_name: str | None) -> FixedSpeech:
        return FixedSpeech(prompts=self._numbers())

    def run(self, call) -> str:
        listening = self.opts["on_key"] is not None
        counted = []
        for number in self._numbers():
            keys = call.say(number, barge_in=listening)
            counted.append(number.for_language(call.language)[0].value)
            if keys:
                call.note("counted", " ".join(counted))
                call.note("stopped_by", keys)
                call.pending_digits = keys
                return "key"
        call.note("counted", " ".join(counted))
        call.say(self.opts["then"])
        return "next"


NODE = Countdown
