"""The lines the benchmarks serve behave as their scenarios say, so the figures mean something."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import main

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
FREESWITCH_PREFIX = Path(os.environ.get("IVR_FS_PREFIX", "/opt/fs"))
"""An installed FreeSWITCH, whose binary real_fs_load.py starts on a configuration of its own."""


@pytest.mark.parametrize("line", ["menu", "hold"])
def test_each_benchmark_line_passes_its_own_scenarios(line, capsys):
    assert main(["test", str(BENCHMARKS / line)]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_real_freeswitch_load_serves_both_menus_and_prints_both_maxima():
    if not (FREESWITCH_PREFIX / "bin" / "freeswitch").is_file():
        pytest.skip(f"no installed FreeSWITCH at {FREESWITCH_PREFIX} (set IVR_FS_PREFIX)")
    # One low step with short prompts: every call of both menus must go its whole way.
    command = [sys.executable, str(BENCHMARKS / "real_fs_load.py"), "--prefix"]
    command += [str(FREESWITCH_PREFIX), "--steps", "2", "--step-seconds", "1"]
    command += ["--prompt-seconds", "0.2", "--max-seconds", "60"]
    benchmark = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = benchmark.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: the benchmark then stops the FreeSWITCH it started.
        benchmark.terminate()
        out, err = benchmark.communicate()
        pytest.fail(f"real_fs_load.py did not end within 120 s: {err}")
    assert benchmark.returncode == 0, err
    lines = out.splitlines()
    assert (
        "maximum, plain dialplan: 2 CPS (at least: no step failed before the ladder ended)" in lines
    )
    assert (
        "maximum, ivr controller: 2 CPS (at least: no step failed before the ladder ended)" in lines
    )
    assert "ratio, ivr controller / plain dialplan: 1.00 (goal: 0.9 or more)" in lines
