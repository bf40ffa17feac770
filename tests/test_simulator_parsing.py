"""The simulator's pure parts: FreeSWITCH's argument splitting, dial strings, media, variables."""

from __future__ import annotations

import wave

import pytest

from ivr.simulator.causes import cause_name, q850
from ivr.simulator.events import Variables
from ivr.simulator.media import resolve, write_silence_wav
from ivr.simulator.parsing import (
    DialLeg,
    atoi,
    expand_variables,
    parse_dial_string,
    separate_string,
    split_scope,
)


def test_arguments_split_on_runs_of_spaces_keeping_quoted_text_together():
    assert separate_string("1  4 'a b' c\\d") == ["1", "4", "a b", "c\\d"]


def test_the_last_allowed_argument_keeps_the_rest_of_the_line():
    assert separate_string("a b c d e", " ", 3) == ["a", "b", "c d e"]


def test_a_caret_prefix_picks_another_separator():
    assert separate_string("^^,a=b,c=d e") == ["a=b", "c=d e"]


def test_an_escaped_separator_stays_in_its_value():
    assert separate_string("a=1\\,5,b=2", ",") == ["a=1,5", "b=2"]


def test_atoi_reads_the_leading_number_like_c():
    assert (atoi(" 42abc"), atoi("-3"), atoi("x"), atoi(None)) == (42, -3, 0, 0)


def test_channel_variables_expand_and_unknown_ones_are_empty():
    assert expand_variables("${a}-${b}", {"a": "x"}.get) == "x-"


def test_a_scope_prefix_holds_variables_for_one_application():
    assert split_scope("%[playback_timeout_sec=3,x='a b']local_stream://moh") == (
        {"playback_timeout_sec": "3", "x": "a b"},
        "local_stream://moh",
    )
    assert split_scope("%;[a=1;b=2]file.wav") == ({"a": "1", "b": "2"}, "file.wav")
    assert split_scope("tone_stream://%(1000,0,440)") is None


def test_dial_string_global_and_leg_variables_and_simultaneous_legs():
    groups = parse_dial_string(
        "{leg_timeout=15,origination_caller_id_name='Acme: Ann\\, VIP'}"
        "[origination_uuid=u1,x=1]user/1001,[origination_uuid=u2]user/1002|user/2000"
    )
    common = {"leg_timeout": "15", "origination_caller_id_name": "Acme: Ann, VIP"}
    assert groups == [
        [
            DialLeg("user/1001", {**common, "origination_uuid": "u1", "x": "1"}),
            DialLeg("user/1002", {**common, "origination_uuid": "u2"}),
        ],
        [DialLeg("user/2000", common)],
    ]


def test_an_unclosed_bracket_is_a_parse_error():
    assert parse_dial_string("{a=b user/1001") is None


@pytest.mark.parametrize(
    ("target", "seconds"),
    [
        ("tone_stream://%(1000,0,440)", 1.0),
        ("tone_stream://%(2000,4000,440,480);loops=3", 18.0),
        ("tone_stream://%(2000,4000,440,480);loops=-1", None),
        ("silence_stream://250", 0.25),
        ("silence_stream://-1", None),
        ("local_stream://moh", None),
    ],
)
def test_stream_lengths_come_from_their_parameters(target, seconds, tmp_path):
    (piece,) = resolve(target, tmp_path)
    assert piece.seconds == seconds


def test_a_file_lasts_as_long_as_its_wav_and_says_the_words_beside_it(tmp_path):
    write_silence_wav(tmp_path / "prompts" / "hello.wav", 2.5)
    (tmp_path / "prompts" / "hello.txt").write_text("Hello there.\n")
    (tmp_path / "prompts" / "other.mp3").write_text("not audio")
    pieces = resolve("file_string://prompts/hello.wav!missing.wav!prompts/other.mp3", tmp_path)
    assert [(p.kind, p.seconds, p.text) for p in pieces] == [
        ("file", 2.5, "Hello there."),
        ("file", pytest.approx(len("other") / 15), "other"),
    ]
    with wave.open(str(tmp_path / "prompts" / "hello.wav")) as audio:
        assert audio.getframerate() == 8000


def test_nothing_playable_is_file_not_found(tmp_path):
    assert resolve("/nonexistent.wav", tmp_path) == []
    assert resolve("file_string://a.wav!b.wav", tmp_path) == []


def test_cause_arguments_read_like_freeswitch():
    assert cause_name("user_busy") == "USER_BUSY"
    assert cause_name("17") == "USER_BUSY"
    assert cause_name("NO_SUCH_CAUSE") == "NORMAL_CLEARING"
    assert (q850("USER_BUSY"), q850("ORIGINATOR_CANCEL")) == (17, 16)


def test_setting_a_variable_moves_it_last_and_empty_unsets_it():
    variables = Variables()
    for name, value in (("a", "1"), ("b", "2"), ("a", "3"), ("b", "")):
        variables.set(name, value)
    variables.push("legs", "x")
    variables.push("legs", "y")
    variables.push("legs", "z")
    assert variables.as_dict() == {"a": "3", "legs": "ARRAY::x|:y|:z"}
