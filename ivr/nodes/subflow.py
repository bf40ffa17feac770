"""``subflow``: run another flow and come back when it reaches a ``return`` node."""

from __future__ import annotations

from ivr.flow.fields import Edge, Text
from ivr.nodes.base import Node


class Subflow(Node):
    """Runs a shared flow (identification, a survey) inside this call, then goes on."""

    type_name = "subflow"
    summary = "Run another flow, then come back"
    needs_answer = False
    options = {
        "flow": Text("The id of the flow to run", required=True),
        "next": Edge("Where to go when the subflow returns", label="next", required=True),
    }

    example = """\
flow: example_subflow
start: identify
nodes:
  identify:
    type: subflow
    flow: example_subflow_identify   # the flow below, in its own file
    next: thanks
  thanks:
    type: hangup
    prompt: "Thank you, customer {{ customer_id }}."
---
flow: example_subflow_identify
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

    def diagram_lines(self) -> list[str]:
        return [f"flow {self.opts['flow']}"]

    def check(self, project) -> None:
        target = self.opts["flow"]
        if target not in project.project.flows:
            project.unknown(
                "flow", target, list(project.project.flows), self.marks["flow"], "this folder"
            )
        elif target == self.flow_id:
            project.error("a flow cannot call itself as a subflow", self.marks["flow"])

    def flows_called(self) -> list[str]:
        return [self.opts["flow"]]

    def run(self, call) -> str | None:
        return "next" if call.run_subflow(self.opts["flow"]) else None


NODE = Subflow
