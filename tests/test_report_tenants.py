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
    assert tenants == {"alpha (Alpha)": "2", "gamma (Gamma)": "1", "(none)": "1"}


ZONED_TENANTS = """
tenants:
  alpha: {name: Alpha Bank, numbers: ["100"], flow: t, timezone: Asia/Tokyo}
  beta: {name: Beta, numbers: ["200"], flow: t}
"""
# 2026-11-23 16:30 UTC is 01:30 the next day in Tokyo
LATE_CALL = """
flow: t
cases:
  - name: a caller late in the afternoon, UTC
    dialed: "100"
    at: 2026-11-23T16:30:00Z
    steps: [{hear: Goodbye}]
    expect: {outcome: completed}
"""


def zoned_journal(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(dedent(FLOW.format(name="t")))
    (tmp_path / "t.test.yaml").write_text(dedent(LATE_CALL))
    (tmp_path / "tenants.yaml").write_text(dedent(ZONED_TENANTS))
    journal = tmp_path / "journal.sqlite"
    assert main(["test", "--journal", str(journal), str(tmp_path)]) == 0
    capsys.readouterr()
    return journal


def test_a_tenants_report_counts_days_and_hours_in_the_tenants_own_time_zone(tmp_path, capsys):
    journal = zoned_journal(tmp_path, capsys)
    assert main(["report", "--journal", str(journal), "--tenant", "alpha", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "Asia/Tokyo" in out and "Tenant: alpha (Alpha Bank)" in out
    days = out.split("\n\ndays\n")[1].split("\n\n")[0]
    assert [row["day"] for row in csv.DictReader(io.StringIO(days))] == ["2026-11-24"]
    # --timezone still says where to count
    options = ["--tenant", "alpha", "--timezone", "UTC", "--format", "csv"]
    assert main(["report", "--journal", str(journal), *options]) == 0
    days = capsys.readouterr().out.split("\n\ndays\n")[1].split("\n\n")[0]
    assert [row["day"] for row in csv.DictReader(io.StringIO(days))] == ["2026-11-23"]


def test_the_per_tenant_table_names_each_company(tmp_path, capsys):
    journal = zoned_journal(tmp_path, capsys)
    assert main(["report", "--journal", str(journal), "--format", "csv"]) == 0
    block = capsys.readouterr().out.split("\n\ntenants\n")[1].split("\n\n")[0]
    assert [r["tenant"] for r in csv.DictReader(io.StringIO(block))] == ["alpha (Alpha Bank)"]


def test_a_tenant_time_zone_that_does_not_exist_is_refused_where_it_is_written(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(dedent(FLOW.format(name="t")))
    (tmp_path / "tenants.yaml").write_text(
        "tenants:\n  alpha: {name: A, numbers: ['100'], flow: t, timezone: Mars/Olympus}\n"
    )
    assert main(["validate", str(tmp_path)]) == 1
    assert "tenants.yaml:2:" in capsys.readouterr().out


def test_with_intervals_each_tenant_has_its_own_in_its_own_time_zone(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(dedent(FLOW.format(name="t")))
    beta = dedent(LATE_CALL).split("cases:\n")[1].replace('"100"', '"200"').replace("late", "later")
    (tmp_path / "t.test.yaml").write_text(dedent(LATE_CALL) + beta)
    (tmp_path / "tenants.yaml").write_text(dedent(ZONED_TENANTS))
    journal = tmp_path / "journal.sqlite"
    assert main(["test", "--journal", str(journal), str(tmp_path)]) == 0
    capsys.readouterr()
    options = ["--timezone", "UTC", "--interval", "60m", "--format", "csv"]
    assert main(["report", "--journal", str(journal), *options]) == 0
    block = capsys.readouterr().out.split("\n\nintervals-tenants\n")[1].split("\n\n")[0]
    rows = [(r["tenant"], r["interval"], r["calls"]) for r in csv.DictReader(io.StringIO(block))]
    # alpha's call at 16:30 UTC is in Tokyo's 01:00 hour of the next day; beta has no zone of
    # its own: the report's
    assert rows == [("alpha", "2026-11-24 01:00 JST", "1"), ("beta", "2026-11-23 16:00 UTC", "1")]
