"""``ivr report --format json`` and the key figures at the top of every format.

The journal is the hand-built one of test_report_figures: 7 calls, 5 queued, c3 a short abandon,
so 4 offered; c4 abandoned after 40 s; c1 (10 s) and c5 (20 s) answered within the 20 s target,
c2 after 30 s; talk 100, 60 and 50 s.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from test_report_figures import calls

from ivr.cli import main
from ivr.store import SqliteJournal

KEY_FIGURES = {
    "calls": 7,
    "containment": pytest.approx(1 / 7),
    "abandon_rate": pytest.approx(1 / 4),
    "service_level": pytest.approx(2 / 4),
    "asa": pytest.approx((10 + 30 + 20) / 3),
    "aht": pytest.approx((100 + 60 + 50) / 3),
    "longest_wait": pytest.approx(40),
    "callbacks_reached": None,
}
"""The key figures of the journal, worked out by hand (no callback was made: n/a)."""


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    store.write(calls())
    store.close()
    return path


def run_report(capsys, journal, *options) -> str:
    capsys.readouterr()
    args = ["report", "--journal", str(journal), "--timezone", "Europe/Sofia", *options]
    assert main(args) == 0
    return capsys.readouterr().out


def json_report(capsys, journal, *options) -> dict:
    return json.loads(run_report(capsys, journal, "--format", "json", *options))


def tables_of(document: dict) -> dict[str, dict]:
    return {table["key"]: table for table in document["tables"]}


def test_json_heading_says_the_period_with_its_offset_the_zone_filters_and_rules(journal, capsys):
    document = json_report(capsys, journal, "--interval", "15m", "--queue", "sales")
    # 09:00 UTC is 11:00 in Sofia in November; c5, the last call of sales, starts 120 s in
    assert document["period"] == {
        "start": "2026-11-23T11:00:00+02:00",
        "end": "2026-11-23T11:02:00+02:00",
    }
    assert document["timezone"] == "Europe/Sofia"
    assert document["timezone_is_local"] is False
    assert document["filters"] == {"tenant": None, "queue": "sales"}
    assert document["short_abandon"]["seconds"] == 5
    assert "under 5s" in document["short_abandon"]["rule"]
    assert document["interval"] == "15m"
    assert document["journal"] == str(journal)


def test_json_tables_hold_raw_counts_fractions_seconds_and_null_for_not_applicable(journal, capsys):
    tables = tables_of(json_report(capsys, journal))
    summary = tables["summary"]
    assert [c["name"] for c in summary["columns"]] == ["figure", "calls", "share", "of", "time"]
    assert [c["kind"] for c in summary["columns"]] == [
        "text",
        "count",
        "fraction",
        "text",
        "seconds",
    ]
    rows = {row[0]: row[1:] for row in summary["rows"]}
    assert rows["Calls offered to a queue"] == [4, None, "", None]
    assert rows["Abandoned in a queue"] == [1, 0.25, "calls offered", None]
    assert rows["Average speed of answer (ASA)"][3] == pytest.approx(20.0)
    assert rows["Callbacks reached"] == [0, None, "callbacks made", None]
    queue = tables["queues"]["rows"][0]
    assert queue[:6] == ["sales", "20s", 5, 3, 1, 0]
    answered = [c["name"] for c in tables["agents"]["columns"]].index("calls")
    agents = {row[0]: row for row in tables["agents"]["rows"]}
    assert agents["a"][answered] == 2
    assert tables["funnel-t"]["title"] == "Node funnel: t"
    assert tables["funnel-t"]["note"]


def test_every_json_table_has_the_same_figures_as_the_csv_folder(journal, tmp_path, capsys):
    folder = tmp_path / "csv"
    run_report(capsys, journal, "--interval", "15m", "--format", "csv", "--output", str(folder))
    document = json_report(capsys, journal, "--interval", "15m")
    tables = tables_of(document)
    assert sorted(f"{key}.csv" for key in tables) == sorted(
        p.name for p in folder.iterdir() if p.name != "report.csv"
    )
    for key, table in tables.items():
        spreadsheet = list(csv.reader(io.StringIO((folder / f"{key}.csv").read_text())))
        assert len(spreadsheet) == len(table["rows"]) + 1, key
        for cells, row in zip(spreadsheet[1:], table["rows"], strict=True):
            for cell, value, column in zip(cells, row, table["columns"], strict=True):
                if value is None:
                    assert cell == "", (key, column)
                elif column["kind"] == "fraction":
                    assert float(cell) == pytest.approx(value * 100, abs=0.005), (key, column)
                elif column["kind"] == "seconds":
                    assert float(cell) == pytest.approx(value, abs=0.05), (key, column)
                else:
                    assert cell == str(value), (key, column)


def test_json_key_figures_are_the_summarys_figures_each_with_its_definition(journal, capsys):
    document = json_report(capsys, journal)
    figures = {k["key"]: k for k in document["kpis"]}
    assert {key: k["value"] for key, k in figures.items()} == KEY_FIGURES
    assert figures["asa"]["kind"] == "seconds"
    assert figures["containment"]["kind"] == "fraction"
    assert all(k["definition"].endswith(".") for k in figures.values())
    summary = {row[0]: row[1:] for row in tables_of(document)["summary"]["rows"]}
    assert figures["calls"]["value"] == summary["Calls"][0]
    assert figures["service_level"]["value"] == summary["Answered within service level"][1]
    assert figures["aht"]["value"] == summary["Average handle time (AHT)"][3]


def test_json_report_goes_to_a_file_with_output(journal, tmp_path, capsys):
    target = tmp_path / "out" / "report.json"
    assert run_report(capsys, journal, "--format", "json", "--output", str(target)) == ""
    assert json.loads(target.read_text())["kpis"][0]["value"] == 7


def test_html_page_opens_with_the_key_figures_each_with_its_definition_as_tooltip(
    journal, tmp_path, capsys
):
    page = tmp_path / "report.html"
    run_report(capsys, journal, "--format", "html", "--output", str(page))
    root = ET.fromstring(page.read_text(encoding="utf-8").removeprefix("<!DOCTYPE html>"))
    body = root.find("body")
    header = body.find("section")
    assert header.get("id") == "kpis"
    shown = {
        div.get("id"): ("".join(div.itertext()), div.get("title"))
        for div in header.iter("div")
        if div.get("class") == "kpi"
    }
    assert {key: text for key, (text, _) in shown.items()} == {
        "kpi-calls": "7Calls",
        "kpi-containment": "14.3%Containment",
        "kpi-abandon_rate": "25.0%Abandon rate",
        "kpi-service_level": "50.0%Service level",
        "kpi-asa": "20.0sASA",
        "kpi-aht": "1m 10sAHT",
        "kpi-longest_wait": "40.0sLongest wait",
        "kpi-callbacks_reached": "-Callbacks reached",
    }
    assert "within their queue's own answer-time target" in shown["kpi-service_level"][1]
    assert "under 5s" in shown["kpi-abandon_rate"][1]


def test_terminal_report_starts_with_the_key_figures_under_the_heading(journal, capsys):
    lines = run_report(capsys, journal).splitlines()
    start = lines.index("Key figures")
    assert start < lines.index("Summary")
    labels, values = lines[start + 1], lines[start + 2]
    assert labels.split("  ")[0] == "Calls" and "Callbacks reached" in labels
    assert values.split() == ["7", "14.3%", "25.0%", "50.0%", "20.0s", "1m", "10s", "40.0s", "-"]
    assert max(len(labels), len(values)) <= 100
