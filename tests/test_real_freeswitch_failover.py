"""A caller to the IVR number is never lost with the controller, on a real FreeSWITCH.

These need FreeSWITCH with our configuration installed (``ivr freeswitch-conf install``, as
scripts/test does with the FreeSWITCH beside the repository): the dialplan sends 18005550100 to
the controller at its global ``ivr_controller`` (127.0.0.1:8084 as installed) and, when it
is down, refuses or dies mid-call, apologises and rings the ``ivr_fallback`` operators. The
caller is a loopback channel dialling that number.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import gevent
import pytest
from realfs import (
    IVR_NUMBER,
    call_the_ivr_number,
    events_of,
    expect_failover,
    in_the_menu,
    is_loopback,
    readable_dir,
    wait_for,
)
from test_overload import hold_the_loop

from ivr.freeswitch.inbound import InboundClient
from ivr.freeswitch.server import Controller
from ivr.project import load_project
from ivr.prompts.files import PromptFiles

SLOW_FLOW = """\
    flow: default
    start: menu
    nodes:
      menu:
        type: menu
        prompt: "For sales press 1."
        choices: {1: bye}
        timeout: 60s
        attempts: 1
        on_fail: bye
      bye:
        type: hangup
"""


@pytest.fixture
def fs(freeswitch):
    if not is_loopback(freeswitch.host):
        pytest.skip(f"FreeSWITCH at {freeswitch.host} cannot reach a controller on our 127.0.0.1")
    client = InboundClient.connect(freeswitch.host, freeswitch.port, password=freeswitch.password)
    controller = client.global_getvar("ivr_controller")
    if not controller:
        client.close()
        pytest.skip(
            f"FreeSWITCH at {freeswitch.host} has no ivr_controller variable: our configuration "
            "is not installed (ivr freeswitch-conf install)"
        )
    yield client
    client.api(f"hupall NORMAL_CLEARING Caller-Destination-Number {IVR_NUMBER}")
    client.close()


def test_with_the_controller_down_the_caller_hears_the_apology_and_the_operators_ring(fs):
    events = events_of(fs, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
    call_the_ivr_number(fs)

    assert expect_failover(events).get("Application-Response") == "FILE PLAYED"


@pytest.fixture
def serving(fs):
    """Starts ``ivr serve`` where the dialplan sends calls (``ivr_controller``), in a process."""
    listen = fs.global_getvar("ivr_controller").split("|")[0]
    processes = []

    def start(flows: Path, prompts: Path, *extra: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ivr.cli",
                "serve",
                str(flows),
                "--listen",
                listen,
                "--prompt-cache",
                str(prompts),
                "--journal",
                str(prompts / "journal.sqlite"),
                "--store",
                str(prompts / "acd.sqlite"),
                "--api",
                "off",
                *extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        processes.append(process)
        banner = process.stdout.readline()
        assert banner.startswith("ivr: serving"), banner
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdout.close()


def test_a_controller_killed_mid_call_hands_its_caller_to_the_fallback_operators(fs, serving):
    with readable_dir() as work:
        (work / "flows").mkdir()
        (work / "flows" / "default.yaml").write_text(dedent(SLOW_FLOW))
        controller = serving(work / "flows", work)
        events = events_of(fs, "CHANNEL_ANSWER", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
        call_the_ivr_number(fs)
        # The controller answers and reads the menu; the caller is inside the flow.
        menu_leg = in_the_menu(events)

        controller.send_signal(signal.SIGKILL)

        apology = expect_failover(events, leg=menu_leg)
        assert apology.unique_id == menu_leg
        assert apology.get("Application-Response") == "FILE PLAYED"


def test_a_controller_at_its_call_limit_refuses_and_the_caller_fails_over(fs, serving):
    with readable_dir() as work:
        (work / "flows").mkdir()
        (work / "flows" / "default.yaml").write_text(dedent(SLOW_FLOW))
        serving(work / "flows", work, "--max-calls", "0")
        events = events_of(fs, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")

        call_the_ivr_number(fs)

        assert expect_failover(events).get("Application-Response") == "FILE PLAYED"


def test_a_controller_whose_event_loop_runs_late_refuses_and_the_caller_fails_over(fs, tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "default.yaml").write_text(dedent(SLOW_FLOW))
    project = load_project(tmp_path / "flows")
    controller = Controller(
        project, ("127.0.0.1", 0), PromptFiles(tmp_path / "prompts", tmp_path), max_lag=0.2
    )
    controller.start()
    events = events_of(fs, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
    try:
        # The fault: a CPU-bound burst holds the event loop for longer than the limit.
        gevent.spawn(hold_the_loop, 1.0).join()
        wait_for(lambda: controller.lag.overloaded, "the controller to see its loop run late")
        host, port = controller.address
        fs.originate(
            f"loopback/{IVR_NUMBER}/default",
            "&park",
            variables={"ivr_controller": f"{host}:{port}"},
            timeout=20,
        )
        assert expect_failover(events).get("Application-Response") == "FILE PLAYED"
        assert controller.refused_late == 1 and controller.served == 0
    finally:
        controller.drain(timeout=5)
