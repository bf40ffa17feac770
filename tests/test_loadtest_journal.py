"""``ivr loadtest --journal PATH``: the load test's calls are kept for ``ivr report``.

A short, light run (a few seconds at 5 calls/s); nothing here asserts on speed. Callers stay up
to 20 s, long enough for an agent to answer the ones that reach a queue (after its survey offer).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def ivr(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_load_tests_journal_is_kept_and_reports_its_calls_and_agents(tmp_path):
    journal = tmp_path / "runs" / "load.sqlite"
    results = tmp_path / "results.json"
    run = ivr(
        *["loadtest", "flows", "--cps", "5", "--duration", "4", "--call-limit", "20"],
        *["--max-calls", "20", "--seed", "3", "--skip-case", "FILLER"],
        *["--prompt-cache", str(tmp_path / "prompts"), "--output", str(results)],
        *["--journal", str(journal)],
    )
    assert run.returncode == 0, run.stderr
    assert f"the calls are in the journal {journal}" in run.stderr
    offered = json.loads(results.read_text())["calls"]["offered"]
    assert offered > 0
    report = ivr("report", "--journal", str(journal), "--interval", "15m", "--format", "json")
    assert report.returncode == 0, report.stderr
    document = json.loads(report.stdout)
    figures = {k["key"]: k["value"] for k in document["kpis"]}
    assert figures["calls"] == offered
    tables = {t["key"]: t for t in document["tables"]}
    assert sum(row[1] for row in tables["intervals"]["rows"]) == offered
    agents = tables["agents"]
    names = [c["name"] for c in agents["columns"]]
    calls, occupancy = names.index("calls"), names.index("occupancy")
    assert any(row[calls] > 0 for row in agents["rows"]), "no agent answered a call"
    # an agent who answered was busy part of their logged-in time, never more than all of it
    answering = [row for row in agents["rows"] if row[calls] > 0]
    assert all(0 < row[occupancy] <= 1 for row in answering), agents["rows"]
    ready, logged_in = names.index("ready"), names.index("logged in")
    assert all(row[ready] <= row[logged_in] for row in agents["rows"] if row[logged_in] is not None)
    page = tmp_path / "report.html"
    html = ivr("report", "--journal", str(journal), "--format", "html", "--output", str(page))
    assert html.returncode == 0, html.stderr
    assert 'id="kpi-calls"' in page.read_text(encoding="utf-8")


def test_a_journal_whose_folder_cannot_be_written_is_refused_before_the_load_starts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    run = ivr("loadtest", "flows", "--duration", "1", "--journal", str(blocker / "load.sqlite"))
    assert run.returncode == 2
    assert "--journal:" in run.stderr and "cannot create its folder" in run.stderr
    assert "Traceback" not in run.stderr
    assert "offering" not in run.stderr


def test_a_file_that_is_not_a_journal_is_refused_before_the_load_starts(tmp_path):
    other = tmp_path / "notes.sqlite"
    other.write_text("these are notes, not an SQLite journal\n" * 20)
    run = ivr("loadtest", "flows", "--duration", "1", "--journal", str(other))
    assert run.returncode == 2
    assert run.stderr.startswith("ivr: --journal:"), run.stderr
    assert "offering" not in run.stderr
