"""Text a caller controls (caller-ID name and number, what a lookup found), made to do harm.

Each value sets the FreeSWITCH global variable ``probe`` if it is ever expanded, so a test can
tell both that it arrived as it was and that nothing in it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gevent.event import AsyncResult
from gevent.server import StreamServer

from ivr.freeswitch.session import OutboundSession


def hostile(probe: str) -> list[str]:
    """Values that run ``global_setvar probe=ran`` if FreeSWITCH expands them, and others that
    quoting and escaping could spoil."""
    return [
        f"${{global_setvar({probe}=ran)}}",
        f"Jane ${{global_setvar({probe}=ran)}} Doe",
        f"\\${{global_setvar({probe}=ran)}}",
        f"$${{global_setvar({probe}=ran)}}",
        f"O'Brien, Jr \\ 'quoted' \\'x\\' a=b \\n ${{global_setvar {probe}=ran}}",
        "  spaces around  ",
        "$5 and $$ and \\\\",
    ]


@contextmanager
def call_socket(
    work: Callable[[OutboundSession], object],
) -> Iterator[tuple[StreamServer, AsyncResult]]:
    """A server of one outbound socket that runs ``work(session)`` on the call handed to it.

    Yields the server (FreeSWITCH or the simulator connects to its address) and the result of
    ``work`` (or the exception it raised), then hangs the call up.
    """
    result = AsyncResult()

    def handle(sock, address):
        session = OutboundSession(sock, f"{address[0]}:{address[1]}")
        try:
            session.start()
            result.set(work(session))
            session.hangup("NORMAL_CLEARING")
        except Exception as exc:  # the test's get() raises it
            result.set_exception(exc)
        finally:
            session.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        yield server, result
    finally:
        server.stop()
