"""What must hold after any run, however it went: nothing lost, stuck, duplicated or leaked.

Take a ``Baseline`` before the run (after the controller started: its own server and timer
greenlets are not leaks), run the calls, then ``check(...)`` returns the broken rules as
sentences, or ``assert_invariants(...)`` fails with all of them::

    baseline = Baseline.take()
    ... place calls, wait for them ...
    assert_invariants(calls=sim.calls, records=ended, center=center, baseline=baseline)

The rules:

- every call that reached the controller (the simulated FreeSWITCH saw its ``connect``) has
  exactly one closed record (an outcome and an end) in what the journal got; one ending as an
  ``error`` carries its reason (a lost connection, a lost event), never a bare error; an agent's
  call for a callback has no record of its own (the callback is journaled instead);
- the controller runs no call any more (none left in ``live`` or ``sessions``);
- no agent is ringing or on a call for a call that is not running, and no caller waits in a line
  for a call that has ended (a callback keeps its place: that is not a caller waiting);
- every callback asked for is kept (waiting in line), dialled to an end (answered, or given
  up after its attempts) or journaled, and none is kept twice or both kept and answered;
- greenlets, open file descriptors and sockets are back to the baseline, and memory near it.

Memory is measured with ``tracemalloc`` when it is tracing (``Baseline.take(trace=True)``
starts it): it counts the Python objects still alive, exactly, whatever the allocator keeps
in its arenas, so the tolerance can be small (``MEMORY_TOLERANCE_TRACED``, 2 MiB: a cache of
rendered prompts, interned strings and the logging module's records). Without it the resident
set size from ``/proc/self/statm`` is used with a wide tolerance (``MEMORY_TOLERANCE_RSS``,
64 MiB): freed memory often stays with the process, so only a real leak of many calls shows.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import gevent

from ivr.acd.model import IN_A_CALL
from ivr.errors import IvrError
from ivr.runtime.record import OUTCOMES, CallRecord

__all__ = ["Baseline", "InvariantsBroken", "assert_invariants", "check"]

MEMORY_TOLERANCE_TRACED = 2 * 1024 * 1024
"""Bytes traced memory may stay above the baseline."""
MEMORY_TOLERANCE_RSS = 64 * 1024 * 1024
"""Bytes the resident set may stay above the baseline."""
SETTLE_SECONDS = 5.0
"""Real seconds greenlets and sockets get to finish closing before they count as leaked."""
_PAGE = os.sysconf("SC_PAGE_SIZE")
_CALLBACK_VARIABLE = "ivr_callback"


class InvariantsBroken(IvrError, AssertionError):
    """Some invariant did not hold after a run; the message lists every one that broke."""


@dataclass(frozen=True)
class Baseline:
    """Greenlets, file descriptors, sockets and memory before a run.

    Attributes:
        greenlets: gevent greenlets alive (not finished).
        fds: open file descriptors of the process.
        sockets: those of them that are sockets.
        memory: bytes of memory (traced, or resident).
        traced: whether ``memory`` is tracemalloc's (else the resident set size).
    """

    greenlets: int
    fds: int
    sockets: int
    memory: int
    traced: bool

    @classmethod
    def take(cls, *, trace: bool = False) -> Baseline:
        """Measure now; ``trace`` starts tracemalloc first (more exact, slower calls)."""
        if trace and not tracemalloc.is_tracing():
            tracemalloc.start()
        return _measure()


def _measure() -> Baseline:
    gc.collect()
    # gevent's own Greenlets only: a thread pool's workers and hubs are the pool's, kept on
    # purpose (at most its maxsize), and not anything a call started.
    alive = sum(1 for o in gc.get_objects() if isinstance(o, gevent.Greenlet) and not o.dead)
    fds = os.listdir("/proc/self/fd")
    sockets = 0
    for fd in fds:
        try:
            sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # the listing's own descriptor, closed by now
            continue
    traced = tracemalloc.is_tracing()
    if traced:
        memory = tracemalloc.get_traced_memory()[0]
    else:
        with open("/proc/self/statm") as statm:
            memory = int(statm.read().split()[1]) * _PAGE
    return Baseline(alive, len(fds), sockets, memory, traced)


def check(
    *,
    calls: Iterable[Any] = (),
    records: Iterable[Any] | None = None,
    controller: Any = None,
    center: Any = None,
    baseline: Baseline | None = None,
    settle: float = SETTLE_SECONDS,
) -> list[str]:
    """The invariants broken after a run, as sentences (empty: all hold).

    Args:
        calls: the simulated calls placed (``SimulatedFreeSWITCH.calls``).
        records: what the journal got: ``Call``, ``CallRecord`` or ``JournalEntry`` objects,
            or a ``Journal`` (all its entries are read); None skips the journal's rules.
        controller: the ``Controller`` (checked to run no call any more).
        center: the ``ContactCenter``, or its ``CallServices`` (``agents``, ``callbacks``).
        baseline: what the run started from; None skips the leak rules.
        settle: real seconds to let closing greenlets and sockets finish first.
    """
    calls = list(calls)
    found: list[str] = []
    kept = _records(records) if records is not None else None
    if kept is not None:
        found += _check_records(calls, kept)
    live: set[str] = set()
    if controller is not None:
        live = set(controller.live)
        if live or controller.sessions:
            found.append(
                f"the controller still runs {len(live | set(controller.sessions))} call(s): "
                f"{', '.join(sorted(live | set(controller.sessions)))}"
            )
    if center is not None:
        pool = getattr(center, "pool", None) or center.agents
        service = center.callbacks
        found += _check_agents(pool, service, live)
        found += _check_callbacks(pool, service, kept or [], live)
    if baseline is not None:
        found += _check_leaks(baseline, settle)
    return found


def assert_invariants(**kwargs: Any) -> None:
    """``check`` and raise ``InvariantsBroken`` listing every broken invariant."""
    broken = check(**kwargs)
    if broken:
        raise InvariantsBroken(
            f"{len(broken)} invariant(s) broken:\n" + "\n".join(f"- {b}" for b in broken)
        )


def _records(source: Any) -> list[CallRecord]:
    if hasattr(source, "entries"):
        from ivr.store.journal import CallFilter

        source = source.entries(CallFilter())
    out = []
    for item in source:
        record = getattr(item, "record", item)
        out.append(record)
    return out


def _reached(call: Any) -> bool:
    return any(command.name == "connect" for command in call.commands)


def _check_records(calls: list[Any], records: list[CallRecord]) -> list[str]:
    found = []
    count = Counter(record.call_id for record in records)
    for call_id, times in count.items():
        if times > 1:
            found.append(f"call {call_id} has {times} journal entries, not one")
    for record in records:
        if record.outcome not in OUTCOMES:
            found.append(f"call {record.call_id} has no outcome ({record.outcome!r})")
        if record.ended_at is None:
            found.append(f"call {record.call_id} has a journal entry that is not closed")
        if record.outcome == "error" and not record.error:
            found.append(f"call {record.call_id} ended as an error with no reason")
    for call in calls:
        if not _reached(call) or call.variables.get(_CALLBACK_VARIABLE):
            continue
        if call.uuid not in count:
            struck = getattr(call.faults, "struck", None) or []
            what = f" (faults: {'; '.join(struck)})" if struck else ""
            found.append(f"call {call.uuid} reached the controller but has no journal entry{what}")
    return found


def _check_agents(pool: Any, service: Any, live: set[str]) -> list[str]:
    found = []
    for agent in pool.agents.values():
        if agent.state not in IN_A_CALL:
            continue
        if agent.call_id in live or (agent.call_id and service.is_live(agent.call_id)):
            continue
        found.append(
            f"agent {agent.id} is {agent.state} for call {agent.call_id or '(none)'}, "
            "which is not running"
        )
    for queue, line in pool.lines.items():
        for entry in line:
            if entry.callback is None and entry.call_id not in live:
                found.append(f"call {entry.call_id} still waits in queue {queue} after it ended")
    return found


def _check_callbacks(
    pool: Any, service: Any, records: list[CallRecord], live: set[str]
) -> list[str]:
    found = []
    in_line = Counter(
        entry.call_id for line in pool.lines.values() for entry in line if entry.callback
    )
    for call_id, times in in_line.items():
        if times > 1:
            found.append(f"the callback of call {call_id} is in line {times} times")
    for record in records:
        if record.callback is None:
            continue
        result = service.results.get(record.call_id)
        kept = record.call_id in in_line or record.call_id in pool.callbacks
        if result is None and not kept:
            found.append(f"the callback call {record.call_id} asked for is lost")
            continue
        status = result.status if result is not None else "scheduled"
        if status == "answered" and kept:
            found.append(f"the callback of call {record.call_id} was answered and is still kept")
        elif status in ("scheduled", "dialing") and not kept:
            if not service.is_live(f"callback:{record.call_id}"):
                found.append(
                    f"the callback of call {record.call_id} is {status} but neither in line "
                    "nor being dialled"
                )
    return found


def _check_leaks(baseline: Baseline, settle: float) -> list[str]:
    deadline = settle
    while True:
        now = _measure()
        found = _leaks(baseline, now)
        if not found or deadline <= 0:
            return found
        gevent.sleep(0.05)
        deadline -= 0.05


def _leaks(before: Baseline, now: Baseline) -> list[str]:
    found = []
    if now.greenlets > before.greenlets:
        found.append(f"{now.greenlets - before.greenlets} greenlet(s) leaked")
    if now.fds > before.fds:
        found.append(
            f"{now.fds - before.fds} file descriptor(s) leaked "
            f"({now.sockets - before.sockets} of them sockets)"
        )
    if now.traced != before.traced:
        found.append("memory was measured differently before and after (tracemalloc)")
        return found
    tolerance = MEMORY_TOLERANCE_TRACED if now.traced else MEMORY_TOLERANCE_RSS
    grown = now.memory - before.memory
    if grown > tolerance:
        found.append(
            f"memory grew by {grown / 2**20:.1f} MiB "
            f"({'traced' if now.traced else 'resident'}; tolerance {tolerance / 2**20:g} MiB)"
        )
    return found
