"""A serving process collects its oldest garbage on a timer, never in the middle of a burst."""

import gc
import weakref

import gevent
import pytest

from ivr.cli import main
from ivr.gc_policy import collect_for_measuring, collect_for_serving, full_collection


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    enabled = gc.isenabled()
    tracked = gevent.config.track_greenlet_tree
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()
    gevent.config.track_greenlet_tree = tracked


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector can free it


def _old_cycle() -> weakref.ref:
    """A cycle that has outlived the young generations, then became garbage."""
    node = Node()
    gc.collect(1)  # survivors of a generation-1 collection move to the oldest generation
    return weakref.ref(node)


def test_serving_freezes_the_start_up_heap_and_collects_old_cycles_on_its_timer(restore_gc):
    timer = collect_for_serving(full_every=0.05)
    try:
        assert gc.get_freeze_count() > 0
        assert not gc.isenabled()  # no automatic collection
        gone = _old_cycle()
        with gevent.Timeout(5):
            while gone() is not None:
                gevent.sleep(0.01)
    finally:
        timer.kill()


def test_no_collection_pauses_the_calls_between_the_timed_ones(restore_gc):
    timer = collect_for_serving(full_every=3600)
    try:
        node = Node()
        cycle = weakref.ref(node)
        del node
        churn = [[n] for n in range(100_000)]  # far past every automatic threshold
        del churn
        assert cycle() is not None  # nothing scanned the heap...
        full_collection()
        assert cycle() is None  # ...until the timed collection
    finally:
        timer.kill()


def test_zero_keeps_pythons_own_collection_policy(restore_gc):
    before = gc.get_threshold()
    assert collect_for_serving(full_every=0) is None
    assert gc.get_threshold() == before and gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_load_generator_never_pauses_for_a_full_collection_until_it_asks(restore_gc):
    collect_for_measuring()
    assert gc.get_freeze_count() > 0
    assert not gc.isenabled()
    kept = _old_cycle()
    for _ in range(3):
        gc.collect(1)
    gevent.sleep(0.1)
    assert kept() is not None  # no timer, no automatic full collection
    freed, _ = full_collection()
    assert freed >= 1 and kept() is None


def test_serve_refuses_a_negative_collection_interval(capsys):
    assert main(["serve", "flows", "--gc-full-every", "-1"]) == 2
    assert "--gc-full-every must be 0 or more" in capsys.readouterr().err
