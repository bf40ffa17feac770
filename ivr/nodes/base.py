"""The one small base class every node type derives from, built-in or plugin.

A node type is a class with a ``type_name`` (what analysts write after ``type:``), a one-line
``summary`` for logs, its options declared as data (``options``: name -> Field), an ``example``
flow for the reference (``ivr docs``), and ``run``, which does the node's work on a call and
returns the label of the edge to follow. Read one node type and you know them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ivr.flow.fields import Field
from ivr.flow.prompts import Prompt
from ivr.flow.source import Mark

if TYPE_CHECKING:
    from ivr.flow.compiler import ProjectCheck
    from ivr.runtime.call import Call


class NodeError(Exception):
    """A recoverable failure of one node (bad template, failed lookup): take its error edge."""


@dataclass(frozen=True)
class DiagramLink:
    """A way on from a node that is not an edge to another node, drawn dashed by ``ivr graph``.

    Attributes:
        label: what takes the caller there, e.g. ``overflow after 5m`` or ``1: callback``.
        kind: what is at the other end: ``queue`` (another queue from queues.yaml) or ``end``
            (the call ends there, e.g. to be called back).
        target: the queue's name, or what ends the call (``called back``).
    """

    label: str
    kind: str
    target: str


class Node:
    """Base class of all node types.

    Attributes:
        type_name: the ``type:`` analysts write.
        summary: one line describing the node type, for logs and ``ivr schema``.
        options: the node's options schema, as data.
        example: a complete flow using the node type, for its reference page (YAML; further
            ``---`` documents are flows it calls, each its own file).
        needs_answer: the call must be answered before this node runs (it plays media).
        ends_call: the node ends the call itself, so it needs no way out.
    """

    type_name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    options: ClassVar[dict[str, Field]] = {}
    example: ClassVar[str] = ""
    needs_answer: ClassVar[bool] = True
    ends_call: ClassVar[bool] = False

    def __init__(
        self, name: str, opts: dict[str, Any], flow_id: str, mark: Mark, marks: dict[str, Mark]
    ) -> None:
        self.name = name
        self.opts = opts
        self.flow_id = flow_id
        self.mark = mark
        self.marks = marks
        self.edges: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<{self.type_name} node {self.flow_id}.{self.name}>"

    def diagram_lines(self) -> list[str]:
        """What diagrams (``ivr graph``) show under the node's name: its prompt's text by default.

        A node type whose routing depends on something else (a queue, a schedule) says so first.
        """
        prompt = self.opts.get("prompt")
        return [prompt.plain_text()] if isinstance(prompt, Prompt) else []

    def diagram_links(self) -> list[DiagramLink]:
        """Ways on that are not edges to nodes (a queue's overflow, a callback), for diagrams."""
        return []

    def check(self, project: ProjectCheck) -> None:
        """Cross-file checks (a queue that exists, a schedule that exists); report via project."""

    def run(self, call: Call) -> str | None:
        """Do the node's work on ``call`` and return the label of the edge to follow.

        Returns:
            An edge label present in ``self.edges``, or None when the call has ended.

        Raises:
            NodeError: a recoverable failure; the interpreter takes the node's ``error`` edge.
            CallerHungUp: the caller hung up; it unwinds the whole call.
        """
        raise NotImplementedError
