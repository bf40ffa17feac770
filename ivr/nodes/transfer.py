"""``transfer``: hand the call to another number or extension."""

from __future__ import annotations

from ivr.flow.fields import PromptField, Template
from ivr.nodes.base import Node


class Transfer(Node):
    """Plays an optional prompt, then transfers the call; our part of the call ends."""

    type_name = "transfer"
    summary = "Transfer the call to another number or extension"
    needs_answer = False
    ends_call = True
    options = {
        "to": Template("The destination: an extension or number, e.g. 2000", required=True),
        "prompt": PromptField("Played before the transfer"),
    }

    def run(self, call) -> None:
        destination = call.render(self.opts["to"]).strip()
        if self.opts["prompt"] is not None:
            call.ensure_answered()
            call.say(self.opts["prompt"])
        call.log.info("transfer to %s", destination)
        call.channel.transfer(destination)
        call.record.transferred_to = destination
        return None


NODE = Transfer
