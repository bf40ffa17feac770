"""ivr graph: queue names, overflow and callback edges, merged edges, prompts cut at words."""

import re
from pathlib import Path

import pytest
from flowkit import build

from ivr.flow.graph import ELLIPSIS, shorten, to_dot, to_mermaid
from ivr.project import load_project

FLOWS = Path(__file__).parents[1] / "flows"
QUEUES = """
queues:
  retail: {agents: [1001]}
  supervisors: {agents: [1001]}
"""
AGENTS = "agents:\n  1001: {name: Anna, endpoint: user/1001}\n"
FLOW = """
flow: t
start: menu
nodes:
  menu:
    type: menu
    prompt: "Press < for the previous menu, > for the next, 0 for an operator, or wait for one."
    choices: {0: operator, 9: operator, 1: goodbye}
    on_fail: operator
  operator:
    type: queue
    queue: retail
    prompt: "Please hold."
    max_wait: 10m
    on_timeout: goodbye
    keys: {8: goodbye}
    overflow: {after: 5m, queue: supervisors}
    callback: {key: 1, offer_after: 2m}
  goodbye: {type: hangup, prompt: "Goodbye."}
"""


@pytest.fixture
def flow(tmp_path):
    project = build(tmp_path, FLOW, **{"queues.yaml": QUEUES, "agents.yaml": AGENTS})
    return project.flows["t"]


def test_a_queue_node_shows_its_queue_even_when_it_has_a_prompt(flow):
    assert 'n_operator(["operator<br/><i>queue</i><br/>queue retail<br/>Please hold."])' in (
        to_mermaid(flow)
    )
    assert '"operator" [label="operator\\n[queue]\\nqueue retail\\nPlease hold."' in to_dot(flow)


def test_overflow_is_a_dashed_edge_to_the_other_queue(flow):
    mermaid = to_mermaid(flow)
    assert '  q_supervisors[("queue<br/>supervisors")]' in mermaid
    assert '  n_operator -.->|"overflow after 5m"| q_supervisors' in mermaid
    dot = to_dot(flow)
    assert '"q_supervisors" [shape=cylinder, label="queue\\nsupervisors"];' in dot
    assert '"operator" -> "q_supervisors" [label="overflow after 5m", style=dashed];' in dot


def test_a_callback_is_a_dashed_edge_to_the_call_ending_with_a_call_back(flow):
    mermaid = to_mermaid(flow)
    assert '  end_operator_called_back(["called back"])' in mermaid
    assert '  n_operator -.->|"1: callback (offered after 2m)"| end_operator_called_back' in mermaid
    assert 'label="1: callback (offered after 2m)", style=dashed];' in to_dot(flow)


def test_edges_between_the_same_two_nodes_are_drawn_once_with_their_labels_combined(flow):
    mermaid = to_mermaid(flow)
    assert '  n_menu -->|"0, 9, fail"| n_operator' in mermaid
    assert '  n_operator -->|"timeout, 8"| n_goodbye' in mermaid
    pairs = re.findall(r"^  (\S+) -->\|.*?\| (\S+)$", mermaid, re.MULTILINE)
    assert len(pairs) == len(set(pairs))
    dot = to_dot(flow)
    assert '"menu" -> "operator" [label="0, 9, fail"];' in dot
    assert dot.count('"menu" -> "operator"') == 1


def test_analyst_text_with_angle_brackets_is_escaped_in_mermaid(flow):
    assert "Press #lt; for the previous menu, #gt; for the next…" in to_mermaid(flow)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Thank you for calling.", "Thank you for calling."),
        (
            "For your balance press 1. For cards press 2. For an operator press 0.",
            "For your balance press 1. For cards press 2…",
        ),
        (
            "Your last payment of <money {{ acct.last_payment }}> on <date {{ d }}>",
            "Your last payment of…",
        ),
        ("Pneumonoultramicroscopicsilicovolcanoconiosis" * 2 + " again", None),
    ],
)
def test_prompt_text_is_shortened_at_a_word_never_inside_one(text, shown):
    got = shorten(text, 48)
    if shown is not None:
        assert got == shown
    assert got == text or got.endswith(ELLIPSIS)
    kept = got.removesuffix(ELLIPSIS)
    assert text.startswith(kept) and text[len(kept) : len(kept) + 1] in ("", " ", ".", ",")


def test_no_label_of_the_example_flows_ends_inside_a_word():
    project = load_project(FLOWS)
    for flow in project.flows.values():
        for node in flow.nodes.values():
            for line in node.diagram_lines():
                got = shorten(line)
                words = " ".join(line.split())
                assert words.startswith(got.removesuffix(ELLIPSIS))
                rest = words[len(got.removesuffix(ELLIPSIS)) :]
                assert rest == "" or rest[0] in " .,;:-", (line, got)
