"""ivr validate finds every mistake in data sources and the nodes that use them, with positions."""

from pathlib import Path

import pytest

from ivr.cli import main
from ivr.project import load_project

FLOW = """\
flow: t
start: find
vars: {{account: ""}}
data:
  table: {{csv: rows.csv, key: id}}
  api: {api}
nodes:
  find:
    type: {node}
    source: {source}
{extra}    save_as: x
    next: bye
    found: bye
    not_found: bye
    on_error: bye
  bye: {{type: hangup}}
"""


def mistakes(tmp_path: Path, api: str = '{http: "https://api.example/x"}', **node) -> list[str]:
    (tmp_path / "rows.csv").write_text("id,v\n1,a\n")
    options = {"node": "lookup", "source": "api", "extra": ""} | node
    text = FLOW.format(api=api, **options)
    if options["node"] == "http":
        text = text.replace("    found: bye\n    not_found: bye\n", "")
    else:
        text = text.replace("    next: bye\n", "")
    (tmp_path / "flow.yaml").write_text(text)
    project = load_project(tmp_path)
    return [f"{d.mark.line}:{d.mark.col}: {d.message}" for d in project.diag.sorted()]


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ('{http: "ftp://api.example/x"}', "6:15: expected a URL starting with http:// or https://"),
        ('{http: "https://api.{{ key }}/x"}', "6:15: the host of a URL is written out"),
        ('{http: "https://api.example/a b"}', "6:15: a URL has no spaces outside {{ }}"),
        (
            '{http: "https://api.example/{{ acount }}"}',
            "6:15: unknown variable 'acount' in template; did you mean 'account'?",
        ),
        ('{http: "https://api.example/{{ key "}', "6:15: template error"),
        (
            '{http: {url: "https://a.example/x", method: FETCH}}',
            "6:52: 'FETCH' is not one of: GET, POST, PUT, PATCH, DELETE",
        ),
        (
            '{http: {url: "https://a.example/x", json: {a: 1}}}',
            "6:44: a GET request has no body: use query: or method: POST",
        ),
        (
            '{http: {url: "https://a.example/x", headers: {Authorization: "Bearer abc"}}}',
            "6:54: credentials do not belong in the flow: send Authorization with auth:",
        ),
        (
            '{http: {url: "https://a.example/x", auth: {bearer_env: T, user_env: U}}}',
            "6:50: auth: give {bearer_env: NAME}, {user_env: NAME, password_env: NAME} or",
        ),
        (
            '{http: {url: "https://a.example/x", auth: {bearer_env: "not a name"}}}',
            "6:63: 'not a name' is not an environment variable name",
        ),
        (
            '{http: {url: "https://a.example/x", auth: {token: abc}}}',
            "6:51: unknown key 'token'",
        ),
        (
            '{http: {url: "https://a.example/x", fields: {ref: "a..b"}}}',
            "6:58: 'a..b' is not a dotted path like card.last4",
        ),
        (
            '{http: {url: "https://a.example/x", not_found: [200]}}',
            "6:56: 200 is too small: the least allowed is 400",
        ),
        (
            '{http: {url: "https://a.example/x", mock: nope.yaml}}',
            "6:50: cannot read",
        ),
        ('{http: {urls: "https://a.example/x"}}', "6:16: unknown key 'urls'; did you mean 'url'?"),
    ],
)
def test_http_source_mistakes_are_reported_with_positions(tmp_path, api, message):
    found = mistakes(tmp_path, api=api)
    assert any(m.startswith(message) for m in found), found


def test_mock_file_mistakes_are_reported_in_the_mock_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "svc.yaml").write_text(
        "responses:\n  - {path: /a, status: 99}\n  - {method: GET, pth: /b}\n"
    )
    found = mistakes(tmp_path, api='{http: {url: "https://a.example/x", mock: data/svc.yaml}}')
    assert "2:24: 99 is too small: the least allowed is 100" in found
    unknown = "3:19: unknown key 'pth'; did you mean 'path'? (allowed here: method, path, status, "
    assert unknown + "json, body, delay)" in found


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            {"source": "apy"},
            "10:13: data source 'apy' is not defined in this flow's data:; did you mean 'api'?",
        ),
        (
            {"node": "http", "source": "table"},
            "10:13: source 'table' is a csv source; an http node sends",
        ),
        (
            {"node": "http", "source": "api"},
            None,
        ),
    ],
)
def test_nodes_must_name_a_source_of_the_right_kind(tmp_path, node, message):
    found = mistakes(tmp_path, **node)
    if message is None:
        assert found == []
    else:
        assert any(m.startswith(message) for m in found), found


def test_a_lookup_on_a_keyed_source_needs_a_key(tmp_path):
    found = mistakes(tmp_path, api='{http: "https://api.example/o/{{ key }}"}')
    assert found == [
        "9:5: source 'api' looks records up by a key: give this lookup key:, e.g. "
        'key: "{{ account }}"'
    ]


def test_a_key_a_source_does_not_use_is_a_warning(tmp_path):
    (tmp_path / "rows.csv").write_text("id,v\n1,a\n")
    found = mistakes(tmp_path, extra='    key: "{{ account }}"\n')
    assert found == [
        "11:10: source 'api' does not use a key (its question reads nothing), so key: is ignored"
    ]


def test_an_http_node_cannot_use_a_source_reading_a_key(tmp_path):
    found = mistakes(tmp_path, api='{http: "https://api.example/o/{{ key }}"}', node="http")
    assert found == [
        "10:13: source 'api' reads key, which an http node does not give: use call variables in "
        "its request"
    ]


def test_validate_prints_data_mistakes_as_file_line_column_with_a_caret(tmp_path, capsys):
    (tmp_path / "rows.csv").write_text("id,v\n1,a\n")
    mistakes(tmp_path, api='{http: "https://api.example/x", timeout: 3 parsecs}')
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path}/flow.yaml:6:49: error: bad duration '3 parsecs'" in out
    assert '  api: {http: "https://api.example/x", timeout: 3 parsecs}\n' in out
