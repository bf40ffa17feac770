"""Under overload the controller refuses new calls, so FreeSWITCH fails them over, and the calls
it is running go on.

A late event loop is what every caller of the controller feels (the next prompt after a key comes
later), so it is the measure: past ``--max-lag`` new calls are refused until the loop is on time
again.
"""

import logging
import time
from pathlib import Path

import gevent
import pytest
from test_controller import HAPPY, SHOP
from test_metrics import samples, scrape

from ivr.freeswitch.server import Controller
from ivr.metrics import ControllerMetrics
from ivr.project import load_project
from ivr.prompts.files import PromptFiles
from ivr.runtime.lag import HALF_LIFE, LoopLag
from ivr.simulator import SimulatedFreeSWITCH

FLOWS = Path(__file__).parents[1] / "flows"


def test_a_late_loop_turns_overload_on_once_and_off_only_well_under_the_limit(caplog):
    caplog.set_level(logging.WARNING, logger="ivr")
    lag = LoopLag(0.2)
    lag.tick(0.01, 0.06)
    assert not lag.overloaded
    lag.tick(0.25, 0.3)
    lag.tick(0.22, 0.27)
    assert lag.overloaded
    # Decaying but still above half the limit: still refusing, so calls do not flap in and out.
    lag.tick(0.0, HALF_LIFE)
    assert lag.overloaded
    lag.tick(0.0, HALF_LIFE)
    assert not lag.overloaded
    assert [m for m in caplog.messages if "event loop" in m] == [
        "the event loop runs 250 ms late (limit 200 ms): refusing new calls",
        "the event loop runs 55 ms late again: taking new calls",
    ]


def test_without_a_limit_a_late_loop_is_measured_but_never_refuses():
    lag = LoopLag(None)
    lag.tick(5.0, 5.05)
    assert lag.seconds == 5.0 and lag.worst == 5.0
    assert not lag.overloaded


def test_while_the_loop_runs_late_new_calls_are_refused_and_the_running_call_goes_on(tmp_path):
    ctl = Controller(
        load_project(FLOWS),
        ("127.0.0.1", 0),
        PromptFiles(tmp_path / "prompts", FLOWS),
        max_lag=0.2,
    )
    ctl.start()
    metrics = ControllerMetrics(ctl)
    metrics.serve(("127.0.0.1", 0))
    sim = SimulatedFreeSWITCH(ctl.address, virtual_time=False, default_agent="available")
    running = sim.place_call(None, dialed=SHOP)  # an interactive caller who stays on the line
    with gevent.Timeout(10):
        while ctl.served < 1:
            gevent.sleep(0.01)
    # The fault: something holds the event loop (a CPU-bound burst) for longer than the limit.
    gevent.spawn(hold_the_loop, 0.5).join()
    with gevent.Timeout(10):
        while not ctl.lag.overloaded:
            gevent.sleep(0.01)
    refused = sim.place_call(list(HAPPY), dialed=SHOP)
    assert refused.wait(timeout=10)
    assert ctl.refused == 1 and ctl.served == 1
    assert not running.done
    now = samples(scrape(metrics.address)[1])
    assert now[("ivr_overloaded",)] == 1
    assert now[("ivr_event_loop_lag_seconds",)] >= 0.1
    assert now[("ivr_calls_refused_total", ("reason", "event_loop_lag"))] == 1
    assert now[("ivr_calls_refused_total", ("reason", "max_calls"))] == 0
    with gevent.Timeout(10):
        while ctl.lag.overloaded:
            gevent.sleep(0.01)
    # On time again: the next caller is taken.
    taken = sim.place_call(None, dialed=SHOP)
    with gevent.Timeout(10):
        while ctl.served < 2:
            gevent.sleep(0.01)
    assert ctl.refused == 1
    assert samples(scrape(metrics.address)[1])[("ivr_overloaded",)] == 0
    taken.hangup()
    assert taken.wait(timeout=10)
    running.hangup()
    assert running.wait(timeout=10)
    sim.close()
    metrics.stop()
    ctl.drain(timeout=5)


def hold_the_loop(seconds: float) -> None:
    """Compute without yielding for ``seconds``, as a CPU-bound burst does."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.parametrize("value", ["abc", "nan", "-5", "1e9"])
def test_ivr_serve_refuses_a_max_lag_that_is_not_milliseconds(value, capsys):
    from ivr.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(FLOWS), "--max-lag", value])
    assert exit_.value.code == 2
    assert f"'{value}' is not milliseconds between 0 and 60000" in capsys.readouterr().err
