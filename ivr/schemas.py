"""JSON Schemas of every YAML file the product reads, made from the declarations its loaders use.

A flow's schema comes from the node registry (each node type's options); the files beside the
flows from the field declarations their loaders check with (queues.yaml from ``QUEUE_FIELDS``,
and so on), so a schema can never allow or forbid what ``ivr validate`` does not. Editors with
yaml-language-server complete and check files against them (``ivr schema --kind K``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ivr.data import SOURCE_FIELDS, DataSourceField
from ivr.data.base import COMMON_FIELDS
from ivr.flow import config
from ivr.flow.campaigns import CAMPAIGN_FIELDS, TOP_FIELDS
from ivr.flow.compiler import SCENARIO_SUFFIX, flow_fields
from ivr.flow.fields import AnyValue, Field, object_schema
from ivr.flow.prompts import PROMPT_JSON_SCHEMA
from ivr.flow.source import MAX_ALIAS_VALUES, MAX_FILE_BYTES, MAX_NESTING
from ivr.nodes.registry import NodeRegistry
from ivr.project import flow_json_schema, kit
from ivr.testing.scenario import CASE_FIELDS, FAULT_FIELDS, FAULTS_FIELDS, SCENARIO_FIELDS

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
        beside: optional top-level keys beside ``top_key`` (campaigns.yaml's ``dnc:``).
    """

    file: str
    top_key: str
    what: str
    fields: dict[str, Field]
    name_pattern: str = r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$"
    beside: dict[str, Field] = field(default_factory=dict)


CONFIG_KINDS: dict[str, ConfigKind] = {
    "queues": ConfigKind("queues.yaml", "queues", "operator queue", config.QUEUE_FIELDS),
    "agents": ConfigKind("agents.yaml", "agents", "agent (operator)", config.AGENT_FIELDS),
    "schedules": ConfigKind(
        "schedules.yaml", "schedules", "opening-hours schedule", config.SCHEDULE_FIELDS
    ),
    "tenants": ConfigKind("tenants.yaml", "tenants", "client company", config.TENANT_FIELDS),
    "campaigns": ConfigKind(
        "campaigns.yaml", "campaigns", "outbound campaign", CAMPAIGN_FIELDS, beside=TOP_FIELDS
    ),
}
KINDS = ("flow", *CONFIG_KINDS, "data", "test")
"""Every kind of YAML file, as ``ivr schema --kind`` names them (``flow`` is the default)."""


@dataclass(frozen=True)
class KindDoc:
    """What the reference says about one kind of file (``ivr docs``).

    Attributes:
        title: the page's title.
        about: what the file is for and how it is read.
        sections: (heading, fields) tables of its keys.
        example: a file of this kind; the examples of all kinds make one folder that
            ``ivr validate`` and ``ivr test`` pass (a test checks it).
    """

    title: str
    about: str
    sections: tuple[tuple[str, dict[str, Field]], ...]
    example: str


EXAMPLE_FLOW = """\
flow: hello
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "For opening hours press 1. For an operator press 0."
    choices: {1: hours, 0: open_check}
    timeout: 5s
    attempts: 3
    on_fail: open_check          # no key, or a wrong one, three times
  hours:
    type: play
    prompt: "We are open weekdays from 9 to 6, with a break from 12 to 1."
    goal: hours_told             # a self-service success, counted in reports
    next: menu
  open_check:
    type: hours
    schedule: office
    open: operator
    closed: goodbye
  operator:
    type: queue
    queue: retail                # from queues.yaml
    announce: {position: true, every: 45s}
    max_wait: 10m
    on_timeout: goodbye
  goodbye:
    type: hangup
    prompt: "Thank you for calling."
"""


def _kind_docs() -> dict[str, KindDoc]:
    sources = tuple(
        (f"`{kind}:` sources", {k: v for k, v in fields.items() if k not in COMMON_FIELDS})
        for kind, fields in SOURCE_FIELDS.items()
    )
    return {
        "flow": KindDoc(
            "Flow files (`*.yaml`)",
            "A flow is one YAML file in a flows folder: its id, its start and its nodes, each "
            "with a `type:` and edges naming the next node for each outcome. Every YAML file of "
            "the folder that is not one of the files below and not a `*.test.yaml` is a flow. "
            f"Only regular files of at most {MAX_FILE_BYTES // (1024 * 1024)} MB are read; lists "
            f"and mappings nest at most {MAX_NESTING} levels, aliases (`*name`) bring at most "
            f"{MAX_ALIAS_VALUES:,} values into a file, the only tags are `!!str`, `!!seq` and "
            "`!!map`, an empty flow file is an error, and flows may not call each other as "
            "subflows in a ring.",
            (("Top-level keys", _flow_keys()),),
            EXAMPLE_FLOW,
        ),
        "queues": KindDoc(
            "queues.yaml",
            "The operator queues `queue` nodes put callers in, beside the flows; optional.",
            (("Keys of each queue", config.QUEUE_FIELDS),),
            "queues:\n  retail:\n    agents: [1001, 1002]\n    strategy: longest_idle\n"
            "    ring_timeout: 15s\n    wrap_up: 10s\n    service_level: 20s\n",
        ),
        "agents": KindDoc(
            "agents.yaml",
            "The agents (operators) queues ring: a FreeSWITCH endpoint each, and skills; optional.",
            (("Keys of each agent", config.AGENT_FIELDS),),
            "agents:\n  1001: {name: Anna, endpoint: user/1001, skills: [en, ru]}\n"
            "  1002: {name: Boris, endpoint: user/1002, skills: [en]}\n",
        ),
        "schedules": KindDoc(
            "schedules.yaml",
            "Opening hours for `hours` nodes, each in its own time zone; optional. A day may "
            "have several ranges, so a lunch break is two ranges "
            '(`mon-fri: ["09:00-12:00", "13:00-18:00"]`: closed from 12:00 to 13:00, open again '
            "at 13:00 sharp); a range ends before its end minute, and `00:00-24:00` is the "
            "whole day; a range cannot run past midnight, so night hours are two days' ranges "
            '(`fri: "22:00-24:00", sat: "00:00-06:00"`). Days not named are closed. A date in '
            "`holidays` is closed all day whatever `weekly` says, judged by the date in the "
            "schedule's time zone; an `hours` node sends such calls to its `holiday` edge when "
            "it has one, else to `closed`. Shorter hours on one date are not supported: a "
            "holiday is closed all day.",
            (("Keys of each schedule", config.SCHEDULE_FIELDS),),
            "schedules:\n  office:\n    timezone: Europe/Sofia\n"
            '    weekly: {mon-fri: ["09:00-12:00", "13:00-18:00"], sat: "10:00-14:00"}\n'
            '    holidays: ["2026-12-25", "2027-01-01"]\n',
        ),
        "tenants": KindDoc(
            "tenants.yaml",
            "Client companies served from one platform: the numbers each owns pick its flow, "
            "language and voice, and agents hear and see its name; optional.",
            (("Keys of each tenant", config.TENANT_FIELDS),),
            "tenants:\n  acme: {name: Acme Bank, numbers: ['18005550100'], flow: hello, "
            "language: en}\n",
        ),
        "campaigns": KindDoc(
            "campaigns.yaml",
            "Outbound campaigns and surveys (DESIGN.md section 9), checked by `ivr validate`: "
            "its flow, tenant and queue must exist, and the contacts and do-not-call files it "
            "names are read (a missing file or column is an error; a row left out, a contact "
            "whose time zone comes from its number, a window outside 08:00-21:00 are "
            "warnings). See docs/outbound.md. No dialer reads this file yet.",
            (
                ("Keys of each campaign", CAMPAIGN_FIELDS),
                ("Keys beside `campaigns:`", TOP_FIELDS),
            ),
            "campaigns:\n  renewals:\n    tenant: acme\n    flow: hello\n"
            "    contacts: {csv: renewals.csv, number: phone, timezone: tz}\n"
            "    mode: predictive\n    queue: retail\n    caller_id: '18005550100'\n"
            '    window: {mon-fri: "09:00-20:00", sat: "10:00-14:00"}\n    max_attempts: 4\n'
            "    retry: {busy: 10m, no_answer: 2h, machine: 4h}\n    max_abandon_rate: 3%\n"
            "    abandon_message: {sound: abandon_notice}\n    dnc: [dnc.csv]\n"
            "    amd: {machine: leave_message, unknown: human}\n",
        ),
        "data": KindDoc(
            "data.yaml",
            "Data sources every flow of the folder may use in `lookup`, `authenticate` and "
            "`http` nodes, exactly like a flow's own `data:` (a flow's source of the same name "
            "wins); optional. Each source names one kind; file paths are relative to the folder.",
            (*sources, ("Keys every source takes", COMMON_FIELDS)),
            "data:\n  accounts: {csv: accounts.csv, key: account, cache: {ttl: 30s}}\n",
        ),
        "test": KindDoc(
            "Scenario files (`*.test.yaml`)",
            "Scripted callers for `ivr test`: each case is a call, with the caller's steps and "
            "what the call must end with. The flow is looked up among the flows of the file's "
            "folder, and the folder's queues, agents and schedules are used. Time is "
            "simulated; an available agent answers after 2 s of ringing.",
            (
                ("Top-level keys", SCENARIO_FIELDS),
                ("Keys of each case", CASE_FIELDS),
                ("Keys of `faults:` (in the file, or in a case)", FAULTS_FIELDS),
                *(
                    (f"Options of the fault `{kind}` (an item of `inject:`)", fields)
                    for kind, fields in FAULT_FIELDS.items()
                ),
            ),
            "flow: hello\ncases:\n  - name: a caller asks for the opening hours\n"
            "    steps:\n      - hear: For opening hours press 1\n      - press: '1'\n"
            "      - hear: We are open weekdays\n      - hangup: true\n"
            "    expect: {path: [menu, hours], outcome: self_served, goals: [hours_told]}\n"
            "  - name: on a holiday the caller who asks for an operator hears goodbye\n"
            "    at: '2026-12-25T10:00:00+02:00'\n"
            "    steps: [{press: '0'}, {hear: Thank you for calling}]\n"
            "    expect: {path: [menu, open_check, goodbye], outcome: completed}\n",
        ),
    }


def _flow_keys() -> dict[str, Field]:
    keys = flow_fields(Path("."), kit())
    keys["nodes"] = AnyValue(
        "The flow's nodes by name; each node's keys are on its type's page", required=True
    )
    return keys


KIND_DOCS = _kind_docs()


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
        "title": f"IVR {KIND_DOCS[kind].title}",
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
    top = _top(spec.top_key, f"Each {spec.what} by name", entries)
    top["properties"].update(object_schema(spec.beside)["properties"])
    return _document(kind, top)
