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


def _real_fs_load():
    """benchmarks/real_fs_load.py as a module (it imports its neighbours as a script does)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import real_fs_load
    finally:
        sys.path.remove(str(BENCHMARKS))
    return real_fs_load


def test_a_load_step_the_generator_placed_late_gives_a_lower_bound_not_a_maximum():
    bench = _real_fs_load()
    on_time = bench.CallResult(setup=0.05, key_to_prompt=0.02, lag=0.001)
    late = bench.CallResult(setup=0.05, key_to_prompt=0.02, lag=bench.LAG_LIMIT * 3)
    steps = [
        bench.StepResult("plain", 10, calls=[on_time] * 100),
        bench.StepResult("plain", 20, calls=[on_time] * 150 + [late] * 50),
    ]
    best, end = bench.maximum(steps, setup_limit=1.0)
    assert best == 10
    assert end.startswith("at least: the generator could not offer 20 CPS (not offered:")


def test_a_load_step_with_a_failed_call_ends_the_climb_at_the_rate_before():
    bench = _real_fs_load()
    on_time = bench.CallResult(setup=0.05, key_to_prompt=0.02, lag=0.001)
    failed = bench.CallResult(failure="no prompt within 5s", lag=0.001)
    steps = [
        bench.StepResult("ivr", 10, calls=[on_time] * 100),
        bench.StepResult("ivr", 20, calls=[on_time] * 199 + [failed]),
    ]
    assert bench.maximum(steps, setup_limit=1.0) == (
        10,
        "the step at 20 CPS: 1 failed (1: no prompt within 5s)",
    )
