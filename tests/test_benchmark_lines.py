"""The lines the benchmarks serve behave as their scenarios say, so the figures mean something."""

from pathlib import Path

import pytest

from ivr.cli import main

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("line", ["menu", "hold"])
def test_each_benchmark_line_passes_its_own_scenarios(line, capsys):
    assert main(["test", str(BENCHMARKS / line)]) == 0
    assert "0 failed" in capsys.readouterr().out
