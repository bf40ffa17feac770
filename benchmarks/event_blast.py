"""Events per second one outbound connection takes in: our ``OutboundSession`` vs greenswitch's.

A sender in a separate OS process plays FreeSWITCH's outbound socket on one loopback TCP
connection: it connects to the receiver, answers ``connect`` with the channel data of a recorded
call (``answer_playback.run1`` of the FreeSWITCH traces), answers ``myevents`` and ``linger``
with ``+OK``, then writes N copies of one ``text/event-plain`` frame as fast as the socket takes
them, then a ``text/disconnect-notice`` (as FreeSWITCH does before it closes), and closes its
side. The frame is the real CHANNEL_EXECUTE_COMPLETE padded to 7.6 KB that
``benchmarks/esl_parse.py`` builds. Sender and receiver are pinned to different cores when there
are two or more.

Receivers, each reading on every event the headers a controller reads (Event-Name, Unique-ID,
Application, Application-UUID, Event-Date-Timestamp) and checking their values:

- ours: ``ivr.freeswitch.session.OutboundSession`` on a gevent ``StreamServer``, counting in a
  hook registered with ``on_event`` (called by the session's reader greenlet after its own
  dispatch);
- greenswitch 0.0.19: ``OutboundESLServer`` with a minimal application whose handler, registered
  for ``*``, counts the events its ``process_events`` greenlet takes off its queue;
- the same two parsers without a socket: ``ESLParser().feed()`` over the stream in 64 KiB pieces,
  and greenswitch's ``receive_events`` reading the frames from an in-memory file.

Over TCP, events/s is the events handled divided by the time from the sender starting to write
the first event to the receiver handling the last one (``time.monotonic``, CLOCK_MONOTONIC, the
same clock in both processes on Linux). greenswitch's first handler call comes only after its
reader has parsed most of the stream, so timing from that first call would leave its parsing out.

Prints numbers; asserts nothing. Run::

    .venv/bin/python benchmarks/event_blast.py [--events 50000] [--frame-bytes 7600]
        [--output FILE.json]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import multiprocessing
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import esl_parse
import gevent
import gevent.socket
from esl_parse import TRACES, padded_frame, real_execute_complete
from gevent.event import Event
from gevent.server import StreamServer
from greenswitch import esl as greenswitch_esl
from tabulate import tabulate

from ivr.freeswitch import esl
from ivr.freeswitch.session import OutboundSession
from ivr.simulator import frames
from ivr.simulator.commands import ESLCommandParser

READ_HEADERS = (
    "Event-Name",
    "Unique-ID",
    "Application",
    "Application-UUID",
    "Event-Date-Timestamp",
)
"""What a controller looks at on every event: which event, which call, which of its commands."""
CONNECT_TRACE = "answer_playback.run1.recv.bin"
CONNECT_TAIL = "Content-Type"
"""First of the headers (Content-Type, Reply-Text, Socket-Mode, Control) that follow the channel
data in the trace's connect reply; ``encode_connect_reply`` adds them itself."""
CHUNK = 65536
"""Bytes per read in the socketless run: what ``OutboundSession`` asks ``recv`` for."""
SEND_BYTES = 1 << 20
"""About this many bytes per ``sendall`` in the sender, so its Python loop is never the limit."""
GREENSWITCH_BATCH = 1000
"""Frames per in-memory file in greenswitch's socketless run (its queue holds a whole file)."""
TIMEOUT = 600.0
"""Seconds a run may take before the benchmark gives up on it."""


@dataclass
class Tally:
    """Events a receiver handled, when, and whether the headers it read were right.

    Attributes:
        expected: The values of ``READ_HEADERS`` in the frame sent.
        count: Events handled.
        wrong: Events whose headers did not read as ``expected``.
        first: ``time.monotonic()`` when the first event was handled; None before.
        last: ``time.monotonic()`` when the last event was handled.
        max_queued: greenswitch only: the most events waiting in its queue at a handler call.
    """

    expected: tuple[str | None, ...]
    count: int = 0
    wrong: int = 0
    first: float | None = None
    last: float = 0.0
    max_queued: int = 0

    def record(self, values: tuple[str | None, ...]) -> None:
        """Count one event whose ``READ_HEADERS`` read as ``values``."""
        now = time.monotonic()
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1
        if values != self.expected:
            self.wrong += 1


@dataclass
class Result:
    """One receiver's figures, as printed and written to the JSON output.

    Attributes:
        receiver: What received and parsed the events.
        events: Events handled.
        seconds: The time they took (see the module docstring for when it starts and ends).
        wrong_headers: Events whose headers did not read as they were sent.
        notes: Figures that explain the others (milliseconds to the first handled event, ...).
    """

    receiver: str
    events: int
    seconds: float
    wrong_headers: int
    notes: dict[str, float | int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


# ---------------------------------------------------------------------------------- the frames


def connect_reply() -> tuple[bytes, str]:
    """The reply to ``connect`` with the recorded call's channel data, and the call's uuid."""
    stream = (TRACES / CONNECT_TRACE).read_bytes()
    reply = esl.ESLParser().feed(stream)[0]
    if reply.event is None or reply.event_name != "CHANNEL_DATA":
        raise SystemExit(f"{CONNECT_TRACE} does not start with the connect reply")
    pairs = reply.event.pairs()
    names = [name for name, _ in pairs]
    channel = pairs[: names.index(CONNECT_TAIL)] if CONNECT_TAIL in names else pairs
    return frames.encode_connect_reply(channel), reply.unique_id or ""


def event_frame(frame_bytes: int) -> bytes:
    """The real CHANNEL_EXECUTE_COMPLETE padded to at least ``frame_bytes``, as esl_parse does."""
    # padded_frame pads to esl_parse.FRAME_BYTES, read when it runs.
    esl_parse.FRAME_BYTES = frame_bytes
    return padded_frame(real_execute_complete())


def codec_version() -> str:
    """A short hash of ``ivr/freeswitch/esl.py``: which parser the figures are for."""
    return hashlib.sha256(Path(esl.__file__).read_bytes()).hexdigest()[:12]


def header_count(frame: bytes) -> int:
    """Header lines of the event inside ``frame``, counted on the bytes (no parser involved)."""
    body = frame.split(b"\n\n", 1)[1]
    return body.rstrip(b"\n").count(b"\n") + 1


def expected_values(frame: bytes) -> tuple[str | None, ...]:
    """``READ_HEADERS`` of the frame, as ``ESLParser`` reads them."""
    (message,) = esl.ESLParser().feed(frame)
    return tuple(message.get(name) for name in READ_HEADERS)


# ---------------------------------------------------------------------------------- the sender


def send_events(
    port: int,
    reply_to_connect: bytes,
    call_uuid: str,
    frame: bytes,
    events: int,
    core: int | None,
    report: Connection,
) -> None:
    """Act as FreeSWITCH on one outbound connection to 127.0.0.1:``port`` (separate process).

    Answers the controller's commands until ``linger``, writes ``events`` copies of ``frame`` and
    a disconnect notice, half-closes, and waits for the receiver to close.

    Args:
        port: The receiver's port.
        reply_to_connect: What to answer ``connect`` with.
        call_uuid: The channel's uuid, for the disconnect notice.
        frame: One encoded event.
        events: How many times to send it.
        core: The CPU to run on; None: leave the affinity alone.
        report: The write end of a ``multiprocessing`` pipe; gets the monotonic times the first
            event started and the last finished being written.
    """
    if core is not None:
        os.sched_setaffinity(0, {core})
    # No gevent here: this process does nothing but this one blocking socket.
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    parser = ESLCommandParser()
    replies = {
        "connect": reply_to_connect,
        "myevents": frames.encode_command_reply("+OK Events Enabled"),
        "linger": frames.encode_command_reply("+OK will linger"),
        "exit": frames.encode_command_reply("+OK bye"),
    }
    lingering = False
    while not lingering:
        data = sock.recv(65536)
        if not data:
            sock.close()
            return
        for command in parser.feed(data):
            sock.sendall(replies.get(command.name, frames.encode_command_reply("+OK")))
            lingering = lingering or command.name == "linger"
    per_write = max(1, SEND_BYTES // len(frame))
    batch = frame * per_write
    full, rest = divmod(events, per_write)
    started = time.monotonic()
    for _ in range(full):
        sock.sendall(batch)
    sock.sendall(frame * rest)
    written = time.monotonic()
    sock.sendall(frames.encode_disconnect_notice(call_uuid))
    report.send({"started": started, "written": written})
    # Half-close and wait for the receiver to close: a full close with anything unread would
    # reset the connection and could throw away what the receiver has not read yet.
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(TIMEOUT)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


@dataclass
class Blast:
    """What every run sends.

    Attributes:
        frame: One encoded event, sent ``events`` times.
        connect_reply: The answer to ``connect``.
        call_uuid: The channel's uuid, for the final disconnect notice.
        events: How many events to send.
        sender_core: The CPU the sender runs on; None: any.
    """

    frame: bytes
    connect_reply: bytes
    call_uuid: str
    events: int
    sender_core: int | None


class Sender:
    """The sender process for one run, and what it reported."""

    def __init__(self, port: int, blast: Blast) -> None:
        context = multiprocessing.get_context("spawn")
        self._report, writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=send_events,
            args=(
                port,
                blast.connect_reply,
                blast.call_uuid,
                blast.frame,
                blast.events,
                blast.sender_core,
                writer,
            ),
            daemon=True,
        )
        self._process.start()
        writer.close()

    def times(self) -> dict[str, float]:
        """The sender's report; waits for it without blocking the gevent loop."""
        gevent.socket.wait_read(self._report.fileno(), timeout=TIMEOUT)
        report = self._report.recv()
        self._report.close()
        return report

    def join(self) -> None:
        """Wait for the sender to exit, letting greenlets run meanwhile (they close our end)."""
        try:
            gevent.socket.wait_read(self._process.sentinel, timeout=TIMEOUT)
        except TimeoutError:
            self._process.kill()
        self._process.join()


def socket_result(
    receiver: str, tally: Tally, sent: dict[str, float], extra: dict[str, float | int]
) -> Result:
    """Figures of a run over TCP: from the sender starting to write to the last event handled."""
    seconds = tally.last - sent["started"] if tally.count else 0.0
    notes: dict[str, float | int] = {
        "first_handled_ms": round(1e3 * ((tally.first or sent["started"]) - sent["started"]), 1),
        "sender_done_ms": round(1e3 * (sent["written"] - sent["started"]), 1),
        **extra,
    }
    return Result(receiver, tally.count, seconds, tally.wrong, notes)


# ---------------------------------------------------------------------------------- receivers


def read_ours(message: esl.ESLMessage) -> tuple[str | None, ...]:
    """``READ_HEADERS`` of one of our messages, through its public accessors only.

    Those keep working, and keep costing what a controller pays, whatever the parser does
    inside (it may parse the headers only when they are asked for).
    """
    return (
        message.event_name,
        message.unique_id,
        message.get("Application"),
        message.application_uuid,
        message.get("Event-Date-Timestamp"),
    )


def blast_ours(blast: Blast) -> Result:
    """Our ``OutboundSession`` on a gevent ``StreamServer``, as ``ivr.freeswitch.server``."""
    tally = Tally(expected_values(blast.frame))
    done = Event()

    def count(message: esl.ESLMessage) -> None:
        tally.record(read_ours(message))

    def handle(sock, address) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the Controller does
        session = OutboundSession(sock, f"{address[0]}:{address[1]}")
        # Before start(): the reader dispatches the first events before start() returns.
        session.on_event(count)
        try:
            session.start()
            # Set when the reader has seen the sender close, after dispatching everything.
            session.closed.wait(timeout=TIMEOUT)
        finally:
            session.close()
            done.set()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    sender = Sender(server.address[1], blast)
    try:
        done.wait(timeout=TIMEOUT)
        sent = sender.times()
    finally:
        server.stop()
        sender.join()
    return socket_result("ours: OutboundSession over TCP", tally, sent, {})


def read_greenswitch(tally: Tally) -> Callable[[greenswitch_esl.ESLEvent], None]:
    """A greenswitch handler counting events and reading ``READ_HEADERS`` from them."""

    def count(event: greenswitch_esl.ESLEvent) -> None:
        headers = event.headers
        tally.record(tuple(headers.get(name) for name in READ_HEADERS))

    return count


def free_port() -> int:
    """A free loopback port: ``OutboundESLServer`` takes port 0 for a failure to bind."""
    probe = gevent.socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def blast_greenswitch(blast: Blast) -> Result:
    """The ``OutboundESLServer`` of greenswitch running a minimal counting application."""
    tally = Tally(expected_values(blast.frame))
    count = read_greenswitch(tally)
    done = Event()

    class CountingApp:
        """Subscribes and counts; greenswitch calls ``run`` after ``session.connect()``."""

        def __init__(self, session: greenswitch_esl.OutboundSession) -> None:
            self.session = session

        def handle(self, event: greenswitch_esl.ESLEvent) -> None:
            # How far the receive loop is ahead of the handlers (its queue is unbounded).
            queued = self.session._esl_event_queue.qsize()
            tally.max_queued = max(tally.max_queued, queued)
            count(event)

        def run(self) -> None:
            # '*' gets every event without a handler of its own, alongside the session's own
            # on_event: greenswitch's ordinary per-event work stays in.
            self.session.register_handle("*", self.handle)
            self.session.register_handle("DISCONNECT", lambda event: done.set())
            self.session.myevents()
            self.session.linger()
            done.wait(timeout=TIMEOUT)

    server = greenswitch_esl.OutboundESLServer("127.0.0.1", free_port(), application=CountingApp)
    listening = gevent.spawn(server.listen)
    while not server._running and not listening.dead:
        gevent.sleep(0.01)
    sender = Sender(server.bound_port, blast)
    try:
        done.wait(timeout=TIMEOUT)
        sent = sender.times()
    finally:
        server.stop()  # its accept loop notices within 0.1 s; then it joins the call
        listening.join(timeout=10)
        sender.join()
    return socket_result(
        "greenswitch: OutboundSession over TCP", tally, sent, {"max_queued": tally.max_queued}
    )


def parse_ours(blast: Blast) -> Result:
    """``ESLParser().feed()`` over the stream in 64 KiB pieces, reading the headers."""
    tally = Tally(expected_values(blast.frame))
    stream = blast.frame * blast.events
    view = memoryview(stream)  # its slices copy nothing: the time is the parser's
    parser = esl.ESLParser()
    started = time.monotonic()
    for start in range(0, len(stream), CHUNK):
        for message in parser.feed(view[start : start + CHUNK]):
            tally.record(read_ours(message))
    return Result(
        "ours: ESLParser.feed, 64 KiB, no socket", tally.count, tally.last - started, tally.wrong
    )


class _NoSocket:
    """Stands for the socket greenswitch closes when its reader stops."""

    def close(self) -> None:
        pass


def parse_greenswitch(blast: Blast) -> Result:
    """The reader of greenswitch (``receive_events``) over the frames in an in-memory file."""
    tally = Tally(expected_values(blast.frame))
    count = read_greenswitch(tally)
    protocol = greenswitch_esl.ESLProtocol()
    protocol.sock = _NoSocket()
    queue = protocol._esl_event_queue
    full, rest = divmod(blast.events, GREENSWITCH_BATCH)
    batches = [GREENSWITCH_BATCH] * full + ([rest] if rest else [])
    started = time.monotonic()
    for batch in batches:
        # receive_events reads line by line from sock_file until end of file, putting each
        # event on the queue; batches keep that queue, and the memory it takes, bounded.
        protocol.sock_file = io.BytesIO(blast.frame * batch)
        protocol._run = protocol.connected = True
        protocol.receive_events()
        while not queue.empty():
            count(queue.get_nowait())
    return Result(
        "greenswitch: receive_events, in-memory file",
        tally.count,
        tally.last - started,
        tally.wrong,
    )


# ---------------------------------------------------------------------------------- report


def print_table(results: list[Result], frame: bytes) -> None:
    """Print the results with each receiver's ratio to greenswitch's counterpart."""
    rows = []
    for index, result in enumerate(results):
        # Rows come in pairs: ours, then greenswitch's doing the same work.
        theirs = results[index | 1]
        ratio = result.rate / theirs.rate if theirs.rate else float("nan")
        rows.append(
            [
                result.receiver,
                f"{result.events:,}",
                f"{result.seconds:.2f}",
                f"{result.rate:,.0f}",
                f"{result.rate * len(frame) / 1e6:.0f}",
                f"{1e6 / result.rate:.1f}" if result.rate else "-",
                f"{ratio:.2f}",
            ]
        )
    headers = ["receiver", "events", "seconds", "events/s", "MB/s", "us/event", "ours/greenswitch"]
    print(tabulate(rows, headers, colalign=("left",) + ("right",) * 6, disable_numparse=True))
    print(
        "first_handled_ms: first event written -> first handled; sender_done_ms: first -> last "
        "event written; max_queued: greenswitch's event queue at its deepest"
    )
    for result in results:
        details = [f"{result.wrong_headers} events with wrong header values"]
        details += [f"{name}={value}" for name, value in result.notes.items()]
        print(f"  {result.receiver}: {', '.join(details)}")


def main() -> None:
    """Build the frames, run the four receivers, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events to send (50000)")
    parser.add_argument(
        "--frame-bytes", type=int, default=7600, help="smallest size of one event frame (7600)"
    )
    parser.add_argument("--output", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not TRACES.is_dir():
        raise SystemExit(f"the FreeSWITCH traces are needed and were not found at {TRACES}")

    cores = sorted(os.sched_getaffinity(0))
    sender_core = None
    if len(cores) >= 2:
        # Receiver and sender each get a core of their own, so the receiver's figure is not
        # the two of them sharing one.
        os.sched_setaffinity(0, {cores[0]})
        sender_core = cores[1]
    reply, call_uuid = connect_reply()
    frame = event_frame(args.frame_bytes)
    blast = Blast(frame, reply, call_uuid, args.events, sender_core)
    print(
        f"frame: {len(frame)} bytes, {header_count(frame)} event headers; {args.events:,} events, "
        f"{len(frame) * args.events / 1e6:.1f} MB; receiver on CPU {cores[0]}, sender on "
        f"{'the same CPUs' if sender_core is None else f'CPU {sender_core}'}; "
        f"Python {sys.version.split()[0]}, gevent {gevent.__version__}; esl.py {codec_version()}; "
        "load average "
        # Other processes on the machine show up here and in the figures.
        f"{os.getloadavg()[0]:.2f}"
    )
    results = []
    for run in (blast_ours, blast_greenswitch, parse_ours, parse_greenswitch):
        result = run(blast)
        if run in (blast_ours, blast_greenswitch):
            # The process's peak so far, which only grows: meaningful for the first two runs
            # (ours first, so greenswitch's includes ours' few MB, not the other way round).
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result.notes["peak_rss_mb"] = round(peak / 1024)
        results.append(result)
        # Let each run start without the previous one's garbage (greenswitch's queue).
        gc.collect()
    print_table(results, frame)
    if args.output is not None:
        args.output.write_text(
            json.dumps(
                {
                    "frame_bytes": len(frame),
                    "event_headers": header_count(frame),
                    "events": args.events,
                    "sender_core": sender_core,
                    "load_average": os.getloadavg()[0],
                    "esl_py_sha256": codec_version(),
                    "results": [
                        {**asdict(result), "events_per_second": result.rate} for result in results
                    ],
                },
                indent=2,
            )
            + "\n"
        )
        print(f"written to {args.output}")


if __name__ == "__main__":
    main()
