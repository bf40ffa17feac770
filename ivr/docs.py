"""The reference for analysts and developers (``ivr docs``), written from the code itself.

One Markdown page per node type, from the node registry: what the node does (its class and
module docstrings), every option with its type, default and description (its options as
declared), its outcomes (edges), and its example flow. One page per kind of YAML file, from the
declarations ``ivr schema`` uses. Nothing here is written by hand, so the reference cannot
drift from what ``ivr validate`` accepts; a test keeps the committed copy in docs/reference/ up
to date.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from ivr.flow.compiler import COMMON_NODE_FIELDS
from ivr.flow.fields import Edge, EdgeMap, Field
from ivr.nodes.base import Node
from ivr.nodes.registry import NodeRegistry
from ivr.schemas import KIND_DOCS

DEFAULT_OUTPUT = Path("docs/reference")
_HEADER = "<!-- Written by `ivr docs` from the code; edit the node's file and run it again. -->\n"


def builtin_registry() -> NodeRegistry:
    """The registry of the built-in node types only: the reference documents what ships."""
    registry = NodeRegistry()
    registry.load_builtins()
    return registry


def node_page_name(type_name: str) -> str:
    """The file name of a node type's page."""
    return f"node-{type_name}.md"


def file_page_name(kind: str) -> str:
    """The file name of a kind of YAML file's page."""
    return f"file-{kind}.md"


def _markdown(text: str) -> str:
    """A docstring's reStructuredText literals as Markdown code."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _cell(text: str) -> str:
    return _markdown(text).replace("|", "\\|").replace("\n", " ")


def _rows(fields: dict[str, Field], prefix: str = "") -> list[str]:
    """Table rows for fields, nested mappings' keys as ``option.key`` under their option."""
    rows = []
    for name, spec in fields.items():
        option = f"`{prefix}{name}`" + (" (required)" if spec.required else "")
        default = spec.default_doc()
        rows.append(
            f"| {option} | {_cell(spec.type_doc())} | {f'`{default}`' if default else ''} "
            f"| {_cell(spec.doc)} |"
        )
        nested = getattr(spec, "fields", None)
        if isinstance(nested, dict):
            rows.extend(_rows(nested, f"{prefix}{name}."))
    return rows


def options_table(fields: dict[str, Field]) -> str:
    """A Markdown table of fields: option, type, default, description."""
    head = ["| option | type | default | description |", "|---|---|---|---|"]
    return "\n".join(head + _rows(fields)) + "\n"


def _outcomes(cls: type[Node]) -> list[str]:
    lines = []
    for name, spec in {**cls.options, "on_error": COMMON_NODE_FIELDS["on_error"]}.items():
        if isinstance(spec, Edge):
            lines.append(f"| `{spec.label}` | `{name}` | {_cell(spec.doc)} |")
        elif isinstance(spec, EdgeMap) or spec.kind == "edge":
            lines.append(f"| each entry of `{name}` | `{name}` | {_cell(spec.doc)} |")
    return ["| outcome | option | when |", "|---|---|---|", *lines]


def example_files(cls: type[Node]) -> list[tuple[str, str]]:
    """The example's flow files as (file name, YAML): the flow first, then flows it calls."""
    files = []
    for document in cls.example.split("\n---\n"):
        match = re.search(r"^flow:\s*(\S+)", document, re.MULTILINE)
        name = match.group(1) if match else f"example_{cls.type_name}"
        files.append((f"{name}.yaml", document.strip("\n") + "\n"))
    return files


def node_page(cls: type[Node]) -> str:
    """The reference page of one node type."""
    module = importlib.import_module(cls.__module__)
    more = (inspect.getdoc(module) or "").partition("\n")[2].strip()
    parts = [
        _HEADER,
        f"# `{cls.type_name}`: {cls.summary}\n",
        _markdown(inspect.cleandoc(cls.__doc__ or "")) + "\n",
    ]
    if more:
        parts.append(_markdown(more) + "\n")
    facts = []
    if cls.ends_call:
        facts.append("It can end the call, so a flow may stop at it.")
    if not cls.needs_answer:
        facts.append("It runs before the call is answered when it comes first.")
    if facts:
        parts.append(" ".join(facts) + "\n")
    parts += ["## Options\n", options_table(cls.options) if cls.options else "None.\n"]
    parts += [
        "Every node also takes these ([all nodes](index.md#options-every-node-takes)):\n",
        options_table({k: v for k, v in COMMON_NODE_FIELDS.items() if k not in cls.options}),
    ]
    parts += ["## Outcomes\n", "\n".join(_outcomes(cls)) + "\n"]
    if cls.example:
        files = example_files(cls)
        names = " and ".join(f"`flows/{name}`" for name, _ in files)
        parts += [
            "## Example\n",
            f"Save it as {names} in a checkout of this repository (beside the example "
            "`queues.yaml`, `schedules.yaml` and `data/`), then run "
            f"`ivr validate flows/{files[0][0]}` and `ivr graph flows/{files[0][0]}`.\n",
        ]
        for name, text in files:
            parts.append(f"`flows/{name}`:\n\n```yaml\n{text}```\n")
    return "\n".join(parts)


def file_page(kind: str) -> str:
    """The reference page of one kind of YAML file."""
    doc = KIND_DOCS[kind]
    parts = [_HEADER, f"# {doc.title}\n", doc.about + "\n"]
    parts += [
        "Editors check and complete it with its schema: "
        f"`ivr schema --kind {kind} > .schemas/{kind}.schema.json` and the first line "
        f"`# yaml-language-server: $schema=.schemas/{kind}.schema.json`.\n"
    ]
    for heading, fields in doc.sections:
        parts += [f"## {heading}\n", options_table(fields)]
    if kind == "flow":
        parts += [
            "## Nodes\n",
            "Each entry of `nodes:` is a node with a `type:`; its keys are on its type's page: "
            + ", ".join(f"[`{n}`]({node_page_name(n)})" for n in builtin_registry().names())
            + ".\n",
        ]
    parts += ["## Example\n", f"```yaml\n{doc.example}```\n"]
    return "\n".join(parts)


def index_page(registry: NodeRegistry) -> str:
    """The reference's front page: node types, files, and what every node takes."""
    nodes = [
        f"| [`{n}`]({node_page_name(n)}) | {_cell(registry.get(n).summary)} |"
        for n in registry.names()
    ]
    files = [
        f"| [{KIND_DOCS[k].title}]({file_page_name(k)}) | `ivr schema --kind {k}` |"
        for k in KIND_DOCS
    ]
    return "\n".join(
        [
            _HEADER,
            "# Reference\n",
            "Every node type and every YAML file the `ivr` command reads, with every option. "
            "Written by `ivr docs` from the node types' own files and the declarations "
            "`ivr validate` checks with.\n",
            "## Node types\n",
            "\n".join(["| type | what it does |", "|---|---|", *nodes]) + "\n",
            "## Options every node takes\n",
            options_table(COMMON_NODE_FIELDS),
            "A node's `goal` counts once the node has done its work: a `play` node's goal when "
            "its prompt has finished or the caller cut it short with a key, a `hangup` node's "
            "when the goodbye has played. A caller who hangs up during the prompt has not "
            "heard the answer, so the goal is not counted (and the call is not self-served).\n",
            "## Files\n",
            "\n".join(["| file | schema |", "|---|---|", *files]) + "\n",
            "## Values\n",
            "Durations are written `500ms`, `5s`, `2m`, `1h`. A prompt is text (a jinja2 "
            "template), `{sound: name}`, `{say: number|digits|money|date|time|ordinal, value: "
            "...}`, a list of those played in a row, or a mapping of language code to any of "
            "those. Templates may use the flow's `vars:`, every `save_as:` variable and the "
            "built-ins `caller`, `caller_name`, `dialed`, `tenant`, `tenant_name`, `language`, "
            "`now` and `call_id`.\n",
        ]
    )


def _undocumented(fields: dict[str, Field], where: str) -> list[str]:
    missing = []
    for name, spec in fields.items():
        if not spec.doc.strip():
            missing.append(f"{where}: option '{name}' has no description")
        nested = getattr(spec, "fields", None)
        if isinstance(nested, dict):
            missing.extend(_undocumented(nested, f"{where}: option '{name}'"))
    return missing


def missing_reference(registry: NodeRegistry | None = None) -> list[str]:
    """What the reference would lack: node types or options without their text, one line each."""
    registry = registry or builtin_registry()
    missing = _undocumented(COMMON_NODE_FIELDS, "every node")
    for name in registry.names():
        cls = registry.get(name)
        where = f"node type '{name}' ({cls.__module__})"
        if not (cls.__doc__ or "").strip():
            missing.append(f"{where}: the class has no docstring saying what the node does")
        if not cls.example.strip():
            missing.append(f"{where}: no example flow (the class's `example`)")
        missing.extend(_undocumented(cls.options, where))
    for kind, doc in KIND_DOCS.items():
        for _, fields in doc.sections:
            missing.extend(_undocumented(fields, f"{kind} files"))
    return missing


def reference_pages(registry: NodeRegistry | None = None) -> dict[str, str]:
    """Every page of the reference, by file name."""
    registry = registry or builtin_registry()
    pages = {"index.md": index_page(registry)}
    for name in registry.names():
        pages[node_page_name(name)] = node_page(registry.get(name))
    for kind in KIND_DOCS:
        pages[file_page_name(kind)] = file_page(kind)
    return pages


def write_reference(output: Path = DEFAULT_OUTPUT) -> list[Path]:
    """Write the reference into ``output`` (made when missing); returns the files written."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in reference_pages().items():
        path = output / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
