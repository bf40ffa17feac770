"""``http``: send a request to a web API with values from the call, and save its answer.

For what a flow does rather than asks: register a callback, confirm a payment, block a card. The
request (address, method, body, credentials, timeout, retries) is an ``http:`` source under the
flow's ``data:``; the node sends it and follows ``next`` when the API accepts it (any 2xx) or
``on_error`` when it refuses, fails, answers malformed JSON or is too slow. Answers are never
cached, and a request that may have reached the API is retried only for idempotent methods.
"""

from __future__ import annotations

from ivr.data import DataSourceError, HttpSource
from ivr.flow.fields import Edge, Text, Variable
from ivr.nodes.base import Node, NodeError
from ivr.nodes.lookup import ask, failure, source_of


class Http(Node):
    """Sends an ``http:`` source's request and saves the answer."""

    type_name = "http"
    summary = "Send a request to a web API (an http source) and save its answer"
    needs_answer = False
    options = {
        "source": Text("An http source named under the flow's data:", required=True),
        "save_as": Variable("The variable that receives the answer (its picked fields)"),
        "next": Edge("Where to go when the API accepted the request", label="next", required=True),
        "on_error": Edge(
            "Where to go when the API fails, refuses or is too slow", label="error", required=True
        ),
    }

    example = """\
flow: example_http
start: block_card
data:
  card_service:
    http:
      url: "https://cards.acme.example/v1/accounts/{{ caller }}/cards/block"
      method: POST
      json: {reason: lost_or_stolen}
      fields: {reference: reference}
      mock: data/card_service.yaml   # a stand-in service, so the example runs offline
    timeout: 2500ms
nodes:
  block_card:
    type: http
    source: card_service
    save_as: block
    next: blocked
    on_error: operator           # refused, failed or too slow
  blocked:
    type: hangup
    prompt: "Your card is blocked. Your reference is {{ block.reference }}."
    goal: card_blocked
  operator:
    type: queue
    queue: retail
"""

    def diagram_lines(self) -> list[str]:
        return [f"source {self.opts['source']}"]

    def check(self, project) -> None:
        source = source_of(self, project)
        if source is None:
            return
        name = self.opts["source"]
        if not isinstance(source, HttpSource):
            project.error(
                f"source '{name}' is a {source.kind} source; an http node sends an http: source",
                self.marks["source"],
            )
        elif source.reads & {"key", "pin"}:
            used = " and ".join(sorted(source.reads & {"key", "pin"}))
            project.error(
                f"source '{name}' reads {used}, which an http node does not give: use call "
                "variables in its request",
                self.marks["source"],
            )

    def run(self, call) -> str:
        name = self.opts["source"]
        source = call.project.flows[self.flow_id].data[name]
        try:
            answer = ask(call, source, call.context(), fetch=source.send, cached=False)
        except DataSourceError as exc:
            call.record.lookups.append((self.name, name, failure(exc)))
            raise NodeError(f"request to {name} failed: {exc}") from exc
        call.record.lookups.append((self.name, name, "sent"))
        if self.opts["save_as"] is not None:
            call.set_var(self.opts["save_as"], answer)
        return "next"


NODE = Http
