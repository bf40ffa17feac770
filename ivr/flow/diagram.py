"""What a node tells diagrams (``ivr graph``) about itself beyond its edges.

Node types describe themselves through hooks on their class (``diagram_lines``,
``diagram_links``); this module holds the one shape those hooks return, so drawing a flow needs
no knowledge of any node type.
"""

from __future__ import annotations

from dataclasses import dataclass


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
