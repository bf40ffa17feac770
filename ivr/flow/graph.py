"""Draw a compiled flow for analysts: Mermaid (for Markdown and wikis) or Graphviz dot.

Every edge carries its outcome label (``1``, ``timeout``, ``fail``, ``not_found``, ``error``...);
edges between the same two nodes are drawn once with their labels combined (``0, fail``). Goal
nodes are marked and nodes that end the call are drawn differently. Under each node's name is
what the node type says about itself (a queue's name, a prompt's words, shortened at a word),
and the ways on that are not edges to nodes (a queue's overflow to another queue, a callback)
are drawn dashed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.flow.compiler import CompiledFlow
from ivr.flow.diagram import DiagramLink

MAX_TEXT = 48
"""The longest line of text under a node's name, in characters."""
MAX_LINES = 2
ELLIPSIS = "…"


# A word, where a template (``{{ acct.balance }}``) or a say-as part (``<money ...>``) counts as
# one word: shortening never leaves half of one.
_WORD = re.compile(r"(?:<[a-z_]+ [^<>]*>|\{\{.*?\}\}|\{%.*?%\}|[^\s<{]+|[<{])+")


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis.

    Words are never cut: a first word longer than the limit is kept whole.
    """
    words = _WORD.findall(text)
    whole = " ".join(words)
    if len(whole) <= limit:
        return whole
    kept = words[0]
    for word in words[1:]:
        if len(kept) + 1 + len(word) + len(ELLIPSIS) > limit:
            break
        kept += " " + word
    return kept.rstrip(",;:.-") + ELLIPSIS


def _ident(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass
class _Edge:
    source: str
    target: str
    labels: list[str]

    @property
    def label(self) -> str:
        return ", ".join(self.labels)


def _edges(flow: CompiledFlow) -> list[_Edge]:
    """The flow's edges, those between the same two nodes merged, in the order they are given."""
    merged: dict[tuple[str, str], _Edge] = {}
    for name, node in flow.nodes.items():
        for label, target in node.edges.items():
            edge = merged.setdefault((name, target), _Edge(name, target, []))
            edge.labels.append(label)
    return list(merged.values())


def _details(flow: CompiledFlow, name: str) -> list[str]:
    lines = [line for line in flow.nodes[name].diagram_lines() if line.strip()]
    return [shorten(line) for line in lines[:MAX_LINES]]


def _link_ident(node: str, link: DiagramLink) -> str:
    if link.kind == "queue":
        return "q_" + re.sub(r"[^A-Za-z0-9_]", "_", link.target)
    return f"end_{_ident(node)[2:]}_" + re.sub(r"[^A-Za-z0-9_]", "_", link.target)


def _links(flow: CompiledFlow) -> list[tuple[str, DiagramLink]]:
    return [(name, link) for name, node in flow.nodes.items() for link in node.diagram_links()]


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;"}


def _mermaid_text(text: str) -> str:
    """Analyst text made safe inside a quoted Mermaid label (our own <br/> tags stay outside)."""
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in text)


def to_mermaid(flow: CompiledFlow) -> str:
    """The flow as a Mermaid flowchart."""
    lines = ["flowchart TD", f"  %% flow {flow.id}: {flow.description}".rstrip(": ")]
    goals, ends = [], []
    for name, node in flow.nodes.items():
        goal = node.opts.get("goal")
        text = f"{'★ ' if goal else ''}{_mermaid_text(name)}<br/><i>{node.type_name}</i>"
        for detail in _details(flow, name):
            text += f"<br/>{_mermaid_text(detail)}"
        if goal:
            text += f"<br/>goal: {_mermaid_text(goal)}"
            goals.append(_ident(name))
        if node.ends_call:
            ends.append(_ident(name))
            lines.append(f'  {_ident(name)}(["{text}"])')
        else:
            lines.append(f'  {_ident(name)}["{text}"]')
    drawn: set[str] = set()
    for name, link in _links(flow):
        ident = _link_ident(name, link)
        if ident in drawn:
            continue
        drawn.add(ident)
        if link.kind == "queue":
            lines.append(f'  {ident}[("queue<br/>{_mermaid_text(link.target)}")]')
        else:
            lines.append(f'  {ident}(["{_mermaid_text(link.target)}"])')
            ends.append(ident)
    lines.append(f"  start((start)) --> {_ident(flow.start)}")
    for edge in _edges(flow):
        lines.append(
            f'  {_ident(edge.source)} -->|"{_mermaid_text(edge.label)}"| {_ident(edge.target)}'
        )
    for name, link in _links(flow):
        lines.append(
            f'  {_ident(name)} -.->|"{_mermaid_text(link.label)}"| {_link_ident(name, link)}'
        )
    lines.append("  classDef goal fill:#d4f7d4,stroke:#2e7d32,stroke-width:2px")
    lines.append("  classDef ends fill:#eeeeee,stroke:#555555")
    if ends:
        lines.append(f"  class {','.join(ends)} ends")
    if goals:
        lines.append(f"  class {','.join(goals)} goal")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(flow: CompiledFlow) -> str:
    """The flow as a Graphviz digraph."""
    lines = [
        f'digraph "{_dot_text(flow.id)}" {{',
        "  rankdir=TB;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  "__start" [shape=circle, label="start"];',
        f'  "__start" -> "{_dot_text(flow.start)}";',
    ]
    for name, node in flow.nodes.items():
        goal = node.opts.get("goal")
        label = f"{_dot_text(name)}\\n[{node.type_name}]"
        for detail in _details(flow, name):
            label += f"\\n{_dot_text(detail)}"
        attrs = [f'label="{label}"']
        if goal:
            attrs += [
                'style="rounded,filled,bold"',
                'fillcolor="#d4f7d4"',
                "peripheries=2",
                f'xlabel="goal: {_dot_text(goal)}"',
            ]
        elif node.ends_call:
            attrs += ['style="rounded,filled"', 'fillcolor="#eeeeee"']
        lines.append(f'  "{_dot_text(name)}" [{", ".join(attrs)}];')
    drawn: set[str] = set()
    for name, link in _links(flow):
        ident = _link_ident(name, link)
        if ident in drawn:
            continue
        drawn.add(ident)
        if link.kind == "queue":
            attrs = f'shape=cylinder, label="queue\\n{_dot_text(link.target)}"'
        else:
            attrs = f'style="rounded,filled,dashed", fillcolor="#eeeeee", label="{link.target}"'
        lines.append(f'  "{ident}" [{attrs}];')
    for edge in _edges(flow):
        lines.append(
            f'  "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}" '
            f'[label="{_dot_text(edge.label)}"];'
        )
    for name, link in _links(flow):
        lines.append(
            f'  "{_dot_text(name)}" -> "{_link_ident(name, link)}" '
            f'[label="{_dot_text(link.label)}", style=dashed];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
