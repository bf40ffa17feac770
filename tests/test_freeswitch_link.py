"""The controller's lasting event-socket link: it connects again after a loss, with backoff.

FreeSWITCH is the inbound event socket's double of tests/test_inbound.py, over real TCP: it can
drop the connection as a crashing FreeSWITCH does, and give another ``core_uuid`` as a restarted
one does. The same behaviour on the real FreeSWITCH is in tests/test_real_freeswitch_restart.py.
"""

from __future__ import annotations

import logging

import gevent
import pytest
from gevent.queue import Queue
from test_inbound import FakeFreeSWITCH, free_port

from ivr.freeswitch.inbound import ESLConnectError
from ivr.freeswitch.link import FreeSwitchLink
from ivr.simulator import frames

CORE = "global_getvar core_uuid"


def event(name: str) -> bytes:
    return frames.encode_event([("Event-Name", name), ("Unique-ID", "u1")])


@pytest.fixture
def fake():
    server = FakeFreeSWITCH(api={CORE: "core-1\n"})
    yield server
    server.stop()


def link_to(port: int, **options) -> FreeSwitchLink:
    link = FreeSwitchLink("127.0.0.1", port, "ClueCon", backoff=(0.05, 0.2), **options)
    link.start()
    return link


def test_a_lost_connection_is_made_again_with_its_events_and_the_restart_told(fake, caplog):
    caplog.set_level(logging.INFO, "ivr.freeswitch")
    connected = Queue()
    heard = Queue()
    link = FreeSwitchLink("127.0.0.1", fake.port, "ClueCon", backoff=(0.05, 0.2))
    link.subscribe(["CHANNEL_HANGUP_COMPLETE"])
    link.on_event("CHANNEL_HANGUP_COMPLETE", heard.put)
    link.on_connected(lambda client, before, now: connected.put((before, now)))
    link.start()
    try:
        assert connected.get(timeout=5) == ("", "core-1")
        fake.api[CORE] = "core-2\n"  # FreeSWITCH restarts: another run, another core uuid

        fake.drop()

        assert connected.get(timeout=5) == ("core-1", "core-2")
        assert link.client(timeout=5) is not None and link.connections == 2
        assert "CHANNEL_HANGUP_COMPLETE" in fake.subscribed
        # The events asked for come on the new connection, to the same handlers.
        fake.send(event("CHANNEL_HANGUP_COMPLETE"))
        assert heard.get(timeout=5).event_name == "CHANNEL_HANGUP_COMPLETE"
    finally:
        link.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert any("lost the event socket" in m for m in messages)
    assert any("FreeSWITCH restarted (core core-2, was core-1)" in m for m in messages)


def test_a_freeswitch_that_is_down_is_tried_again_longer_apart_until_it_is_back(caplog):
    caplog.set_level(logging.WARNING, "ivr.freeswitch")
    port = free_port()
    link = link_to(port)
    try:
        with pytest.raises(ESLConnectError, match="nothing listens"):
            link.client(timeout=0.5)
        server = FakeFreeSWITCH(api={CORE: "core-1\n"}, port=port)
        try:
            assert link.client(timeout=5).api(CORE).strip() == "core-1"
            assert link.status()["connected"] is True
        finally:
            server.stop()
    finally:
        link.stop()
    waits = [r.getMessage().rsplit("next try in ", 1)[-1] for r in caplog.records]
    tries = [w for w in waits if w.endswith("s")]
    assert tries[:3] == ["0.05s", "0.1s", "0.2s"]
    assert set(tries[3:]) <= {"0.2s"}


def test_a_freeswitch_that_stops_answering_counts_as_lost(fake):
    link = link_to(fake.port, check_every=0.1, check_timeout=0.5)
    try:
        first = link.client(timeout=5)
        fake.api["status"] = (30.0, "UP\n")  # a host gone: the connection stays, nobody answers
        with gevent.Timeout(20):
            first.closed.wait()
        assert "did not answer a check" in first.close_reason
    finally:
        link.stop()
