"""docs/outbound.md's examples run and print what the page says they print."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGE = (ROOT / "docs" / "outbound.md").read_text()


def _block(language: str) -> str:
    return re.search(rf"```{language}\n(.*?)```", PAGE, re.S).group(1)


def _run_the_shell_example(folder: Path) -> subprocess.CompletedProcess:
    script = _block("sh").replace("/tmp/demo", str(folder))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_validate_example_passes_with_the_warnings_the_page_shows(tmp_path):
    run = _run_the_shell_example(tmp_path / "demo")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == _block("text")


def test_the_python_example_prints_the_decisions_the_page_describes(tmp_path):
    folder = tmp_path / "demo"
    assert _run_the_shell_example(folder).returncode == 0
    code = _block("python").replace("/tmp/demo", str(folder))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("c-101 Decision(dial=False, reason='outside_window'")
    assert "datetime(2026, 11, 2, 14, 0" in lines[0]
    assert lines[1].startswith("c-102 Decision(dial=False, reason='dnc', not_before=None)")
    assert "reason='outside_window'" in lines[2] and "datetime(2026, 11, 3, 7, 0" in lines[2]
