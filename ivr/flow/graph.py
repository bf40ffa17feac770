"""Draw a compiled flow for analysts: Mermaid (for Markdown and wikis) or Graphviz dot.

Every edge carries its outcome label (``1``, ``timeout``, ``fail``, ``not_found``, ``error``...),
goal nodes are marked, and nodes that end the call are drawn differently.
"""

from __future__ import annotations

import re

from ivr.flow.compiler import CompiledFlow

_MAX_TEXT = 48


def _summary(flow: CompiledFlow, name: str) -> str:
    node = flow.nodes[name]
    prompt = node.opts.get("prompt")
    detail = ""
    if prompt is not None and hasattr(prompt, "plain_text"):
        detail = prompt.plain_text()
    elif node.type_name == "queue":
        detail = f"queue {node.opts['queue']}"
    elif node.type_name == "lookup":
        detail = f"{node.opts['source']}[{node.opts['key']}]"
    elif node.type_name == "hours":
        detail = node.opts["schedule"]
    elif node.type_name == "subflow":
        detail = f"flow {node.opts['flow']}"
    elif node.type_name == "transfer":
        detail = f"to {node.opts['to']}"
    elif node.type_name == "language":
        detail = node.opts["language"]
    if len(detail) > _MAX_TEXT:
        detail = detail[: _MAX_TEXT - 3] + "..."
    return detail


def _ident(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;"}


def _mermaid_text(text: str) -> str:
    """Analyst text made safe inside a quoted Mermaid label (our own <br/> tags stay outside)."""
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in text)


def to_mermaid(flow: CompiledFlow) -> str:
    """The flow as a Mermaid flowchart."""
    lines = ["flowchart TD", f"  %% flow {flow.id}: {flow.description}".rstrip(": ")]
    goals, ends = [], []
    for name, node in flow.nodes.items():
        detail = _summary(flow, name)
        goal = node.opts.get("goal")
        text = f"{'★ ' if goal else ''}{_mermaid_text(name)}<br/><i>{node.type_name}</i>"
        if detail:
            text += f"<br/>{_mermaid_text(detail)}"
        if goal:
            text += f"<br/>goal: {_mermaid_text(goal)}"
            goals.append(_ident(name))
        if node.ends_call:
            ends.append(_ident(name))
            lines.append(f'  {_ident(name)}(["{text}"])')
        else:
            lines.append(f'  {_ident(name)}["{text}"]')
    lines.append(f"  start((start)) --> {_ident(flow.start)}")
    for name, node in flow.nodes.items():
        for label, target in node.edges.items():
            lines.append(f'  {_ident(name)} -->|"{_mermaid_text(label)}"| {_ident(target)}')
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
        detail = _summary(flow, name)
        goal = node.opts.get("goal")
        label = f"{_dot_text(name)}\\n[{node.type_name}]"
        if detail:
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
    for name, node in flow.nodes.items():
        for label, target in node.edges.items():
            lines.append(
                f'  "{_dot_text(name)}" -> "{_dot_text(target)}" [label="{_dot_text(label)}"];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
