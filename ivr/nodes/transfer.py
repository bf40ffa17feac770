"""``transfer``: hand the call to another number or extension, or try it and come back on failure.

Without ``on_fail`` the call is handed to FreeSWITCH's dialplan (a blind transfer): it leaves
the flow at once, and what happens if the destination is busy is the dialplan's business. With
``on_fail`` the controller rings the destination itself, the caller hearing ringback; when it
answers the two talk and the call ends with them, and when it is busy, does not answer within
``ring_timeout`` or cannot be reached, the caller goes on to ``on_fail`` (an apology, a queue).
"""

from __future__ import annotations

from ivr.flow.fields import Duration, Edge, PromptField, Template, Text
from ivr.nodes.base import Node
from ivr.runtime.channel import dialplan_endpoint


class Transfer(Node):
    """Plays an optional prompt, then transfers the call; ``on_fail`` makes it an attempt."""

    type_name = "transfer"
    summary = "Transfer the call to another number or extension"
    needs_answer = False
    ends_call = True
    options = {
        "to": Template(
            "The destination: an extension or number of the dialplan (2000), or a FreeSWITCH "
            "endpoint (user/2000, sofia/gateway/pstn/15551234567)",
            required=True,
        ),
        "prompt": PromptField("Played before the transfer"),
        "on_fail": Edge(
            "Where the caller goes when the destination is busy, does not answer or cannot be "
            "reached; without it the call leaves the flow at once (a blind transfer)",
            label="fail",
        ),
        "ring_timeout": Duration(
            "How long the destination rings before on_fail (only with on_fail)",
            default=30.0,
            maximum=600,
        ),
        "context": Text(
            "The dialplan context an extension or number is dialled in", default="default"
        ),
    }

    example = """\
flow: example_transfer
start: menu
nodes:
  menu:
    type: menu
    prompt: "For sales press 1. For the front desk press 2."
    choices: {1: sales, 2: front_desk}
    on_fail: front_desk
  sales:
    type: transfer
    to: "2000"
    prompt: "Putting you through to sales."
    ring_timeout: 20s
    on_fail: sales_busy          # busy, no answer in 20 s, or unreachable
  sales_busy:
    type: hangup
    prompt: "Sales cannot take your call now. Please call again later."
  front_desk:
    type: transfer               # blind: the call leaves the flow at once
    to: "1000"
"""

    def diagram_lines(self) -> list[str]:
        return [f"to {self.opts['to']}", *super().diagram_lines()]

    def run(self, call) -> str | None:
        destination = call.render(self.opts["to"]).strip()
        if self.opts["prompt"] is not None:
            call.ensure_answered()
            call.say(self.opts["prompt"])
        if self.opts["on_fail"] is None:
            call.log.info("transfer to %s", destination)
            call.transfer(destination, self.opts["context"])
            call.record.transferred_to = destination
            return None
        call.ensure_answered()
        call.log.info("trying a transfer to %s", destination)
        result = call.bridge(
            [dialplan_endpoint(destination, self.opts["context"])],
            timeout=self.opts["ring_timeout"],
            ringback=None,
            whisper=[],
            caller_id_name=call.info.caller_name or call.info.caller,
            variables={},
        )
        if result.status != "answered":
            call.log.info(
                "transfer to %s failed: %s (%s)", destination, result.status, result.cause
            )
            return "fail"
        call.record.transferred_to = destination
        call.hangup()
        return None


NODE = Transfer
