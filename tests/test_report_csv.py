"""``ivr report --format csv``: one stream on the terminal, or one file per table in a folder."""

import csv
import io

import pytest
from test_report_figures import calls

from ivr.cli import main
from ivr.store import SqliteJournal


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    store = SqliteJournal(path)
    store.write(calls())
    store.close()
    return path


def test_a_folder_gets_one_csv_file_per_table_each_with_its_headings_first(
    journal, tmp_path, capsys
):
    folder = tmp_path / "csv"
    args = ["report", "--journal", str(journal), "--timezone", "UTC", "--format", "csv"]
    assert main([*args, "--interval", "15m", "--output", str(folder)]) == 0
    assert f"report written to {folder}/ (12 CSV files)" in capsys.readouterr().err
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            "report.csv",
            "summary.csv",
            "outcomes.csv",
            "goals.csv",
            "hours.csv",
            "days.csv",
            "intervals.csv",
            "tenants.csv",
            "queues.csv",
            "agents.csv",
            "waits.csv",
            "funnel-t.csv",
        ]
    )
    queues = list(csv.DictReader(io.StringIO((folder / "queues.csv").read_text())))
    assert [(q["queue"], q["queued"], q["answered"], q["service level (%)"]) for q in queues] == [
        ("sales", "5", "3", "50.0")
    ]
    agents = list(csv.DictReader(io.StringIO((folder / "agents.csv").read_text())))
    assert {a["agent"]: (a["calls"], a["AHT (s)"]) for a in agents} == {
        "a": ("2", "80.0"),
        "b": ("1", "50.0"),
    }
    about = (folder / "report.csv").read_text()
    assert "Period: 2026-11-23 09:00 to 2026-11-23 09:03 (UTC)" in about
    # the same tables as the single stream, cell for cell
    assert main(args + ["--interval", "15m"]) == 0
    stream = capsys.readouterr().out
    for name in (n for n in names if n != "report.csv"):
        key = name.removesuffix(".csv")
        block = stream.split(f"\n\n{key}\n")[1].split("\n\n")[0]
        assert (folder / name).read_text() == block.rstrip("\n") + "\n", name


def test_without_output_the_csv_is_one_stream_on_the_terminal(journal, capsys):
    assert main(["report", "--journal", str(journal), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Call report from {journal}\n")
    assert "\n\nsummary\nfigure,calls" in out and "\n\nqueues\nqueue," in out


def test_an_output_named_csv_is_one_file_as_before(journal, tmp_path, capsys):
    target = tmp_path / "report.csv"
    args = ["report", "--journal", str(journal), "--format", "csv", "--output", str(target)]
    assert main(args) == 0
    assert "\n\nagents\nagent," in target.read_text()
