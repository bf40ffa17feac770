"""``ivr test --via-freeswitch``: scenario files run as real calls through a real FreeSWITCH.

These need FreeSWITCH with our configuration installed (``ivr freeswitch-conf install``): each
case's call dials the IVR number, whose extension hands it to the runner's own controller.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest
from realfs import is_loopback

from ivr.freeswitch.inbound import InboundClient

FLOW = """\
    flow: desk
    start: menu
    nodes:
      menu:
        type: menu
        prompt: "For our hours press 1. To leave a message press 2."
        choices: {1: hours, 2: message}
        timeout: 3s
        attempts: 1
        on_fail: bye
      hours:
        type: play
        prompt: "We are open from nine to five."
        next: bye
      message:
        type: record
        prompt: "Please leave a message."
        max: 2s
        beep: false
        next: bye
      bye:
        type: hangup
        prompt: "Goodbye."
"""
SCENARIO = """\
    flow: desk
    cases:
      - name: the hours
        steps:
          - hear: "For our hours press 1"
          - press: "1"
          - hear: "We are open from nine to five"
          - hear: "Goodbye"
        expect:
          path: [menu, hours, bye]
          outcome: completed

      - name: a message left
        steps:
          - press: "2"
          - hear: "Please leave a message"
          - hear: "Goodbye"
        expect:
          path: [menu, message, bye]
          outcome: voicemail

      - name: a caller who waits on the line for five minutes
        steps:
          - wait: 5m
        expect:
          outcome: completed

      - name: an expectation the call does not meet
        steps:
          - press: "1"
          - hear: "We are open"
        expect:
          outcome: transferred
"""


@pytest.fixture
def fs_address(freeswitch) -> str:
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    client = InboundClient.connect(freeswitch.host, freeswitch.port, password=freeswitch.password)
    try:
        if not client.global_getvar("ivr_controller"):
            pytest.skip(
                f"FreeSWITCH at {freeswitch.host} has no ivr_controller variable: our "
                "configuration is not installed (ivr freeswitch-conf install)"
            )
    finally:
        client.close()
    return f"{freeswitch.host}:{freeswitch.port}"


def run_via_freeswitch(freeswitch, address: str, folder: Path, *extra: str):
    return subprocess.run(
        [sys.executable, "-m", "ivr.cli", "test", "--via-freeswitch", address]
        + ["--fs-password", freeswitch.password, str(folder), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cases_pass_fail_and_long_waits_are_skipped_on_the_real_freeswitch(
    freeswitch, fs_address, tmp_path: Path
):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "desk.yaml").write_text(dedent(FLOW))
    (flows / "desk.test.yaml").write_text(dedent(SCENARIO))

    done = run_via_freeswitch(freeswitch, fs_address, flows)

    lines = done.stdout.splitlines()
    assert "PASS  " + str(flows / "desk.test.yaml") + ": the hours" in lines, done.stdout
    # FreeSWITCH wrote the voicemail where the controller said (it hangs up when it cannot).
    assert "PASS  " + str(flows / "desk.test.yaml") + ": a message left" in lines, done.stdout
    assert (
        "SKIP  " + str(flows / "desk.test.yaml") + ": a caller who waits on the line for five "
        "minutes (waits 5m in real time, more than --max-wait 1m)"
    ) in lines, done.stdout
    assert "FAIL  " + str(flows / "desk.test.yaml") + ": an expectation the call does not meet" in (
        lines
    ), done.stdout
    assert "expected outcome 'transferred', got 'completed'" in done.stdout
    assert lines[-1] == "2 passed, 1 failed, 1 skipped"
    assert done.returncode == 1
