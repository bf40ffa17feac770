"""A finished call is freed at once, not left for the cycle collector.

Serving processes run the full collection on a timer only (ivr/gc_policy.py), so a call whose
objects formed a reference cycle would hold its memory for minutes. These tests run calls with
the collector off and look for what is left.
"""

import gc
import types
from pathlib import Path

import pytest
from flowkit import call, press
from test_data_filler import bank
from test_http_sources import BackEnd, Reply

from ivr.freeswitch.channel import FreeSwitchChannel
from ivr.freeswitch.esl import ESLParser
from ivr.freeswitch.session import OutboundSession
from ivr.runtime.call import Call
from ivr.testing.runner import run_scenario_files

FLOWS = Path(__file__).parents[1] / "flows"


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def _alive(*kinds: type) -> list:
    return [o for o in gc.get_objects() if isinstance(o, kinds)]


def _frames_of(*functions: str) -> list[str]:
    return [
        f"{o.f_code.co_filename}:{o.f_code.co_name}"
        for o in gc.get_objects()
        if isinstance(o, types.FrameType)
        and o.f_code.co_name in functions
        and "/ivr/" in o.f_code.co_filename
    ]


def test_calls_through_the_controller_leave_no_session_channel_or_call_behind(collector_off):
    summary = run_scenario_files(
        [FLOWS / "order_status.test.yaml"], lambda line: None, via_esl=True
    )
    assert summary.passed > 5 and summary.failed == 0
    assert _alive(Call, OutboundSession, FreeSwitchChannel, ESLParser) == []


def test_a_back_end_that_times_out_leaves_no_frames_behind(tmp_path, collector_off):
    backend = BackEnd()
    try:
        backend.answer("/orders/123", Reply(json={"status": "late"}, delay=5))
        result = call(bank(tmp_path, backend, timeout="400ms"), press("123"))
        assert result.record.lookups == [("find", "orders", "timeout")]
        del result
    finally:
        backend.close()
    # The timeout is raised through the attempt and the filler's wait: their frames must not
    # be kept alive by the exception they raised.
    assert _frames_of("_attempt", "wait_for", "ask") == []
