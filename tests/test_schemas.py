"""`ivr schema --kind K`: a JSON Schema per YAML file agreeing with its loader."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from ivr.cli import main
from ivr.flow.compiler import CONFIG_FILES, flow_files
from ivr.project import load_project
from ivr.schemas import KINDS, kind_of, schema_for

ROOT = Path(__file__).parents[1]
EXAMPLE_FOLDERS = [ROOT / "flows", ROOT / "examples" / "ivr-node-split" / "tests" / "flows"]


def _read_by_the_product(folder: Path) -> list[Path]:
    """The YAML files ``load_project`` reads from a folder: flows, config files, scenarios."""
    config = [folder / name for name in CONFIG_FILES if (folder / name).exists()]
    return [*flow_files(folder), *config, *load_project(folder).scenarios]


EXAMPLES = [path for folder in EXAMPLE_FOLDERS for path in _read_by_the_product(folder)]


def _as_json(text: str):
    """A YAML document as an editor's yaml-language-server sees it (keys and dates as text)."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


@pytest.mark.parametrize("kind", KINDS)
def test_ivr_schema_prints_a_valid_draft_7_schema_for_every_kind(kind, capsys):
    assert main(["schema", "--kind", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/{kind}.schema.json")


def test_the_flow_schema_stays_the_default(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "IVR flow"


def test_examples_cover_every_kind_the_repository_has_files_of():
    kinds = {kind_of(path) for path in EXAMPLES}
    assert {"flow", "queues", "agents", "schedules", "tenants", "test"} <= kinds


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_file_validates_against_its_schema(path):
    jsonschema.validate(_as_json(path.read_text()), schema_for(kind_of(path)))


GOOD_FOLDER = {
    "flow.yaml": "flow: t\nstart: bye\nnodes:\n  bye: {type: hangup, prompt: Bye.}\n",
    "queues.yaml": "queues:\n  retail: {agents: [1001], strategy: ring_all, wrap_up: 5s}\n",
    "agents.yaml": "agents:\n  1001: {name: Anna, endpoint: user/1001}\n",
    "schedules.yaml": (
        "schedules:\n  office:\n    timezone: Europe/Sofia\n"
        '    weekly: {mon-fri: ["09:00-12:00", "13:00-18:00"], Sat: "10:00-14:00", sun: closed}\n'
        "    holidays: [2026-12-25]\n"
    ),
    "tenants.yaml": "tenants:\n  acme: {name: Acme, numbers: ['18005550100'], flow: t}\n",
    "campaigns.yaml": (
        "dnc: [dnc.csv]\ncampaigns:\n  renewals:\n    tenant: acme\n    flow: t\n"
        "    contacts: {csv: renewals.csv, number: phone, timezone: tz}\n"
        "    mode: predictive\n    queue: retail\n    caller_id: '18005550100'\n"
        '    window: {mon-fri: "09:00-20:00"}\n    max_attempts: 4\n'
        "    retry: {busy: 10m, no_answer: 2h, machine: 4h}\n    max_abandon_rate: 3%\n"
        "    abandon_message: {sound: abandon_notice}\n    dnc: [dnc.csv]\n"
        "    amd: {machine: leave_message, unknown: human}\n"
    ),
    "data.yaml": "data:\n  accounts: {csv: accounts.csv, key: account}\n",
    "t.test.yaml": (
        "flow: t\ncases:\n  - name: bye\n    destinations: {'2000': busy}\n"
        "    steps: [{hear: Bye}, {wait: 2s}, {hangup: true}]\n"
        "    expect: {outcome: completed, path: [bye]}\n"
    ),
}
MISTAKES = [
    ("queues.yaml", "queues:\n  retail: {agents: [1001], stratgy: ring_all}\n"),
    ("queues.yaml", "queues:\n  retail: {agents: [1001], wrap_up: 10}\n"),
    ("agents.yaml", "agents:\n  1001: {name: Anna}\n"),
    ("schedules.yaml", "schedules:\n  office: {timezone: UTC, weekly: {mon: '9-5'}}\n"),
    ("schedules.yaml", "schedules:\n  office: {timezone: UTC, weekly: {funday: closed}}\n"),
    ("schedules.yaml", "schedules:\n  office: {weekly: {mon: closed}}\n"),
    ("tenants.yaml", "tenants:\n  acme: {name: Acme, numbers: [acme], flow: t}\n"),
    ("campaigns.yaml", "campaigns:\n  c: {flow: t, contacts: {csv: c.csv}, mode: robocall}\n"),
    ("campaigns.yaml", "campaigns:\n  c: {flow: t, contacts: {csv: c.csv}, max_abandon_rate: 3}\n"),
    ("campaigns.yaml", "campaigns:\n  c: {flow: t}\n"),
    ("campaigns.yaml", "dcn: [dnc.csv]\ncampaigns:\n  c: {flow: t, contacts: {csv: c.csv}}\n"),
    ("data.yaml", "data:\n  accounts: {key: account}\n"),
    ("t.test.yaml", "flow: t\ncases:\n  - name: x\n    steps: [{press: '1', hear: Bye}]\n"),
    ("t.test.yaml", "flow: t\ncases:\n  - name: x\n    steps: []\n    expect: {outcom: done}\n"),
    ("t.test.yaml", "flow: t\ncases:\n  - name: x\n    steps: []\n    expect: {transfer: [1]}\n"),
]


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "accounts.csv").write_text("account,name\n1,Anna\n")
    (folder / "renewals.csv").write_text("phone,tz\n+12125550123,America/New_York\n")
    (folder / "dnc.csv").write_text("number\n+12125550142\n")


def test_a_folder_of_every_kind_passes_both_the_loaders_and_the_schemas(tmp_path, capsys):
    _write(tmp_path, GOOD_FOLDER)
    assert main(["validate", str(tmp_path)]) == 0, capsys.readouterr().out
    for name, text in GOOD_FOLDER.items():
        jsonschema.validate(_as_json(text), schema_for(kind_of(Path(name))))


@pytest.mark.parametrize(("name", "text"), MISTAKES, ids=[text for _, text in MISTAKES])
def test_a_wrong_file_is_refused_by_its_schema_and_by_ivr_validate(tmp_path, capsys, name, text):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_as_json(text), schema_for(kind_of(Path(name))))
    _write(tmp_path, {**GOOD_FOLDER, name: text})
    assert main(["validate", str(tmp_path)]) == 1
    assert f"{tmp_path / name}:" in capsys.readouterr().out


def test_a_prompt_schema_is_given_once_so_editors_load_a_small_file():
    schema = schema_for("flow")
    text = json.dumps(schema)
    assert text.count('"#/definitions/prompt"') > 10
    assert text.count('"say"') < 10


def test_a_campaign_naming_a_missing_flow_queue_or_tenant_is_refused_with_a_hint(tmp_path, capsys):
    wrong = (
        GOOD_FOLDER["campaigns.yaml"]
        .replace("flow: t", "flow: tt")
        .replace("queue: retail", "queue: retial")
    )
    _write(tmp_path, {**GOOD_FOLDER, "campaigns.yaml": wrong})
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "campaign 'renewals' uses flow 'tt', which is not in the loaded flows" in out
    assert "campaign 'renewals' uses queue 'retial', which is not in queues.yaml" in out
    assert "did you mean 'retail'" in out
