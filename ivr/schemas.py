"""JSON Schemas of every YAML file the product reads, made from the declarations its loaders use.

A flow's schema comes from the node registry (each node type's options); the files beside the
flows from the field declarations their loaders check with (queues.yaml from ``QUEUE_FIELDS``,
and so on), so a schema can never allow or forbid what ``ivr validate`` does not. Editors with
yaml-language-server complete and check files against them (``ivr schema --kind K``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivr.data import DataSourceField
from ivr.flow import config
from ivr.flow.campaigns import CAMPAIGN_FIELDS
from ivr.flow.compiler import SCENARIO_SUFFIX, flow_json_schema
from ivr.flow.fields import Field, object_schema
from ivr.flow.prompts import PROMPT_JSON_SCHEMA
from ivr.nodes.registry import NodeRegistry
from ivr.testing.scenario import SCENARIO_FIELDS

SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "https://ivr.invalid/schemas/{kind}.schema.json"


@dataclass(frozen=True)
class ConfigKind:
    """A YAML file beside the flows: ``{top_key: {name: {field: value}}}``.

    Attributes:
        file: the file's name in a flows folder.
        top_key: its one top-level key.
        what: what one entry is, for descriptions ("queue").
        fields: the entry's keys, as its loader checks them.
        name_pattern: what an entry's name may look like.
    """

    file: str
    top_key: str
    what: str
    fields: dict[str, Field]
    name_pattern: str = r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$"


CONFIG_KINDS: dict[str, ConfigKind] = {
    "queues": ConfigKind("queues.yaml", "queues", "operator queue", config.QUEUE_FIELDS),
    "agents": ConfigKind("agents.yaml", "agents", "agent (operator)", config.AGENT_FIELDS),
    "schedules": ConfigKind(
        "schedules.yaml", "schedules", "opening-hours schedule", config.SCHEDULE_FIELDS
    ),
    "tenants": ConfigKind("tenants.yaml", "tenants", "client company", config.TENANT_FIELDS),
    "campaigns": ConfigKind("campaigns.yaml", "campaigns", "outbound campaign", CAMPAIGN_FIELDS),
}
KINDS = ("flow", *CONFIG_KINDS, "data", "test")
"""Every kind of YAML file, as ``ivr schema --kind`` names them (``flow`` is the default)."""
TITLES = {
    "flow": "IVR flow",
    "queues": "IVR queues.yaml",
    "agents": "IVR agents.yaml",
    "schedules": "IVR schedules.yaml",
    "tenants": "IVR tenants.yaml",
    "campaigns": "IVR campaigns.yaml",
    "data": "IVR data.yaml (data sources shared by a folder's flows)",
    "test": "IVR scenario test (*.test.yaml)",
}


def kind_of(path: Path) -> str:
    """Which kind of file ``path`` is, by its name, as the loaders decide it."""
    for kind, spec in CONFIG_KINDS.items():
        if path.name == spec.file:
            return kind
    if path.name == "data.yaml":
        return "data"
    if path.name.endswith((SCENARIO_SUFFIX, ".test.yml")):
        return "test"
    return "flow"


def _document(kind: str, body: dict) -> dict:
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": SCHEMA_ID.format(kind=kind),
        "title": TITLES[kind],
        **body,
    }


def _share_prompts(schema: dict) -> dict:
    """The schema with every prompt's (large) schema given once, under ``definitions``.

    Editors then load a few kilobytes instead of a copy of the prompt language per option.
    """

    def walk(value):
        if isinstance(value, dict):
            bare = {k: v for k, v in value.items() if k != "description"}
            if bare == PROMPT_JSON_SCHEMA:
                shared = {"allOf": [{"$ref": "#/definitions/prompt"}]}
                return {
                    **shared,
                    **({"description": value["description"]} if "description" in value else {}),
                }
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = walk(schema)
    if out != schema:
        out["definitions"] = {"prompt": PROMPT_JSON_SCHEMA}
    return out


def _top(key: str, description: str, value: dict) -> dict:
    return {
        "type": "object",
        "properties": {key: {"description": description, **value}},
        "required": [key],
        "additionalProperties": False,
    }


def schema_for(kind: str, registry: NodeRegistry | None = None) -> dict:
    """The JSON Schema (draft 7) of one kind of file.

    Args:
        kind: one of ``KINDS``.
        registry: the node types a flow may use (default: built-ins and installed plugins).

    Raises:
        KeyError: ``kind`` is not one of ``KINDS``.
    """
    return _share_prompts(_schema_for(kind, registry))


def _schema_for(kind: str, registry: NodeRegistry | None) -> dict:
    if kind == "flow":
        return flow_json_schema(registry)
    if kind == "test":
        return _document(kind, object_schema(SCENARIO_FIELDS))
    if kind == "data":
        sources = {"type": "object", "additionalProperties": DataSourceField(Path(".")).schema()}
        return _document(kind, _top("data", "Named data sources every flow here may use", sources))
    spec = CONFIG_KINDS[kind]
    entries = {
        "type": "object",
        "propertyNames": {"pattern": spec.name_pattern},
        "additionalProperties": object_schema(spec.fields),
    }
    return _document(kind, _top(spec.top_key, f"Each {spec.what} by name", entries))
