"""``branch``: go one way or another depending on call variables."""

from __future__ import annotations

from typing import Any

from ivr.flow.fields import (
    AnyValue,
    CheckContext,
    Edge,
    EdgeRef,
    Expression,
    Field,
    check_options,
    complete,
    describe,
)
from ivr.flow.source import LDict, LList, Mark
from ivr.nodes.base import Node

_CASE_FIELDS = {
    "when": Expression("A condition such as acct.balance > 1000", required=True),
    "goto": AnyValue("The node to go to when the condition holds", required=True),
}


class Cases(Field):
    """An ordered list of ``{when: condition, goto: node}``; the first that holds wins."""

    kind = "edge"
    fields = _CASE_FIELDS

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LList) or not value:
            return self._wrong(ctx, "a list of {when: condition, goto: node}", value, mark)
        cases = []
        for i, item in enumerate(value):
            if not isinstance(item, LDict):
                self._wrong(ctx, "{when: condition, goto: node}", item, value.item_mark(i))
                continue
            opts = check_options(item, _CASE_FIELDS, ctx)
            goto = opts.get("goto")
            if not isinstance(goto, str) or not complete(opts, _CASE_FIELDS):
                if goto is not None and not isinstance(goto, str):
                    ctx.diag.error(
                        f"expected the name of a node, got {describe(goto)}",
                        item.value_mark("goto"),
                    )
                continue
            # The condition itself labels the edge, so graphs read "balance > 1000 -> vip".
            label = opts["when"] if len(opts["when"]) <= 40 else opts["when"][:37] + "..."
            if any(label == c[0] for c in cases):
                label = f"{label} (#{i + 1})"
            ctx.edges.append(EdgeRef(label, goto, item.value_mark("goto")))
            cases.append((label, opts["when"]))
        return cases

    def type_doc(self) -> str:
        return "list of {when: condition, goto: node}"

    def schema(self) -> dict:
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"when": {"type": ["string", "boolean"]}, "goto": {"type": "string"}},
                "required": ["when", "goto"],
                "additionalProperties": False,
            },
        }


class Branch(Node):
    """Checks conditions in order and follows the first that holds, else ``default``."""

    type_name = "branch"
    summary = "Choose the next node by conditions on call variables"
    needs_answer = False
    options = {
        "cases": Cases("Conditions in order, each with the node to go to", required=True),
        "default": Edge("Where to go when no condition holds", label="default", required=True),
    }

    example = """\
flow: example_branch
start: ask_amount
nodes:
  ask_amount:
    type: input
    prompt: "Enter the amount, then press hash."
    save_as: amount
    next: by_amount
    on_fail: operator
  by_amount:
    type: branch
    cases:                       # in order; the first that holds wins
      - {when: "amount | int >= 1000", goto: operator}
      - {when: "amount | int == 0", goto: ask_amount}
    default: thanks
  thanks:
    type: hangup
    prompt: "Thank you."
  operator:
    type: queue
    queue: retail
"""

    def run(self, call) -> str:
        for label, condition in self.opts["cases"]:
            if call.evaluate(condition):
                return label
        return "default"


NODE = Branch
