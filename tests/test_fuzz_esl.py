"""Fuzzing the two ESL readers with Hypothesis, seeded by byte streams recorded from FreeSWITCH.

Whatever arrives on the socket, a reader either yields messages or raises ``ESLProtocolError``
(the connection is then dropped with that reason); no other exception may escape, and the bytes
it keeps waiting for the rest of a frame stay under the frame limit. Valid streams read the same
however they are cut into reads. The budget is small by default (derandomized, so a run is
reproducible); ``IVR_FUZZ_EXAMPLES=5000`` runs a longer search.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.freeswitch import esl
from ivr.freeswitch.esl import ESLParser, ESLProtocolError
from ivr.simulator.commands import ESLCommandParser

TRACES = Path(__file__).resolve().parent / "fs_traces"
RECEIVED = [path.read_bytes() for path in sorted(TRACES.glob("*.recv.bin"))]
SENT = [path.read_bytes() for path in sorted(TRACES.glob("*.sent.txt"))]

FUZZ = settings(
    max_examples=int(os.environ.get("IVR_FUZZ_EXAMPLES", "150")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A recorded stream with a few bytes flipped, inserted, dropped or the tail cut off."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        change = draw(st.sampled_from(["flip", "insert", "drop", "cut", "digits"]))
        if change == "flip":
            data[where] = draw(st.integers(0, 255))
        elif change == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=40))
        elif change == "drop":
            del data[where : where + draw(st.integers(1, 40))]
        elif change == "cut":
            del data[where:]
        else:
            # Content-Length values are where a reader's arithmetic can go wrong.
            data[where:where] = draw(st.sampled_from([b"-1", b"99999999999", b"1e3", b" 7", b""]))
    return bytes(data)


def cuts(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` cut into reads of the given sizes (repeated), as a socket might deliver it."""
    reads, pos, i = [], 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)] if sizes else len(data)
        reads.append(data[pos : pos + size])
        pos += size
        i += 1
    return reads


def read_all(parser_class: type, reads: list[bytes]) -> list:
    """Feed every read; the messages, or the protocol error that ended the stream."""
    parser = parser_class()
    messages: list = []
    try:
        for chunk in reads:
            messages.extend(parser.feed(chunk))
            assert parser.pending <= esl.MAX_CONTENT_LENGTH + len(chunk)
    except ESLProtocolError as error:
        messages.append(("protocol error", str(error)))
    return messages


@FUZZ
@given(data=mutated(RECEIVED), sizes=st.lists(st.integers(1, 700), max_size=5))
def test_a_damaged_stream_from_freeswitch_gives_messages_or_a_protocol_error(data, sizes):
    read_all(ESLParser, cuts(data, sizes))


@FUZZ
@given(data=st.binary(max_size=2000), sizes=st.lists(st.integers(1, 300), max_size=5))
def test_random_bytes_give_messages_or_a_protocol_error(data, sizes):
    read_all(ESLParser, cuts(data, sizes))
    read_all(ESLCommandParser, cuts(data, sizes))


@FUZZ
@given(data=mutated(SENT), sizes=st.lists(st.integers(1, 300), max_size=5))
def test_damaged_commands_reach_the_simulated_freeswitch_as_commands_or_a_protocol_error(
    data, sizes
):
    read_all(ESLCommandParser, cuts(data, sizes))


@FUZZ
@given(
    index=st.integers(0, len(RECEIVED) - 1),
    sizes=st.lists(st.integers(1, 500), min_size=1, max_size=6),
)
def test_a_recorded_stream_reads_the_same_however_it_is_cut_into_reads(index, sizes):
    data = RECEIVED[index]
    whole = read_all(ESLParser, [data])
    assert read_all(ESLParser, cuts(data, sizes)) == whole


@pytest.mark.parametrize(
    ("stream", "complaint"),
    [
        (b"Content-Type: api/response\nContent-Length: -1\n\n", "non-numeric Content-Length"),
        (b"Content-Type: api/response\nContent-Length: 1e3\n\n", "non-numeric Content-Length"),
        (
            b"Content-Type: api/response\nContent-Length: 99999999999999999999\n\n",
            "over the",
        ),
        (b"\x00\xff\xfe garbage\n\n", "has no ': '"),
    ],
)
def test_hostile_content_lengths_and_garbage_end_the_stream_with_a_reason(stream, complaint):
    (result,) = read_all(ESLParser, [stream])
    assert result[0] == "protocol error"
    assert complaint in result[1]


def test_a_header_line_of_a_megabyte_is_read_and_one_past_the_limit_is_refused():
    line = b"Content-Type: api/response\nX-Long: " + b"a" * (1 << 20) + b"\n\n"
    (message,) = ESLParser().feed(line)
    assert len(message.headers["X-Long"]) == 1 << 20

    parser = ESLParser()
    with pytest.raises(ESLProtocolError, match="no blank line"):
        for _ in range(17):
            parser.feed(b"X-Endless: " + b"b" * (1 << 20))
    assert parser.pending <= esl.MAX_CONTENT_LENGTH + (1 << 20) + 12
