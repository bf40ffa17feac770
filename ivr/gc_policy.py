"""How a serving process collects garbage: no collector pause in the middle of the calls.

CPython's collector scans its oldest generation whenever the heap has grown by a quarter since
the last such scan. A controller's heap is mostly the state of live calls, renewed every call
length, so at 100 calls per second with 2,000 calls up it scanned 300,000 objects every few
seconds and stopped every call for 100 to 500 ms each time (measured with ``ivr loadtest``).
Its young collections are no cheaper at that size: each checks every reference of the young
objects against a 270 MB heap, and took 40 to 60 ms at 2,500 calls.

Calls need neither. A finished call is freed by reference counting as soon as it ends
(``tests/test_no_cycles.py`` holds that): after 5,000 calls at 100 per second the collector found
60 objects to free. Serving processes therefore:

- freeze what exists after start-up (modules, compiled flows, templates, prompt tables): it
  lives as long as the process and is never scanned again;
- turn the automatic collector off and run a full collection on a timer instead (every
  ``--gc-full-every`` seconds, 300 by default), logged with how long it took, so the one
  remaining pause is rare, known and visible (about 200 ms with 2,500 calls up). Whatever cycles
  some rare path leaves behind wait at most that long.
"""

from __future__ import annotations

import gc
import logging
import time

import gevent

log = logging.getLogger("ivr.gc")

FULL_EVERY_DEFAULT = 300.0
"""Seconds between full collections in a serving process."""


def collect_for_serving(full_every: float = FULL_EVERY_DEFAULT) -> gevent.Greenlet | None:
    """Freeze the start-up heap and replace automatic collections with a timed full one.

    Call it once the process has loaded what it serves and before calls arrive.

    Args:
        full_every: seconds between full collections; 0 leaves CPython's own policy alone.

    Returns:
        The greenlet running the timed full collections (None with ``full_every`` 0).
    """
    if full_every <= 0:
        return None
    _freeze_and_stop_collecting()
    return gevent.spawn(_collect_every, full_every)


def collect_for_measuring() -> None:
    """Freeze the start-up heap and turn automatic collections off, with no timer either.

    For a load generator: it times another process, so a pause of its own reads as that
    process's latency (a timed full collection of a generator holding a ladder's worth of calls
    stopped it for 1.9 s). It runs for a bounded time and keeps its calls for the report anyway;
    run ``full_collection()`` between measurements, while nothing is timed.
    """
    _freeze_and_stop_collecting()


def _freeze_and_stop_collecting() -> None:
    # Gevent records every greenlet's spawning stack for debugging: several objects per call
    # that only a debugger reads.
    gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()
    gc.disable()


def full_collection() -> tuple[int, float]:
    """Run a full collection now; return (objects freed, seconds it took) and log them."""
    started = time.perf_counter()
    freed = gc.collect()
    took = time.perf_counter() - started
    log.info("full garbage collection: %d objects freed in %.0f ms", freed, took * 1000.0)
    return freed, took


def _collect_every(seconds: float) -> None:
    while True:
        gevent.sleep(seconds)
        full_collection()
