"""``lookup``: answer a question from a data source (balance, order status, opening hours).

The helpers here are shared by every node that asks a source (``lookup``, ``authenticate``,
``http``): finding the source at compile time, and asking it beside the call with the filler
prompt playing while it is slow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ivr.data import DataSource, DataSourceError
from ivr.flow.fields import Edge, Template, Text, Variable
from ivr.nodes.base import Node, NodeError


def source_of(node: Node, project) -> DataSource | None:
    """The source a node names, or None after reporting that the flow has no such source."""
    name = node.opts["source"]
    source = project.flow.data.get(name)
    if source is None:
        project.unknown(
            "data source", name, list(project.flow.data), node.marks["source"], "this flow's data:"
        )
    # A source with mistakes of its own is known but unusable; its mistakes are reported.
    return source if isinstance(source, DataSource) else None


def ask(
    call,
    source: DataSource,
    values: Mapping[str, Any],
    *,
    fetch: Callable[[Mapping[str, Any]], Any] | None = None,
    cached: bool = True,
) -> Any:
    """Ask a source beside the call (timeout, retries, cache), the filler playing if it is slow.

    Raises:
        DataSourceError: the source failed or gave no answer in time.
    """
    timing = source.timing
    return call.wait_for(
        lambda: source.ask(values, fetch=fetch, cached=cached),
        filler_after=timing.filler_after,
        filler=timing.filler,
    )


def failure(exc: DataSourceError) -> str:
    """How a failed request is journaled: ``timeout`` or ``error``."""
    return "timeout" if exc.timed_out else "error"


class Lookup(Node):
    """Looks a record up in one of the flow's ``data:`` sources and saves it."""

    type_name = "lookup"
    summary = "Look a record up in a data source and save it in a variable"
    needs_answer = False
    options = {
        "source": Text("A source named under the flow's data:", required=True),
        "key": Template("The key to look up, e.g. '{{ account }}' (the source's {{ key }})"),
        "save_as": Variable("The variable that receives the record", required=True),
        "found": Edge("Where to go when a record was found", label="found", required=True),
        "not_found": Edge(
            "Where to go when there is no such record", label="not_found", required=True
        ),
        "on_error": Edge(
            "Where to go when the source fails or is too slow", label="error", required=True
        ),
    }

    example = """\
flow: example_lookup
start: ask_order
data:
  orders: {csv: data/orders.csv, key: order_id}
nodes:
  ask_order:
    type: input
    prompt: "Enter your six digit order number."
    digits: {min: 6, max: 6}
    save_as: order_id
    next: find_order
    on_fail: operator
  find_order:
    type: lookup
    source: orders
    key: "{{ order_id }}"
    save_as: order
    found: tell_status
    not_found: no_such_order
    on_error: operator           # the source failed or was too slow
  tell_status:
    type: hangup
    prompt: "Your order is {{ order.status }}."
    goal: order_status_told
  no_such_order:
    type: hangup
    prompt: "We could not find that order."
  operator:
    type: queue
    queue: shop
"""

    def diagram_lines(self) -> list[str]:
        return [
            f"{self.opts['source']}[{self.opts['key']}]"
            if self.opts["key"]
            else self.opts["source"]
        ]

    def check(self, project) -> None:
        source = source_of(self, project)
        if source is None:
            return
        name = self.opts["source"]
        if "pin" in source.reads:
            project.error(
                f"source '{name}' checks a PIN: ask it from an authenticate node", self.mark
            )
        if "key" in source.reads and self.opts["key"] is None:
            project.error(
                f"source '{name}' looks records up by a key: give this lookup key:, e.g. "
                'key: "{{ account }}"',
                self.mark,
            )
        elif "key" not in source.reads and self.opts["key"] is not None:
            project.warning(
                f"source '{name}' does not use a key (its question reads "
                f"{', '.join(sorted(source.reads)) or 'nothing'}), so key: is ignored",
                self.marks["key"],
            )

    def run(self, call) -> str:
        name = self.opts["source"]
        source = call.project.flows[self.flow_id].data[name]
        values = call.context()
        values["key"] = call.render(self.opts["key"]) if self.opts["key"] is not None else None
        try:
            record = ask(call, source, values)
        except DataSourceError as exc:
            call.record.lookups.append((self.name, name, failure(exc)))
            raise NodeError(f"lookup in {name} failed: {exc}") from exc
        call.record.lookups.append(
            (self.name, name, "found" if record is not None else "not_found")
        )
        if record is None:
            return "not_found"
        call.set_var(self.opts["save_as"], record)
        return "found"


NODE = Lookup
