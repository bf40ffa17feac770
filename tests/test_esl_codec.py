"""The ESL wire codec against byte streams recorded from a real FreeSWITCH 1.11.3.

The controller's parser (``ivr.freeswitch.esl``) reads every recorded stream, and the simulated
FreeSWITCH's encoders (``ivr.simulator.frames``) write every recorded frame again to its exact
bytes. The controller's commands are tested in ``test_freeswitch_commands.py``.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import pytest

from ivr.freeswitch import esl
from ivr.freeswitch.esl import ESLCommandError, ESLMessage, ESLParser, ESLProtocolError, Headers
from ivr.simulator import frames
from ivr.simulator.commands import ESLCommandParser
from ivr.simulator.frames import DISCONNECT_MESSAGE

# Recorded from a real FreeSWITCH, kept in the repository as the ground truth (see its README).
TRACES = Path(__file__).resolve().parent / "fs_traces"


def trace_names() -> list:
    return sorted(path.name.removesuffix(".recv.bin") for path in TRACES.glob("*.recv.bin"))


TRACE_NAMES = trace_names()


@cache
def received(name: str) -> bytes:
    return (TRACES / f"{name}.recv.bin").read_bytes()


@cache
def index_records(name: str) -> list[dict]:
    lines = (TRACES / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def recv_chunks(name: str) -> list[bytes]:
    data = received(name)
    rows = (TRACES / f"{name}.recv.chunks.tsv").read_text().splitlines()[1:]
    chunks = []
    for row in rows:
        _, offset, length = row.split("\t")
        chunks.append(data[int(offset) : int(offset) + int(length)])
    return chunks


def sent_commands(name: str) -> list[bytes]:
    """The commands of a ``.sent.txt``: ``>>> SENT t=+<ms>ms <n> bytes``, then n raw bytes."""
    data = (TRACES / f"{name}.sent.txt").read_bytes()
    framing = re.compile(rb">>> SENT t=\+[0-9.]+ms (\d+) bytes\n")
    commands, pos = [], 0
    while pos < len(data):
        match = framing.match(data, pos)
        assert match, f"unexpected bytes at {pos} of {name}.sent.txt"
        end = match.end() + int(match.group(1))
        commands.append(data[match.end() : end])
        pos = end
    return commands


@cache
def parsed(name: str) -> list[ESLMessage]:
    return ESLParser().feed(received(name))


def message(name: str, predicate) -> ESLMessage:
    return next(m for m in parsed(name) if predicate(m))


def feed_in_pieces(pieces: list[bytes]) -> tuple[list[ESLMessage], ESLParser]:
    parser = ESLParser()
    messages = []
    for piece in pieces:
        messages += parser.feed(piece)
    return messages, parser


# --- parsing every recorded stream -------------------------------------------------------------


@pytest.mark.parametrize("feeding", ["whole", "recorded_recv_chunks", "byte_by_byte"])
@pytest.mark.parametrize("name", TRACE_NAMES)
def test_every_recorded_message_parses_as_the_trace_index_describes_it(name, feeding):
    data = received(name)
    pieces = {
        "whole": [data],
        "recorded_recv_chunks": recv_chunks(name),
        "byte_by_byte": [data[i : i + 1] for i in range(len(data))],
    }[feeding]
    messages, parser = feed_in_pieces(pieces)

    records = index_records(name)
    assert parser.pending == 0
    assert len(messages) == len(records)
    for got, record in zip(messages, records, strict=True):
        where = f"{name} message {record['i']}"
        assert got.content_type == record["content_type"], where
        assert got.headers.to_dict() == record["headers"], where
        if got.content_type == "text/event-plain":
            assert got.event is not None
            assert got.event.to_dict() == record["body_headers"], where
        assert got.body == record.get("body", ""), where


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_reading_event_headers_one_at_a_time_gives_what_the_full_parse_gives(name):
    # Events are parsed on demand: each lookup on a fresh message must agree with the full parse.
    lookups = ESLParser().feed(received(name))
    full = ESLParser().feed(received(name))
    for looked_up, parsed in zip(lookups, full, strict=True):
        if looked_up.event is None:
            continue
        every = parsed.event.to_dict()
        for header, value in every.items():
            first = value[0] if isinstance(value, list) else value
            assert looked_up.event.get(header) == first, header
            assert header in looked_up.event
        assert looked_up.event.get("No-Such-Header") is None
        assert "No-Such-Header" not in looked_up.event


@pytest.mark.parametrize(
    "block",
    [
        b"A: x: y\nB: 2",  # a value holding ": " (not FreeSWITCH-encoded, still valid)
        b"Event-Name: X\nA: %3A%20decoded\nB: plain",
        b"A: 1\nA: 2\nB: 3",  # a repeated name: the first value wins
    ],
)
def test_unusual_but_valid_event_lines_read_the_same_by_lookup_and_by_full_parse(block):
    (looked_up,) = ESLParser().feed(event_frame(block + b"\n\n"))
    (parsed,) = ESLParser().feed(event_frame(block + b"\n\n"))
    every = parsed.event.to_dict()
    for header, value in every.items():
        assert looked_up.event.get(header) == (value[0] if isinstance(value, list) else value)
    assert looked_up.event.get("x") is None  # a name searched for must match a whole name
    assert looked_up.event.get("A: x") is None


def test_an_event_line_without_separator_is_refused_even_when_another_line_has_two():
    # The counts of ": " and of lines agree here, so only the line-by-line parse can tell.
    with pytest.raises(ESLProtocolError, match="header line 'B' has no ': '"):
        ESLParser().feed(event_frame(b"A: 1: 2\nB\n\n"))


def test_an_event_line_with_an_empty_name_is_refused():
    with pytest.raises(ESLProtocolError, match="has an empty name"):
        ESLParser().feed(event_frame(b"A: 1\n: 2\n\n"))


def reencode(message: ESLMessage) -> bytes:
    """Rebuild a parsed message with the encoders a simulated FreeSWITCH uses."""
    headers = message.headers
    if message.content_type == "text/event-plain":
        assert message.event is not None
        pairs = message.event.pairs()
        if message.body:
            # The event's own Content-Length comes back from encode_event.
            assert pairs[-1][0] == "Content-Length"
            pairs = pairs[:-1]
        return frames.encode_event(pairs, message.body)
    if message.event is not None:
        pairs = message.event.pairs()
        assert [name for name, _ in pairs[-4:]] == [
            "Content-Type",
            "Reply-Text",
            "Socket-Mode",
            "Control",
        ]
        return frames.encode_connect_reply(
            pairs[:-4], socket_mode=headers["Socket-Mode"], control=headers["Control"]
        )
    if message.content_type == "command/reply":
        extra = [(n, v) for n, v in headers.pairs() if n not in ("Content-Type", "Reply-Text")]
        return frames.encode_command_reply(message.reply_text, extra)
    if message.content_type == "api/response":
        return frames.encode_api_response(message.body)
    if message.content_type == "auth/request":
        return frames.encode_auth_request()
    assert message.content_type == "text/disconnect-notice"
    if headers.get("Content-Disposition") == "linger":
        linger_time = int(headers["Linger-Time"])
        return frames.encode_linger_notice(
            headers["Controlled-Session-UUID"],
            headers["Channel-Name"],
            None if linger_time == -1 else linger_time,
        )
    return frames.encode_disconnect_notice(headers.get("Controlled-Session-UUID"), message.body)


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_every_recorded_message_is_reencoded_to_the_exact_bytes_freeswitch_sent(name):
    data = received(name)
    for got, record in zip(parsed(name), index_records(name), strict=True):
        original = data[record["offset"] : record["offset"] + record["length"]]
        assert reencode(got) == original, f"{name} message {record['i']}"


# --- what the parsed messages say ---------------------------------------------------------------


def test_connect_reply_is_parsed_with_percent_decoded_channel_variables():
    reply = parsed("answer_playback.run1")[0]

    assert reply.content_type == "command/reply"
    assert reply.reply_text == "+OK\n"
    assert reply.ok
    assert reply.event is reply.headers
    assert reply.event_name == "CHANNEL_DATA"
    assert reply.unique_id == "ffe09a5c-0ed6-4a53-9f73-9ee29c3d2bb6"
    assert reply.get("Caller-Caller-ID-Number") == "+15550001111"
    assert reply.get("Caller-Caller-ID-Name") == "Test Caller"
    assert reply.get("variable_current_application_data") == "127.0.0.1:8084 async full"
    assert reply.get("FreeSWITCH-IPv6") == "fd00::2"
    assert reply.get("Socket-Mode") == "async"
    assert list(reply.headers).index("Content-Type") == 105


def test_hangup_complete_keeps_both_hangup_causes():
    hangup = message("answer_playback.run1", lambda m: m.event_name == "CHANNEL_HANGUP_COMPLETE")

    assert hangup.event is not None
    assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert hangup.event.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    assert hangup.event.to_dict()["Hangup-Cause"] == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    assert len(hangup.event.pairs()) == len(hangup.event) + 1


def test_execute_events_carry_the_event_uuid_we_sent_as_application_uuid():
    sent = sent_commands("answer_playback.run1")
    playback = next(c for c in sent if b"execute-app-name: playback" in c)
    event_uuid = re.search(rb"Event-UUID: (\S+)", playback).group(1).decode()

    execute, complete = (
        m for m in parsed("answer_playback.run1") if m.application_uuid == event_uuid
    )
    assert execute.event_name == "CHANNEL_EXECUTE"
    assert complete.event_name == "CHANNEL_EXECUTE_COMPLETE"
    assert complete.get("Application-Data") == "tone_stream://%(1000,0,440)"
    assert complete.get("Application-Response") == "FILE PLAYED"


def test_background_job_result_is_the_body_inside_the_event():
    job = message("inbound_api.run1", lambda m: m.event_name == "BACKGROUND_JOB")

    assert job.body == "+OK 982014bc-aba2-4edd-9762-260c43e5230c\n"
    assert job.get("Job-Command-Arg") == "loopback/9999/default &park"
    assert job.get("Content-Length") == "41"
    assert job.headers["Content-Length"] == "629"


def test_bgapi_reply_carries_the_job_uuid_as_its_own_header():
    reply = message("inbound_api.run1", lambda m: m.reply_text.startswith("+OK Job-UUID"))

    assert reply.ok
    assert reply.get("Job-UUID") == "bae1e66a-9e14-4b4a-b686-28079740bffc"


def test_api_response_body_is_the_command_output_and_decides_ok():
    broke = message("moh_break.run1", lambda m: m.content_type == "api/response")
    too_late = message("caller_hangup_late_cmd.run1", lambda m: m.content_type == "api/response")

    assert broke.reply_text == "+OK\n" and broke.ok
    assert too_late.body == "-ERR No such channel!\n" and not too_late.ok
    assert too_late.event is None and too_late.event_name is None


def test_linger_notice_has_no_body_and_final_notice_says_goodbye():
    linger_notice, final_notice = (
        m for m in parsed("answer_playback.run1") if m.content_type == "text/disconnect-notice"
    )

    assert linger_notice.get("Content-Disposition") == "linger"
    assert linger_notice.get("Linger-Time") == "-1"
    assert linger_notice.body == ""
    assert final_notice.get("Content-Disposition") == "disconnect"
    assert final_notice.body == DISCONNECT_MESSAGE


def test_inbound_connection_starts_with_auth_request_and_wrong_password_is_refused():
    greeting, refusal, notice = parsed("inbound_badauth.run1")

    assert greeting.content_type == "auth/request"
    assert refusal.reply_text == "-ERR invalid" and not refusal.ok
    assert list(notice.headers) == ["Content-Type", "Content-Length"]
    assert notice.body == DISCONNECT_MESSAGE


# --- values -------------------------------------------------------------------------------------


def test_plus_signs_are_never_turned_into_spaces():
    assert esl.percent_decode("%2B1555+0001%20x") == "+1555+0001 x"


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("fd00%3A%3A2", "fd00::2"),
        ("caf%C3%A9", "café"),
        ("bad%FFbyte", "bad\ufffdbyte"),
        ("100%", "100%"),
        ("%zz%4", "%zz%4"),
        ("a%00b", "a\x00b"),
        ("lower%3a", "lower:"),
        ("x=1%3Dy", "x=1=y"),
        ("line%0Abreak", "line\nbreak"),
    ],
)
def test_percent_decoding_matches_urllib_unquote(encoded, decoded):
    assert esl.percent_decode(encoded) == decoded


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("Test Caller", "Test%20Caller"),
        ("+15550001111", "%2B15550001111"),
        ("tone_stream://%(1000,0,440)", "tone_stream%3A//%25(1000,0,440)"),
        ("a\nb", "a%0Ab"),
        ('#&:;<=>?@[\\]^`{|}"\r', "%23%26%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D%22%0D"),
        ("letters_and-./(),*!$'~09", "letters_and-./(),*!$'~09"),
        ("café", "caf%C3%A9"),
        ("tab\tdel\x7f", "tab%09del%7F"),
        ("already%3Aencoded", "already%3Aencoded"),
        ("lower%3ahex", "lower%253ahex"),
        ("%%41", "%25%41"),
    ],
)
def test_values_are_encoded_like_freeswitchs_switch_url_encode(value, encoded):
    assert frames.percent_encode(value) == encoded


def test_header_names_are_never_percent_decoded():
    (got,) = ESLParser().feed(frames.encode_event([("Event-Name", "CUSTOM"), ("X%41", "1%2B1")]))

    assert got.get("X%41") == "1+1"


def test_replies_outside_events_are_kept_as_freeswitch_wrote_them():
    frame = b"Content-Type: command/reply\nReply-Text: -ERR invalid session id [%41+]\n\n"

    (got,) = ESLParser().feed(frame)
    assert got.reply_text == "-ERR invalid session id [%41+]"
    assert got.event is None


def test_an_empty_event_value_is_sent_as_undef_like_freeswitch():
    frame = frames.encode_event([("Event-Name", "CUSTOM"), ("Empty", "")])

    assert b"Empty: _undef_\n" in frame
    assert ESLParser().feed(frame)[0].get("Empty") == "_undef_"


def test_event_round_trip_keeps_order_repeats_and_body():
    pairs = [("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "j1"), ("X", "1"), ("X", "a b")]
    frame = frames.encode_event(pairs, "+OK done\nsecond line")

    (got,) = ESLParser().feed(frame)
    assert got.event is not None
    assert got.event.pairs()[:-1] == pairs
    assert got.event.get_all("X") == ["1", "a b"]
    assert got.body == "+OK done\nsecond line"


def test_undecodable_bytes_are_replaced_instead_of_crashing():
    body = b"caf\xe9\n"
    frame = b"Content-Type: api/response\nContent-Length: %d\n\n%b" % (len(body), body)

    (got,) = ESLParser().feed(frame)
    assert got.body == "caf\ufffd\n"


def test_headers_built_from_pairs_keep_the_first_value_of_a_repeated_name():
    headers = Headers([("A", "1"), ("B", "2"), ("A", "3")])

    assert headers["A"] == "1"
    assert headers.get_all("A") == ["1", "3"]
    assert headers.get_all("missing") == []
    assert headers.pairs() == [("A", "1"), ("B", "2"), ("A", "3")]
    assert headers.to_dict() == {"A": ["1", "3"], "B": "2"}


# --- framing and malformed input ----------------------------------------------------------------

REPLY = b"Content-Type: command/reply\nReply-Text: +OK\n\n"


def event_frame(body: bytes) -> bytes:
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%b" % (len(body), body)


def test_truncated_frame_stays_pending_without_error_until_the_rest_arrives():
    frame = frames.encode_event([("Event-Name", "DTMF"), ("DTMF-Digit", "5")])
    parser = ESLParser()

    assert parser.feed(frame[:30]) == []
    assert parser.pending == 30
    assert parser.feed(frame[30:-1]) == []
    (got,) = parser.feed(frame[-1:])
    assert got.get("DTMF-Digit") == "5"
    assert parser.pending == 0


def test_blank_line_split_across_two_reads_still_ends_the_header_block():
    parser = ESLParser()

    assert parser.feed(REPLY[:-1]) == []
    (got,) = parser.feed(REPLY[-1:])
    assert got.reply_text == "+OK"


def test_several_frames_in_one_read_come_out_in_order():
    stream = REPLY + frames.encode_api_response("+OK\n") + frames.encode_disconnect_notice()

    got = ESLParser().feed(stream)
    assert [m.content_type for m in got] == [
        "command/reply",
        "api/response",
        "text/disconnect-notice",
    ]


@pytest.mark.parametrize(
    ("stream", "complaint"),
    [
        (b"garbage without any structure\n\n", "has no ': '"),
        (b"Content-Type command/reply\n\n", "has no ': '"),
        (b": no name\n\n", "has an empty name"),
        (b"\n\n", "has no ': '"),
        (b"Content-Type: api/response\nContent-Length: 12a\n\n", "non-numeric Content-Length"),
        (b"Content-Type: api/response\nContent-Length: -1\n\n", "non-numeric Content-Length"),
        (b"Content-Type: api/response\nContent-Length: 16777217\n\n", "over the 16777216-byte"),
        (event_frame(b"A: 1\nB: 2"), "no blank line"),
        (event_frame(b"A: 1\nB\n\n"), "text/event-plain body: header line 'B' has no ': '"),
        (event_frame(b"A: 1\n\nextra"), "no Content-Length"),
        (event_frame(b"A: 1\nContent-Length: 9\n\nshort"), "Content-Length 9 but 5 bytes"),
        (event_frame(b"A: 1\nContent-Length: x\n\nshort"), "non-numeric Content-Length 'x'"),
        (event_frame(b"A: 1\nContent-Length: 5\n\n"), "Content-Length 5 but 0 bytes"),
        (event_frame(b"Content-Length: 5\n\n"), "Content-Length 5 but 0 bytes"),
    ],
)
def test_malformed_frames_raise_protocol_error_saying_what_was_wrong(stream, complaint):
    with pytest.raises(ESLProtocolError, match=re.escape(complaint)):
        ESLParser().feed(stream)


def test_protocol_error_names_the_stream_offset_of_the_bad_frame():
    parser = ESLParser()
    parser.feed(REPLY)

    with pytest.raises(ESLProtocolError, match=f"stream byte {len(REPLY)}"):
        parser.feed(b"nonsense\n\n")


def test_header_block_without_end_is_refused_once_over_the_limit(monkeypatch):
    monkeypatch.setattr(esl, "MAX_CONTENT_LENGTH", 64)
    parser = ESLParser()

    assert parser.feed(b"Content-Type: x\n" * 4) == []
    with pytest.raises(ESLProtocolError, match="no blank line within 64 bytes"):
        parser.feed(b"Content-Type: x\n")


def test_protocol_error_is_part_of_the_esl_exception_tree():
    assert issubclass(ESLProtocolError, esl.ESLError)
    assert issubclass(ESLCommandError, esl.ESLError)
    assert issubclass(ESLCommandError, ValueError)


@pytest.mark.parametrize(
    ("build", "complaint"),
    [
        (lambda: frames.encode_event([("Content-Length", "3")], "abc"), "computed from the body"),
        (lambda: frames.encode_event([("Bad: name", "x")]), "': '"),
        (lambda: frames.encode_event([("Name", None)]), "must be a string"),
        (lambda: frames.encode_command_reply("+OK\nInjected: yes"), "line break"),
        (lambda: frames.encode_connect_reply([], socket_mode="sync"), "socket_mode"),
        (lambda: frames.encode_connect_reply([], control="half"), "control"),
    ],
)
def test_encoders_refuse_values_that_would_break_the_frame(build, complaint):
    with pytest.raises(ESLCommandError, match=re.escape(complaint)):
        build()


def test_command_parser_skips_blank_lines_and_ignores_header_name_case():
    (command,) = ESLCommandParser().feed(b"\n\nsendmsg\nCall-Command:   execute\nno colon\n\n")

    assert command.line == "sendmsg"
    assert command.headers == {"call-command": "execute"}


def test_command_parser_refuses_a_non_numeric_content_length():
    with pytest.raises(ESLProtocolError, match="non-numeric Content-Length"):
        ESLCommandParser().feed(b"sendmsg\ncontent-length: many\n\n")


# --- the two sides ------------------------------------------------------------------------------


def test_the_controllers_freeswitch_code_never_imports_the_simulated_freeswitch():
    # The simulator plays FreeSWITCH and may use the controller's parser and errors; the other
    # way round the controller would ship a test double. Function-level and TYPE_CHECKING
    # imports count too.
    package = Path(esl.__file__).parent
    found = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(name.startswith("ivr.simulator") for name in names):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
