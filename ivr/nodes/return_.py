"""``return``: end a subflow and go back to the flow that called it."""

from __future__ import annotations

from ivr.nodes.base import RETURN, Node


class Return(Node):
    """Back to the calling flow's ``next``; in a flow run on its own it ends the call."""

    type_name = "return"
    summary = "End a subflow and go back to the calling flow"
    needs_answer = False
    ends_call = True
    options = {}

    example = """\
flow: example_return
start: identify
nodes:
  identify:
    type: subflow
    flow: example_return_identify   # the flow below, in its own file
    next: thanks
  thanks:
    type: hangup
    prompt: "Thank you, customer {{ customer_id }}."
---
flow: example_return_identify
start: ask_id
nodes:
  ask_id:
    type: input
    prompt: "Enter your customer number, then press hash."
    save_as: customer_id
    next: back
    on_fail: back
  back:
    type: return
"""

    def run(self, call) -> str:
        return RETURN


NODE = Return
