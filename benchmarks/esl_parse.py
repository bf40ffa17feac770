"""How many 7.6 KB events per second ``ESLParser`` parses on one core.

The stream is built with ``encode_event`` from a real CHANNEL_EXECUTE_COMPLETE of the recorded
FreeSWITCH traces, padded with copies of its channel variables to 7.6 KB per frame, and fed one
frame per read, in 64 KiB reads (what a socket loop typically asks for) and in 1,500-byte reads
(one TCP segment each). Prints numbers; asserts nothing.

Run: ``.venv/bin/python benchmarks/esl_parse.py [events]``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ivr.freeswitch.esl import ESLParser
from ivr.simulator.frames import encode_event

TRACES = Path(__file__).resolve().parents[1].parent / "shared" / "fs-traces"
FRAME_BYTES = 7600


def real_execute_complete() -> list[tuple[str, str]]:
    """Headers of the first CHANNEL_EXECUTE_COMPLETE in the answer_playback trace."""
    stream = (TRACES / "answer_playback.run1.recv.bin").read_bytes()
    for message in ESLParser().feed(stream):
        if message.event_name == "CHANNEL_EXECUTE_COMPLETE" and message.event is not None:
            return message.event.pairs()
    raise SystemExit("no CHANNEL_EXECUTE_COMPLETE in the trace")


def padded_frame(headers: list[tuple[str, str]]) -> bytes:
    """Encode the event, adding renamed copies of its variables until it is FRAME_BYTES long."""
    variables = [(name, value) for name, value in headers if name.startswith("variable_")]
    padded = list(headers)
    frame = encode_event(padded)
    copy = 0
    while len(frame) < FRAME_BYTES:
        name, value = variables[copy % len(variables)]
        padded.append((f"variable_pad{copy // len(variables)}_{name[9:]}", value))
        frame = encode_event(padded)
        copy += 1
    return frame


def run(stream: bytes, chunk: int) -> float:
    """Events per second parsing ``stream`` in reads of ``chunk`` bytes."""
    reads = [stream[start : start + chunk] for start in range(0, len(stream), chunk)]
    parser = ESLParser()
    parsed = 0
    started = time.perf_counter()
    for data in reads:
        parsed += len(parser.feed(data))
    return parsed / (time.perf_counter() - started)


def main() -> None:
    """Build the stream and print events per second for each way of reading it."""
    if not TRACES.is_dir():
        raise SystemExit(f"the FreeSWITCH traces are needed and were not found at {TRACES}")
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    headers = real_execute_complete()
    frame = padded_frame(headers)
    stream = frame * events
    # The outer block's two lines and its blank line, and the event's own blank line.
    header_count = frame.count(b"\n") - 4
    print(
        f"frame: {len(frame)} bytes, {header_count} event headers ({len(headers)} in the real "
        f"event); {events} events, {len(stream) / 1e6:.1f} MB"
    )
    for label, chunk in (
        ("one frame per read", len(frame)),
        ("64 KiB reads", 65536),
        ("1500-byte reads", 1500),
    ):
        best = max(run(stream, chunk) for _ in range(3))
        print(
            f"{label:>18}: {best:>7,.0f} events/s, {1e6 / best:5.1f} us/event, "
            f"{best * len(frame) / 1e6:3.0f} MB/s (best of 3)"
        )


if __name__ == "__main__":
    main()
