"""Prometheus metrics of the controller, served at ``/metrics`` on a loopback address.

What a scrape sees (read from the controller at scrape time, nothing polls in between):

- ``ivr_calls_in_progress``: calls the controller is handling now;
- ``ivr_calls_total{outcome}``: finished calls by outcome (DESIGN.md §6), and
  ``ivr_calls_refused_total{reason}``: calls refused over ``--max-calls`` (``max_calls``) or
  while the event loop ran late (``event_loop_lag``, ``--max-lag``);
- ``ivr_event_loop_lag_seconds``: how late the event loop runs (the worst recent lateness,
  halving each second) and ``ivr_overloaded``: 1 while new calls are refused for it;
- ``ivr_queue_waiting{queue}`` and ``ivr_queue_longest_wait_seconds{queue}``: callers on the
  line in each queue and how long the one waiting longest has waited (since first joining a
  line, overflow included); ``ivr_queue_callbacks{queue}``: callbacks keeping a place in line;
- ``ivr_agents{state}``: agents in each state of the pool (``logged_out``, ``available``,
  ``on_break``, ``ringing``, ``on_call``, ``wrap_up``);
- ``ivr_prompt_cache_total{result}``: prompt cache ``hit``s and ``miss``es, counted by the prompt
  code through ``PROMPT_CACHE``;
- ``ivr_journal_pending_records`` and ``ivr_journal_lost_records_total``: journal entries waiting
  for the disk, and entries given up;
- ``ivr_greenlets``: the process's greenlets (calls hold a few each; a count that grows while
  calls do not is a leak), counted at most once a minute as counting walks the whole heap;
- the process's CPU, memory and open files (``process_*``).

The prompt cache counts its own lookups (``ivr.prompts.files.PROMPT_CACHE``); this module only
serves the counter, so prompts know nothing of how metrics are served.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import Counter as Tally
from collections.abc import Iterator
from typing import TYPE_CHECKING

from greenlet import greenlet
from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr.acd import STATES
from ivr.prompts.files import PROMPT_CACHE
from ivr.runtime.record import OUTCOMES
from ivr.wsgi import HttpServer

GREENLET_COUNT_SECONDS = 60.0
"""How long a count of greenlets is served before the heap is walked again."""

if TYPE_CHECKING:
    from ivr.freeswitch.server import Controller
    from ivr.runtime.call import Call
    from ivr.store.writer import JournalWriter

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_metrics_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` for ``--metrics``; only loopback hosts, as metrics name queues and tenants.

    Raises:
        ValueError: not HOST:PORT, or not a loopback host.
    """
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit() or not host:
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:9108")
    if host not in LOOPBACK:
        raise ValueError(
            f"{host} is not a loopback address: metrics are served on 127.0.0.1 only "
            "(let Prometheus scrape through a local agent or a reverse proxy)"
        )
    if int(port) > 65535:
        raise ValueError(f"{text!r}: port {port} is not between 0 and 65535")
    return host, int(port)


class ControllerMetrics(Collector):
    """The controller's metrics, read from it and from the journal writer at each scrape.

    Args:
        controller: the controller whose calls, queues and agents are reported.
        journal: the journal writer, for its backlog (None when there is none).
    """

    def __init__(self, controller: Controller, journal: JournalWriter | None = None) -> None:
        self.controller = controller
        self.journal = journal
        self._greenlets: tuple[float, int] | None = None
        """When the greenlets were last counted (monotonic seconds), and how many there were."""
        self.outcomes: Tally = Tally()
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)
        self.registry.register(PROMPT_CACHE.counter)
        ProcessCollector(registry=self.registry)
        self._server: HttpServer | None = None

    def call_ended(self, call: Call) -> None:
        """Count a finished call by its outcome (the controller's ``on_call_end``)."""
        self.outcomes[call.record.outcome] += 1

    def collect(self) -> Iterator[Metric]:
        """The metrics as they are now (prometheus_client calls this on each scrape)."""
        controller = self.controller
        yield GaugeMetricFamily(
            "ivr_calls_in_progress", "Calls the controller is handling now", len(controller.calls)
        )
        calls = CounterMetricFamily("ivr_calls", "Finished calls by outcome", labels=["outcome"])
        for outcome in OUTCOMES:
            calls.add_metric([outcome], self.outcomes[outcome])
        yield calls
        refused = CounterMetricFamily(
            "ivr_calls_refused",
            "Calls refused: over --max-calls, or while the event loop ran late (--max-lag)",
            labels=["reason"],
        )
        refused.add_metric(["max_calls"], controller.refused - controller.refused_late)
        refused.add_metric(["event_loop_lag"], controller.refused_late)
        yield refused
        yield GaugeMetricFamily(
            "ivr_event_loop_lag_seconds",
            "How late the event loop runs: the worst recent lateness, halving each second",
            controller.lag.seconds,
        )
        yield GaugeMetricFamily(
            "ivr_overloaded",
            "1 while new calls are refused because the event loop runs late",
            int(controller.lag.overloaded),
        )
        yield GaugeMetricFamily(
            "ivr_greenlets",
            "The process's greenlets (counted at most once a minute)",
            self.greenlets(),
        )
        yield from self._queues()
        yield self._agents()
        if self.journal is not None:
            yield GaugeMetricFamily(
                "ivr_journal_pending_records",
                "Journal entries waiting to be written",
                self.journal.pending,
            )
            yield CounterMetricFamily(
                "ivr_journal_lost_records",
                "Journal entries given up (the journal refused them or the disk kept failing)",
                self.journal.failed,
            )

    def greenlets(self) -> int:
        """The process's greenlets, counted again when the last count is a minute old.

        Counting walks every object the collector tracks (tens of ms with thousands of calls up),
        so a scrape every few seconds must not pay it each time.
        """
        now = time.monotonic()
        if self._greenlets is None or now - self._greenlets[0] >= GREENLET_COUNT_SECONDS:
            count = sum(1 for thing in gc.get_objects() if isinstance(thing, greenlet))
            self._greenlets = (now, count)
        return self._greenlets[1]

    def _queues(self) -> Iterator[Metric]:
        pool = self.controller.services.agents
        now = dt.datetime.now(dt.UTC)
        waiting = GaugeMetricFamily(
            "ivr_queue_waiting", "Callers on the line in the queue", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "ivr_queue_longest_wait_seconds",
            "How long the caller waiting longest in the queue has waited (0 when none waits)",
            labels=["queue"],
        )
        callbacks = GaugeMetricFamily(
            "ivr_queue_callbacks", "Callbacks keeping a place in the queue's line", labels=["queue"]
        )
        for name in sorted(set(self.controller.project.queues) | set(pool.lines)):
            line = pool.lines.get(name, [])
            callers = [entry for entry in line if entry.callback is None]
            waiting.add_metric([name], len(callers))
            first = min((entry.arrived for entry in callers), default=None)
            longest.add_metric([name], max((now - first).total_seconds(), 0.0) if first else 0.0)
            callbacks.add_metric([name], len(line) - len(callers))
        yield waiting
        yield longest
        yield callbacks

    def _agents(self) -> Metric:
        counts = Tally(agent.state for agent in self.controller.services.agents.agents.values())
        agents = GaugeMetricFamily("ivr_agents", "Agents by state", labels=["state"])
        for state in STATES:
            agents.add_metric([state], counts[state])
        return agents

    def serve(self, address: tuple[str, int]) -> None:
        """Serve ``/metrics`` at ``address`` (a loopback host) until ``stop()``.

        Raises:
            OSError: the address cannot be listened on.
        """
        metrics = make_wsgi_app(self.registry)

        def app(environ, start_response):
            if environ.get("PATH_INFO") != "/metrics":
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"metrics are at /metrics\n"]
            return metrics(environ, start_response)

        self._server = HttpServer(address, app, log=None)
        self._server.start()

    @property
    def address(self) -> tuple[str, int]:
        """Where ``/metrics`` is served (after ``serve``)."""
        return self._server.address

    def stop(self) -> None:
        """Stop serving ``/metrics``."""
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None
