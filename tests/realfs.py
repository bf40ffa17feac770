"""Helpers of the tests that run against a real FreeSWITCH: its events, and files it can read.

FreeSWITCH runs as its own user, so what it must play (prompts) lives in folders that user can
read; pytest's own temporary folders are private to the user running the tests.
"""

from __future__ import annotations

import ipaddress
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from gevent.queue import Empty, Queue

from ivr.freeswitch.esl import ESLMessage
from ivr.freeswitch.inbound import InboundClient


def events_of(client: InboundClient, *names: str) -> Queue:
    """Subscribe to the events ``names`` and collect them from now on, in arrival order."""
    received = Queue()
    client.subscribe(list(names))
    for name in names:
        client.on_event(name, received.put)
    return received


def next_event(
    events: Queue, matches: Callable[[ESLMessage], bool], what: str, timeout: float = 10.0
) -> ESLMessage:
    """The first collected event that ``matches``; the test fails when none comes in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            message = events.get(timeout=max(deadline - time.monotonic(), 0))
        except Empty:
            pytest.fail(f"FreeSWITCH sent no {what} within {timeout:g}s")
        if matches(message):
            return message


def is_loopback(host: str) -> bool:
    """Whether a FreeSWITCH at ``host`` can reach a controller listening on our 127.0.0.1."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@contextmanager
def readable_dir() -> Iterator[Path]:
    """A temporary folder that FreeSWITCH's own user can read, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ivr-fs-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
