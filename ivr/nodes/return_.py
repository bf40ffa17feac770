"""``return``: end a subflow and go back to the flow that called it."""

from __future__ import annotations

from ivr.nodes.base import Node
from ivr.runtime.call import RETURN


class Return(Node):
    """Back to the calling flow's ``next``; in a flow run on its own it ends the call."""

    type_name = "return"
    summary = "End a subflow and go back to the calling flow"
    needs_answer = False
    ends_call = True
    options = {}

    def run(self, call) -> str:
        return RETURN


NODE = Return
