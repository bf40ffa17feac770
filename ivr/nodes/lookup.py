"""``lookup``: answer a question from a data source (balance, order status)."""

from __future__ import annotations

from ivr.data import DataSourceError
from ivr.flow.fields import Edge, Template, Text, Variable
from ivr.nodes.base import Node, NodeError


class Lookup(Node):
    """Looks a key up in one of the flow's ``data:`` sources and saves the record."""

    type_name = "lookup"
    summary = "Look a record up in a data source and save it in a variable"
    needs_answer = False
    options = {
        "source": Text("A source named under the flow's data:", required=True),
        "key": Template("The key to look up, e.g. '{{ account }}'", required=True),
        "save_as": Variable("The variable that receives the record", required=True),
        "found": Edge("Where to go when a record was found", label="found", required=True),
        "not_found": Edge(
            "Where to go when there is no such record", label="not_found", required=True
        ),
        "on_error": Edge(
            "Where to go when the source fails or is too slow", label="error", required=True
        ),
    }

    def check(self, project) -> None:
        if self.opts["source"] not in project.flow.data:
            project.unknown(
                "data source",
                self.opts["source"],
                list(project.flow.data),
                self.marks["source"],
                "this flow's data:",
            )

    def run(self, call) -> str:
        source = call.project.flows[self.flow_id].data[self.opts["source"]]
        key = call.render(self.opts["key"])
        try:
            record = source.lookup(key)
        except DataSourceError as exc:
            call.record.lookups.append((self.name, self.opts["source"], "error"))
            raise NodeError(f"lookup in {self.opts['source']} failed: {exc}") from exc
        call.record.lookups.append(
            (self.name, self.opts["source"], "found" if record else "not_found")
        )
        if record is None:
            return "not_found"
        call.set_var(self.opts["save_as"], record)
        return "found"


NODE = Lookup
