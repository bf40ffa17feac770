"""``set``: give call variables new values."""

from __future__ import annotations

import re

from ivr.flow.fields import Edge, MapOf, TemplateValue
from ivr.nodes.base import Node

_SINGLE_EXPRESSION = re.compile(r"\s*\{\{(.*)\}\}\s*", re.S)


class Set(Node):
    """Sets variables from values or templates; ``{{ expr }}`` alone keeps the value's type."""

    type_name = "set"
    summary = "Set call variables"
    needs_answer = False
    options = {
        "vars": MapOf(
            TemplateValue(), "Variables and their new values", variables=True, required=True
        ),
        "next": Edge("The next node", label="next", required=True),
    }

    example = """\
flow: example_set
start: count
vars: {tries: 0}
nodes:
  count:
    type: set
    vars:
      tries: "{{ tries + 1 }}"         # one expression keeps its type: a number
      greeting: "Hello {{ caller }}"   # anything else renders to text
    next: greet
  greet:
    type: hangup
    prompt: "{{ greeting }}. This is try {{ tries }}."
"""

    def run(self, call) -> str:
        for name, value in self.opts["vars"].items():
            if isinstance(value, str):
                single = _SINGLE_EXPRESSION.fullmatch(value)
                if single and "}}" not in single.group(1) and "{{" not in single.group(1):
                    value = call.evaluate(single.group(1))
                else:
                    value = call.render(value)
            call.set_var(name, value)
        return "next"


NODE = Set
