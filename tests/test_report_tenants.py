"""Scenario calls in the journal belong to the tenant whose flow they called.

A case that dials no number still calls its scenario's flow; a real call reaches that flow only
through the numbers of the tenants using it, so when one tenant alone uses it, the report puts
the call under that tenant rather than under "(none)".
"""

import csv
import io
from textwrap import dedent

from ivr.cli import main

FLOW = """
flow: {name}
language: en
start: bye
nodes:
  bye:
    type: hangup
    prompt: "Goodbye."
"""
TENANTS = """
tenants:
  alpha: {name: Alpha, numbers: ["100"], flow: t}
  beta: {name: Beta, numbers: ["200"], flow: shared}
  gamma: {name: Gamma, numbers: ["300"], flow: shared}
"""
SCENARIO = """
flow: {name}
cases:
  - name: a caller who dials no number
    steps: [{{hear: Goodbye}}]
    expect: {{outcome: completed}}
  - name: a caller who dials {dialed}
    dialed: "{dialed}"
    steps: [{{hear: Goodbye}}]
    expect: {{outcome: completed}}
"""


def per_tenant(tmp_path, capsys) -> dict[str, str]:
    for name, dialed in (("t", "100"), ("shared", "300")):
        (tmp_path / f"{name}.yaml").write_text(dedent(FLOW.format(name=name)))
        scenario = SCENARIO.format(name=name, dialed=dialed)
        (tmp_path / f"{name}.test.yaml").write_text(dedent(scenario))
    (tmp_path / "tenants.yaml").write_text(dedent(TENANTS))
    journal = tmp_path / "journal.sqlite"
    assert main(["test", "--journal", str(journal), str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["report", "--journal", str(journal), "--format", "csv"]) == 0
    block = capsys.readouterr().out.split("\n\ntenants\n")[1].split("\n\n")[0]
    return {row["tenant"]: row["calls"] for row in csv.DictReader(io.StringIO(block))}


def test_a_case_without_a_number_is_a_call_of_the_one_tenant_using_its_flow(tmp_path, capsys):
    tenants = per_tenant(tmp_path, capsys)
    # t: both calls are alpha's; shared: the call dialing 300 is gamma's, the other could be
    # beta's or gamma's and stays without a tenant
    assert tenants == {"alpha": "2", "gamma": "1", "(none)": "1"}
