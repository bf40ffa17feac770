"""A sensitive entry (a PIN) is kept from everything a person reads after the call.

The caller's keys reach the flow, and the lookup it is for; the controller's debug log, the
journal's file, and the reports in every format hold only its mask.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

PIN = "918273645"

FLOW = """\
    flow: default
    start: pin
    data:
      accounts: {csv: data/accounts.csv, key: pin}
    nodes:
      pin:
        type: input
        prompt: "Enter your PIN."
        digits: {min: 4, max: 12}
        sensitive: true
        save_as: pin
        next: check
        on_fail: bye
      check:
        type: lookup
        source: accounts
        key: "{{ pin }}"
        save_as: account
        found: welcome
        not_found: bye
        on_error: bye
      welcome:
        type: hangup
        prompt: "Hello {{ account.name }}."
      bye:
        type: hangup
        prompt: "Goodbye."
"""
CASES = f"""\
    flow: default
    cases:
      - name: the right PIN finds the account
        steps:
          - hear: "Enter your PIN"
          - press: "{PIN}#"
          - hear: "Hello Ann"
"""


def ivr(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", *argv], cwd=cwd, capture_output=True, text=True
    )


def test_a_sensitive_pin_is_in_no_log_journal_or_report_but_its_lookup_finds_the_account(
    tmp_path,
):
    flows = tmp_path / "flows"
    (flows / "data").mkdir(parents=True)
    (flows / "pin.yaml").write_text(dedent(FLOW))
    (flows / "pin.test.yaml").write_text(dedent(CASES))
    (flows / "data" / "accounts.csv").write_text(f"pin,name\n{PIN},Ann\n")

    # The call runs through the controller and the simulated FreeSWITCH, logging at debug.
    run = ivr("-vv", "test", "--via-esl", "--journal", "journal.sqlite", "flows", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout
    assert "pin:input" in run.stderr  # the debug log did run
    outputs = {"the debug log": run.stderr}
    for fmt in ("table", "csv", "html"):
        report = ivr(
            "report",
            "--journal",
            "journal.sqlite",
            "--format",
            fmt,
            "--output",
            f"r.{fmt}",
            cwd=tmp_path,
        )
        assert report.returncode == 0, report.stderr
        outputs[f"the {fmt} report"] = (tmp_path / f"r.{fmt}").read_text() + report.stdout
    for journal in tmp_path.glob("journal.sqlite*"):
        outputs[journal.name] = journal.read_bytes().decode("latin-1")

    assert {where: PIN in text for where, text in outputs.items()} == dict.fromkeys(outputs, False)
    assert "*" * len(PIN) in outputs["journal.sqlite"]
