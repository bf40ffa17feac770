"""`ivr docs`: the reference is written from the code, complete, up to date; its examples run."""

import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from ivr.cli import main
from ivr.docs import (
    builtin_registry,
    example_files,
    missing_reference,
    node_page_name,
    reference_pages,
)
from ivr.flow.fields import Edge, Number
from ivr.nodes.base import Node
from ivr.project import load_project
from ivr.schemas import KIND_DOCS, kind_of, schema_for

ROOT = Path(__file__).parents[1]
COMMITTED = ROOT / "docs" / "reference"
REGISTRY = builtin_registry()
BUILTINS = REGISTRY.names()


def test_the_committed_reference_is_what_ivr_docs_writes_today():
    pages = reference_pages()
    committed = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.md")}
    stale = sorted(n for n in pages.keys() | committed.keys() if pages.get(n) != committed.get(n))
    assert not stale, f"docs/reference is out of date in {stale}: run `ivr docs` and commit it"


def test_ivr_docs_writes_a_page_per_node_type_and_per_file_kind(tmp_path, capsys):
    assert main(["docs", "--output", str(tmp_path / "ref")]) == 0
    assert "reference pages written to" in capsys.readouterr().out
    names = {p.name for p in (tmp_path / "ref").iterdir()}
    assert {node_page_name(n) for n in BUILTINS} <= names
    assert {f"file-{kind}.md" for kind in KIND_DOCS} <= names
    assert "index.md" in names


def test_every_built_in_node_type_and_option_has_reference_text():
    assert missing_reference() == []


def test_a_node_type_or_option_added_without_reference_text_is_caught():
    class Bare(Node):
        type_name = "bare"
        summary = "A node nobody documented"
        options = {
            "tries": Number(minimum=1),
            "next": Edge("Where to go next", label="next", required=True),
        }

        def run(self, call):
            return "next"

    registry = builtin_registry()
    registry.register(Bare, "plugin bare 1.0")
    missing = missing_reference(registry)
    assert any("node type 'bare'" in m and "no docstring" in m for m in missing)
    assert any("node type 'bare'" in m and "no example" in m for m in missing)
    assert any("option 'tries' has no description" in m for m in missing)


def test_a_node_page_lists_every_option_with_type_default_and_every_outcome():
    page = reference_pages()["node-menu.md"]
    assert "| `timeout` | duration (500ms, 5s, 2m, at most 2m) | `5s` | Wait for a key" in page
    assert "| `on_fail` (required) | node |" in page
    assert "| `fail` | `on_fail` |" in page and "| each entry of `choices` |" in page
    cls = REGISTRY.get("menu")
    for option in cls.options:
        assert f"| `{option}`" in page
    assert cls.example in page


def test_nested_options_are_listed_under_their_option():
    page = reference_pages()["node-queue.md"]
    assert "| `callback.offer_after` | duration (500ms, 5s, 2m) | `1m` |" in page
    assert "| `overflow.queue` (required) |" in page


@pytest.fixture(scope="module")
def repository_flows(tmp_path_factory):
    """A copy of the repository's flows/ (its queues, schedules and data) to drop examples in."""
    folder = tmp_path_factory.mktemp("checkout") / "flows"
    shutil.copytree(ROOT / "flows", folder)
    return folder


@pytest.mark.parametrize("type_name", BUILTINS)
def test_each_node_pages_example_validates_beside_the_repositorys_flows(
    type_name, repository_flows, tmp_path
):
    folder = tmp_path / "flows"
    shutil.copytree(repository_flows, folder)
    files = example_files(REGISTRY.get(type_name))
    for name, text in files:
        (folder / name).write_text(text)
    project = load_project(folder)
    ours = {str(folder / name) for name, _ in files}
    found = [d.render(project.sources) for d in project.diag.sorted() if d.mark.file in ours]
    assert found == [], "\n".join(found)
    first = yaml.safe_load(files[0][1])
    node_types = {n["type"] for n in first["nodes"].values()} | {
        n["type"] for _, text in files[1:] for n in yaml.safe_load(text)["nodes"].values()
    }
    assert type_name in node_types


def test_the_file_examples_make_a_folder_that_validates_and_passes_its_scenario(tmp_path, capsys):
    for kind, doc in KIND_DOCS.items():
        name = {"flow": "hello.yaml", "test": "hello.test.yaml"}.get(kind, f"{kind}.yaml")
        (tmp_path / name).write_text(doc.example)
        jsonschema.validate(yaml.safe_load(doc.example), schema_for(kind_of(Path(name))))
    (tmp_path / "accounts.csv").write_text("account,name\n1,Anna\n")
    (tmp_path / "renewals.csv").write_text("phone,tz\n+12125550123,America/New_York\n")
    (tmp_path / "dnc.csv").write_text("number\n+12125550142\n")
    assert main(["validate", str(tmp_path)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main(["test", str(tmp_path / "hello.test.yaml")]) == 0, capsys.readouterr().out


def test_the_reference_answers_how_hours_treat_holidays_and_lunch_breaks_and_when_goals_count():
    pages = reference_pages()
    hours = pages["node-hours.md"]
    assert "closed all day" in hours and "lunch break" in hours
    assert "lunch break is two ranges" in pages["file-schedules.md"]
    assert "a caller who hangs up during the prompt" in pages["node-play.md"]
