"""benchmarks/report_million.py makes its journal once, reuses it, and times every format."""

import os
import subprocess
import sys
from pathlib import Path

from ivr.store import CallFilter, SqliteJournal

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "benchmarks" / "report_million.py"


def run(*args: str) -> str:
    # The ivr package of this checkout, not whichever one is installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_benchmark_writes_a_journal_the_report_reads_and_times_each_format(tmp_path):
    journal = tmp_path / "bench.sqlite"
    out = run("--journal", str(journal), "--calls", "400")
    assert "generated" in out and "journal" in out and "400 calls" in out
    for format in ("table", "csv", "html"):
        assert f"{format} in-process:" in out
    assert "as `ivr report` process" in out
    assert "PASS" in out or "FAIL" in out
    store = SqliteJournal(journal, create=False)
    outcomes = {e.record.outcome for e in store.entries(CallFilter())}
    store.close()
    assert {"self_served", "ivr_hangup", "answered", "abandoned"} <= outcomes
    again = run("--journal", str(journal), "--calls", "400")
    assert "generated" not in again and "400 calls" in again
