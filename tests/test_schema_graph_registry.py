import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from ivr.cli import main
from ivr.flow.fields import Edge
from ivr.nodes.base import Node
from ivr.nodes.registry import NodeRegistry, PluginError

FLOWS = Path(__file__).parents[1] / "flows"


def _schema(capsys) -> dict:
    assert main(["schema"]) == 0
    return json.loads(capsys.readouterr().out)


def test_schema_is_valid_draft_7_and_accepts_the_example_flows(capsys):
    schema = _schema(capsys)
    jsonschema.Draft7Validator.check_schema(schema)
    for name in ("acme_bank.yaml", "order_status.yaml"):
        doc = yaml.safe_load((FLOWS / name).read_text())
        jsonschema.validate(json.loads(json.dumps(doc, default=str)), schema)


def test_schema_rejects_unknown_node_types_and_keys(capsys):
    schema = _schema(capsys)
    bad_type = {"flow": "f", "start": "a", "nodes": {"a": {"type": "speak"}}}
    bad_key = {"flow": "f", "start": "a", "nodes": {"a": {"type": "hangup", "promt": "Bye"}}}
    for doc in (bad_type, bad_key):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


def test_schema_offers_each_node_types_keys_for_autocompletion(capsys):
    node = _schema(capsys)["properties"]["nodes"]["additionalProperties"]
    assert "menu" in node["properties"]["type"]["enum"]
    menu = next(
        b["then"] for b in node["allOf"] if b["if"]["properties"]["type"]["const"] == "menu"
    )
    assert {"prompt", "choices", "on_fail", "timeout"} <= set(menu["properties"])
    assert menu["properties"]["timeout"]["description"] == "Wait for a key after the prompt"


def test_mermaid_graph_labels_every_edge_and_marks_goals(capsys):
    assert main(["graph", str(FLOWS / "acme_bank.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD\n")
    assert 'n_main_menu -->|"1"| n_ask_account' in out
    assert 'n_main_menu -->|"0, fail"| n_operator' in out
    assert 'n_find_account -->|"not_found"| n_unknown_account' in out
    assert 'n_find_account -->|"error"| n_operator' in out
    assert 'n_cards -->|"*"| n_main_menu' in out
    assert "★ tell_balance" in out and "class n_tell_balance,n_card_blocked goal" in out


def test_dot_graph_is_a_digraph_with_labelled_edges(capsys):
    assert main(["graph", "--format", "dot", str(FLOWS / "order_status.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "order_status" {')
    assert '"agent" -> "sorry_busy" [label="timeout, empty"];' in out
    assert '"wants_agent" -> "agent" [label="order_id == \'0\'"];' in out


def test_graph_of_a_broken_flow_says_to_validate(tmp_path, capsys):
    path = tmp_path / "f.yaml"
    path.write_text("flow: f\nstart: a\nnodes: {a: {type: nope}}\n")
    assert main(["graph", str(path)]) == 1
    assert "the flow does not compile" in capsys.readouterr().err


class _Good(Node):
    type_name = "good"
    summary = "A well-formed node"
    options = {"next": Edge(label="next", required=True)}

    def run(self, call):
        return "next"


def test_a_duplicate_node_type_is_refused_naming_both_origins():
    registry = NodeRegistry()
    registry.load_builtins()
    clash = type("Clash", (_Good,), {"type_name": "menu"})
    with pytest.raises(
        PluginError,
        match=r"from plugin acme-nodes 1\.0: type 'menu' is already "
        r"provided by ivr \(built-in\)",
    ):
        registry.register(clash, "plugin acme-nodes 1.0")


@pytest.mark.parametrize(
    ("attrs", "problem"),
    [
        ({"type_name": "Bad Name"}, "type_name must be a lowercase word"),
        ({"summary": ""}, "summary must be a one-line description"),
        ({"options": {"x": 5}}, "options must map option names to ivr.flow.fields.Field"),
        ({"run": Node.run}, "does not implement run"),
    ],
)
def test_a_malformed_node_type_is_refused_with_the_reason(attrs, problem):
    registry = NodeRegistry()
    broken = type("Broken", (_Good,), attrs)
    with pytest.raises(PluginError, match=problem):
        registry.register(broken, "plugin acme-nodes 1.0")


def test_a_class_that_is_not_a_node_is_refused():
    with pytest.raises(PluginError, match="is not a subclass of ivr.nodes.base.Node"):
        NodeRegistry().register(object, "plugin acme-nodes 1.0")


def test_mermaid_escapes_pipes_of_analyst_text(capsys):
    assert main(["graph", str(FLOWS / "order_status.yaml")]) == 0
    out = capsys.readouterr().out
    assert 'n_wants_agent -->|"order_id #124; length != 6"| n_bad_length' in out
