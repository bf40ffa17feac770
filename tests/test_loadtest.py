"""``ivr loadtest`` against the example flows: a short, light run that reports every figure.

Bounded in calls and time; nothing here asserts on speed.
"""

import json
import subprocess
import sys
from pathlib import Path

from ivr.loadtest.report import PERCENTILES, percentiles_ms

ROOT = Path(__file__).parents[1]


def test_a_short_load_on_the_example_flows_completes_every_call_and_reports_json(tmp_path):
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "loadtest", "flows", "--cps", "5", "--duration", "3"]
        + ["--call-limit", "10", "--max-calls", "30", "--seed", "8", "--skip-case", "FILLER"]
        + ["--prompt-cache", str(tmp_path / "prompts"), "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "key -> next command ms p99" in run.stdout
    report = json.loads(output.read_text())
    calls = report["calls"]
    assert calls["offered"] > 0
    assert calls["failed"] == 0, report["failures"]
    assert calls["unfinished"] == 0
    assert calls["completed"] == calls["offered"]
    assert report["peak_concurrent"] >= 1
    assert report["setup_latency_ms"]["count"] == calls["offered"]
    assert report["reply_latency_ms"]["count"] > 0
    for figure in ("setup_latency_ms", "reply_latency_ms", "generator_loop_lag_ms"):
        assert set(report[figure]) == {"count", *PERCENTILES}
    assert report["events_per_second"] > 0
    assert set(report["controller"]) >= {"cpu_percent", "rss_kb_peak", "kb_per_call"}
    assert report["controller"]["rss_kb_peak"] > 0
    # Cases that wait on a slow back end on purpose were left out; the others are ranked.
    assert report["config"]["skipped_cases_with"] == ["FILLER"]
    assert report["slowest_cases"]
    assert all("filler" not in case["case"] for case in report["slowest_cases"])
    assert "slowest cases (key -> next command)" in run.stdout


def test_skipping_every_case_is_refused_with_a_message():
    run = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "loadtest", "flows", "--skip-case", "a"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--skip-case left no case to call with" in run.stderr


def test_percentiles_are_in_milliseconds_and_empty_when_nothing_was_measured():
    figures = percentiles_ms([0.001, 0.002, 0.003])
    assert figures["count"] == 3
    assert figures["p50"] == 2.0
    assert figures["max"] == 3.0
    assert percentiles_ms([]) == {"count": 0, "p50": None, "p99": None, "p99.9": None, "max": None}
