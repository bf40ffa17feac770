"""Compile a folder of YAML flows (plus queues, agents, schedules, tenants) into call graphs.

Compiling checks everything an analyst can get wrong before a single call runs: YAML syntax,
node types, option keys and values, edges to nowhere, unreachable nodes, nodes callers can never
leave, unknown template variables, and references across files. Every mistake is collected with
its position; nothing stops at the first one.

The language knows no node type and no data source: what a folder may use comes in a ``Kit``
(the node types by name, how a data source is declared and read), which ``ivr.project`` puts
together from the node registry and ``ivr.data``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ivr.flow import config
from ivr.flow.campaigns import Campaign, load_campaigns
from ivr.flow.fields import (
    INVALID,
    AnyValue,
    CheckContext,
    Edge,
    Field,
    ListOf,
    MapOf,
    Text,
    check_options,
    complete,
    describe,
    object_schema,
)
from ivr.flow.prompts import LANGUAGE_CODE
from ivr.flow.recording import RecordPolicy, record_field, record_policy
from ivr.flow.source import Diagnostics, LDict, Mark, SourceCache, load_yaml, suggest
from ivr.flow.templates import BUILTIN_VARIABLES, TemplateError, variables_of

CONFIG_FILES = (
    "queues.yaml",
    "agents.yaml",
    "schedules.yaml",
    "tenants.yaml",
    "data.yaml",
    "campaigns.yaml",
)
SCENARIO_SUFFIX = ".test.yaml"
_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"


class NodeTypes(Protocol):
    """The node types a flow may use, by the name its ``type:`` gives."""

    def names(self) -> list[str]:
        """Every type's name, sorted."""

    def get(self, name: str) -> Any:
        """The node class of ``name`` (its ``options``, ``summary``...), None when unknown."""


@dataclass(frozen=True)
class Kit:
    """What a folder's flows may use, from outside the language.

    Attributes:
        node_types: the node types, by name.
        data_field: the option field declaring a data source, for files under a folder.
        load_shared_data: reads data.yaml's sources (doc, file name, diagnostics).
        check_campaign: checks what a campaign's files hold (its contacts, its do-not-call
            lists) and reports into the project's diagnostics; None checks campaigns.yaml only.
    """

    node_types: NodeTypes
    data_field: Callable[[Path], Field]
    load_shared_data: Callable[[Any, str, Diagnostics], dict[str, Any]]
    check_campaign: Callable[[Project, Campaign], None] | None = None


def flow_fields(base: Path, kit: Kit) -> dict[str, Field]:
    """The top-level keys of a flow file (``nodes`` is checked node by node)."""
    lang = {"pattern": LANGUAGE_CODE.pattern, "pattern_doc": "a language code like en, ru, bg"}
    return {
        "flow": Text(
            "The flow id, unique among loaded flows",
            required=True,
            pattern=_NAME,
            pattern_doc="an id (letters, digits, _ and -)",
        ),
        "description": Text("What this flow is for"),
        "language": Text("Default prompt language", **lang),
        "languages": ListOf(Text(**lang), "Languages the flow offers; prompts must cover each"),
        "voice": Text("TTS voice for the default language"),
        "start": Edge("The first node of a call", label="start", required=True),
        "on_error": Edge(
            "Where a call goes when a node fails and has no on_error of its own", label="error"
        ),
        "vars": MapOf(AnyValue(), "Initial call variables", variables=True),
        "data": MapOf(kit.data_field(base), "Named data sources for lookup nodes"),
        "record": record_field("answer"),
        "nodes": AnyValue("The flow's nodes by name", required=True),
    }


COMMON_NODE_FIELDS: dict[str, Field] = {
    "goal": Text(
        "A self-service success reached at this node, counted in reports once the node has done "
        "its work: after its prompt played to the end or a key cut it short (a caller who hangs "
        "up during the prompt has not heard the answer, so it does not count)",
        pattern=_NAME,
        pattern_doc="a goal name (letters, digits, _ and -)",
    ),
    "on_error": Edge("Where to go when this node fails (template or data error)", label="error"),
    "description": Text("A note for people reading the flow"),
}


def node_fields(cls: Any) -> dict[str, Field]:
    """A node type's own options, then those every node has (unless the type redefines them)."""
    return {**cls.options, **{k: v for k, v in COMMON_NODE_FIELDS.items() if k not in cls.options}}


@dataclass
class CompiledFlow:
    """One flow, checked and ready to run: nodes with resolved edges."""

    id: str
    file: str
    description: str
    language: str
    languages: list[str]
    voice: str | None
    start: str
    on_error: str | None
    vars: dict[str, Any]
    data: dict[str, Any]
    """The data sources lookups may use (``ivr.data.DataSource``), by name."""
    nodes: dict[str, Any]
    """The nodes (instances of their node types), by name."""
    variables: set[str] = field(default_factory=set)
    subflows: set[str] = field(default_factory=set)
    record: RecordPolicy | None = None
    """How this flow's calls are recorded, unless their tenant says otherwise."""
    mark: Mark | None = None


@dataclass
class Project:
    """Everything loaded from one folder: flows, queues, agents, schedules, tenants."""

    folder: Path
    flows: dict[str, CompiledFlow] = field(default_factory=dict)
    queues: dict[str, config.QueueConfig] = field(default_factory=dict)
    agents: dict[str, config.AgentConfig] = field(default_factory=dict)
    schedules: dict[str, config.Schedule] = field(default_factory=dict)
    tenants: dict[str, config.Tenant] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    diag: Diagnostics = field(default_factory=Diagnostics)
    sources: SourceCache = field(default_factory=SourceCache)
    scenarios: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diag.errors

    def route(self, dialed: str) -> tuple[CompiledFlow | None, config.Tenant | None]:
        """The flow and tenant for a dialed number; the ``default`` flow when no tenant owns it."""
        for tenant in self.tenants.values():
            if dialed in tenant.numbers:
                return self.flows.get(tenant.flow), tenant
        return self.flows.get("default"), None


@dataclass
class ProjectCheck:
    """What a node's cross-file ``check`` can see, and where it reports."""

    project: Project
    flow: CompiledFlow

    def error(self, message: str, mark: Mark) -> None:
        self.project.diag.error(message, mark)

    def warning(self, message: str, mark: Mark) -> None:
        self.project.diag.warning(message, mark)

    def unknown(self, what: str, name: str, known: list[str], mark: Mark, where: str) -> None:
        """Report a reference to something that does not exist, with a did-you-mean."""
        listing = f" (defined: {', '.join(sorted(known))})" if known else f" (none in {where})"
        self.error(
            f"{what} '{name}' is not defined in {where}{suggest(name, known)}{listing}", mark
        )


@dataclass
class _FlowDraft:
    flow: CompiledFlow
    edges: dict[str, list]
    templates: list
    prompts: list


def _compile_node(
    name: str, spec: Any, mark: Mark, flow_id: str, registry: NodeTypes, diag: Diagnostics
) -> tuple[Any, CheckContext]:
    ctx = CheckContext(diag)
    if not isinstance(spec, LDict):
        diag.error(f"node '{name}' must be a mapping with a 'type:', got {describe(spec)}", mark)
        return None, ctx
    type_name = spec.get("type")
    if type_name is None:
        diag.error(
            f"node '{name}' has no 'type:' (one of: {', '.join(registry.names())})", spec.mark
        )
        return None, ctx
    cls = registry.get(str(type_name))
    if cls is None:
        diag.error(
            f"unknown node type '{type_name}'{suggest(str(type_name), registry.names())} "
            f"(known types: {', '.join(registry.names())})",
            spec.value_mark("type"),
        )
        return None, ctx
    fields = node_fields(cls)
    opts = check_options(spec, fields, ctx, ignore=("type",))
    # A node short of a required key is reported already; its type's checks may count on it.
    if not complete(opts, fields):
        return None, ctx
    marks = {k: spec.value_mark(k) for k in spec}
    node = cls(name, opts, flow_id, spec.mark, marks)
    node.edges = {e.label: e.target for e in ctx.edges}
    return node, ctx


def _compile_flow(
    path: Path, doc: Any, kit: Kit, diag: Diagnostics, name: str
) -> _FlowDraft | None:
    if not isinstance(doc, LDict):
        diag.error(
            "a flow file must be a mapping with flow:, start: and nodes:",
            getattr(doc, "mark", Mark(name, 1, 1)),
        )
        return None
    top = CheckContext(diag)
    opts = check_options(doc, flow_fields(path.parent, kit), top)
    # A wrong top-level value is reported already; the flow is checked on as if it were not set.
    opts = {key: value for key, value in opts.items() if value is not INVALID}
    flow = CompiledFlow(
        id=opts.get("flow") or path.stem,
        file=name,
        description=opts.get("description") or "",
        language=opts.get("language") or "en",
        languages=[],
        voice=opts.get("voice"),
        start=opts.get("start") or "",
        on_error=opts.get("on_error"),
        vars=opts.get("vars") if isinstance(opts.get("vars"), dict) else {},
        data=opts.get("data") if isinstance(opts.get("data"), dict) else {},
        nodes={},
        mark=doc.value_mark("flow"),
    )
    flow.record = record_policy(opts.get("record"), f"flow {flow.id}", doc, top)
    languages = opts.get("languages")
    flow.languages = languages if isinstance(languages, list) else [flow.language]
    if flow.language not in flow.languages and isinstance(languages, list):
        diag.error(
            f"the default language '{flow.language}' is not among languages: "
            f"{', '.join(flow.languages)}",
            doc.value_mark("language"),
        )
    flow.variables = {v for v, _ in top.variables}
    edges: dict[str, list] = {"": top.edges}
    templates: list = list(top.templates)
    prompts: list = list(top.prompts)
    raw_nodes = doc.get("nodes")
    if "nodes" in doc and not isinstance(raw_nodes, LDict):
        diag.error(
            f"'nodes:' must map node names to nodes, got {describe(raw_nodes)}",
            doc.value_mark("nodes"),
        )
        raw_nodes = None
    for node_name, spec in (raw_nodes or {}).items():
        node, ctx = _compile_node(
            node_name, spec, raw_nodes.key_mark(node_name), flow.id, kit.node_types, diag
        )
        edges[node_name] = ctx.edges
        templates.extend(ctx.templates)
        prompts.extend(ctx.prompts)
        flow.variables.update(v for v, _ in ctx.variables)
        if node is not None:
            flow.nodes[node_name] = node
    draft = _FlowDraft(flow, edges, templates, prompts)
    if raw_nodes is not None:
        _check_graph(draft, raw_nodes, diag)
    _check_languages(draft, diag)
    return draft


def _check_graph(draft: _FlowDraft, raw_nodes: LDict, diag: Diagnostics) -> None:
    flow = draft.flow
    names = list(raw_nodes)
    for refs in draft.edges.values():
        for ref in refs:
            if ref.target not in raw_nodes:
                diag.error(
                    f"edge '{ref.label}' goes to '{ref.target}', which is not a node of "
                    f"this flow{suggest(ref.target, names)}",
                    ref.mark,
                )
    if not flow.start or flow.start not in raw_nodes:
        return
    # Reachability from the start, and the flow-wide error node which any failure may reach.
    roots = [flow.start] + ([flow.on_error] if flow.on_error in raw_nodes else [])
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(r.target for r in draft.edges.get(current, []) if r.target in raw_nodes)
    # Edges of nodes that did not compile are unknown, so say so rather than mislead.
    broken = len(flow.nodes) != len(raw_nodes)
    hint = " (some nodes have mistakes; fixing them may connect it)" if broken else ""
    for name in names:
        if name not in seen:
            diag.error(
                f"node '{name}' is unreachable: no edge leads to it from start "
                f"'{flow.start}'{hint}",
                raw_nodes.key_mark(name),
            )
    # A caller must always be able to leave: from every node some node that ends the call
    # (hangup, transfer, queue, record, return) must be reachable.
    if broken:
        return
    ends = {n for n, node in flow.nodes.items() if node.ends_call}
    leaves = set(ends)
    changed = True
    while changed:
        changed = False
        for name in names:
            if name not in leaves and any(r.target in leaves for r in draft.edges[name]):
                leaves.add(name)
                changed = True
    for name in names:
        if name not in seen or name in leaves:
            continue
        if not draft.edges[name]:
            diag.error(
                f"node '{name}' has no way out: give it a 'next:' or make it end the call",
                raw_nodes.key_mark(name),
            )
        else:
            diag.error(
                f"callers who reach '{name}' can never leave: no path from it reaches a "
                "node that ends the call (hangup, transfer, queue, record)",
                raw_nodes.key_mark(name),
            )


def _check_languages(draft: _FlowDraft, diag: Diagnostics) -> None:
    flow = draft.flow
    for prompt, mark in draft.prompts:
        for lang in sorted(prompt.fixed_languages() - set(flow.languages)):
            diag.error(
                f"prompt has a part in '{lang}' but the flow offers only "
                f"{', '.join(flow.languages)} (add it to languages:)",
                mark,
            )
        given = [lang for lang in prompt.variants if lang != "*"]
        if not given:
            if len(flow.languages) > 1 and prompt.has_words_in_one_language():
                per_language = ", ".join(f"{lang}: ..." for lang in flow.languages)
                diag.error(
                    f"prompt has text in one language, but the flow offers "
                    f"{', '.join(flow.languages)}: write it per language ({{{per_language}}}), "
                    "or fix a part's language with {text: ..., language: ...}",
                    mark,
                )
            continue
        for lang in given:
            if lang not in flow.languages:
                diag.error(
                    f"prompt has a '{lang}' text but the flow offers only "
                    f"{', '.join(flow.languages)} (add it to languages:)",
                    mark,
                )
        missing = [lang for lang in flow.languages if lang not in prompt.variants]
        if missing:
            diag.error(f"prompt has no text for {', '.join(missing)}, which the flow offers", mark)


def _check_templates(project: Project, drafts: list[_FlowDraft]) -> None:
    # Flows that call each other as subflows share call variables, so they share what is known.
    groups: dict[str, set[str]] = {d.flow.id: {d.flow.id} for d in drafts}
    for d in drafts:
        for sub in d.flow.subflows:
            if sub in groups and groups[sub] is not groups[d.flow.id]:
                merged = groups[sub] | groups[d.flow.id]
                for member in merged:
                    groups[member] = merged
    by_id = {d.flow.id: d.flow for d in drafts}
    for d in drafts:
        known = set(BUILTIN_VARIABLES)
        for member in groups[d.flow.id]:
            known |= by_id[member].variables
        for ref in d.templates:
            try:
                used = variables_of(ref.source, ref.expression)
            except TemplateError as exc:
                project.diag.error(f"template error: {exc.message or exc}", ref.mark)
                continue
            for name in sorted(used - known):
                project.diag.error(
                    f"unknown variable '{name}' in template{suggest(name, sorted(known))} "
                    "(variables come from vars:, save_as:, lookups and built-ins such as "
                    "caller, dialed, tenant, language, now)",
                    ref.mark,
                )


def _load_config(project: Project, folder: Path, kit: Kit) -> None:
    loaders = {
        "queues.yaml": ("queues", config.load_queues),
        "agents.yaml": ("agents", config.load_agents),
        "schedules.yaml": ("schedules", config.load_schedules),
        "tenants.yaml": ("tenants", config.load_tenants),
        "data.yaml": ("data", kit.load_shared_data),
        "campaigns.yaml": ("campaigns", load_campaigns),
    }
    for filename, (attr, loader) in loaders.items():
        path = folder / filename
        if path.exists():
            doc = load_yaml(path, project.diag, project.sources, kind="config file")
            if doc is not None:
                setattr(project, attr, loader(doc, str(path), project.diag))
    # Sources shared in data.yaml serve every flow; a flow's own source of the same name wins.
    for flow in project.flows.values():
        flow.data = {**project.data, **flow.data}
    for queue in project.queues.values():
        for agent_id, mark in zip(queue.agents, queue.agent_marks, strict=False):
            if agent_id not in project.agents:
                project.diag.error(
                    f"queue '{queue.name}' names agent '{agent_id}', which is not in agents.yaml"
                    + suggest(agent_id, list(project.agents)),
                    mark,
                )
    _check_campaigns(project, kit)
    for tenant in project.tenants.values():
        if tenant.flow not in project.flows:
            project.diag.error(
                f"tenant '{tenant.id}' uses flow '{tenant.flow}', which is not loaded"
                + suggest(tenant.flow, list(project.flows)),
                tenant.flow_mark,
            )


def _check_campaigns(project: Project, kit: Kit) -> None:
    for campaign in project.campaigns.values():
        if kit.check_campaign is not None:
            kit.check_campaign(project, campaign)
        for what, name, known, where in (
            ("flow", campaign.flow, project.flows, "the loaded flows"),
            ("tenant", campaign.options["tenant"], project.tenants, "tenants.yaml"),
            ("queue", campaign.options["queue"], project.queues, "queues.yaml"),
        ):
            if name is not None and name not in known:
                project.diag.error(
                    f"campaign '{campaign.name}' uses {what} '{name}', which is not in {where}"
                    + suggest(name, list(known)),
                    campaign.mark,
                )


def flow_files(folder: Path) -> list[Path]:
    """The flow files of a folder: YAML files that are neither config nor scenarios."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".yaml", ".yml")
        and p.name not in CONFIG_FILES
        and not p.name.endswith((SCENARIO_SUFFIX, ".test.yml"))
    )


def compile_folder(folder: Path, kit: Kit) -> Project:
    """Load and compile every flow and config file of ``folder`` with what ``kit`` offers.

    Returns:
        The project; ``project.diag`` holds every mistake found (check ``project.ok``).
    """
    project = Project(folder=folder)
    drafts: list[_FlowDraft] = []
    first_mark: dict[str, Mark] = {}
    for path in flow_files(folder):
        doc = load_yaml(path, project.diag, project.sources, kind="flow file", may_be_empty=False)
        if doc is None:
            continue
        draft = _compile_flow(path, doc, kit, project.diag, str(path))
        if draft is None:
            continue
        flow = draft.flow
        if flow.id in first_mark:
            project.diag.error(
                f"duplicate flow id '{flow.id}' (also defined at {first_mark[flow.id]})", flow.mark
            )
            continue
        first_mark[flow.id] = flow.mark
        project.flows[flow.id] = flow
        drafts.append(draft)
    project.scenarios = sorted(
        p for p in folder.iterdir() if p.name.endswith((SCENARIO_SUFFIX, ".test.yml"))
    )
    _load_config(project, folder, kit)
    for draft in drafts:
        check = ProjectCheck(project, draft.flow)
        flow = draft.flow
        for node in flow.nodes.values():
            normalised = node.check(check)
            if normalised is not None:
                node.opts = normalised
            called = node.flows_called()
            flow.subflows.update(f for f in called if f in project.flows and f != flow.id)
    _check_subflow_cycles(project)
    _check_templates(project, drafts)
    return project


def _check_subflow_cycles(project: Project) -> None:
    """Flows that call each other as subflows would nest calls without end: each is an error.

    A flow calling itself is its subflow node's own check; here are the longer rings, each
    reported once, at the subflow reference that closes it.
    """
    calls: dict[str, list[tuple[str, Mark]]] = {}
    for flow_id, flow in sorted(project.flows.items()):
        calls[flow_id] = [
            (target, node.marks.get("flow", node.mark))
            for node in flow.nodes.values()
            for target in node.flows_called()
            if target in project.flows and target != flow_id
        ]
    done: set[str] = set()
    for first in calls:
        if first in done:
            continue
        # Depth first without recursion: a folder may hold a chain of any number of flows.
        path = [first]
        pending = [iter(calls[first])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                done.add(path.pop())
                pending.pop()
                continue
            target, mark = step
            if target in path:
                ring = " -> ".join([*path[path.index(target) :], target])
                project.diag.error(
                    f"flows call each other as subflows in a ring: {ring} "
                    "(a call would start one inside the other without end)",
                    mark,
                )
            elif target not in done:
                path.append(target)
                pending.append(iter(calls[target]))


def flow_json_schema(kit: Kit) -> dict:
    """The JSON Schema of a flow file, for editors (yaml-language-server) to autocomplete."""
    registry = kit.node_types
    base = Path(".")
    top = flow_fields(base, kit)
    del top["nodes"]
    branches = []
    for name in registry.names():
        cls = registry.get(name)
        fields = node_fields(cls)
        schema = object_schema(fields)
        schema["properties"] = {"type": {"const": name}, **schema["properties"]}
        branches.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": schema,
            }
        )
    node_schema = {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {
                "enum": registry.names(),
                "description": "The node type",
                "markdownEnumDescriptions": [registry.get(n).summary for n in registry.names()],
            }
        },
        "allOf": branches,
    }
    schema = object_schema(top)
    schema["properties"]["nodes"] = {
        "type": "object",
        "description": "The flow's nodes by name",
        "additionalProperties": node_schema,
    }
    schema["required"] = ["flow", "start", "nodes"]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://ivr.invalid/schemas/flow.schema.json",
        "title": "IVR flow",
        **schema,
    }
