"""Say-as values that cannot be said, languages without word tables, and word pieces."""

import pytest

from ivr.prompts.pieces import PAUSE, SpokenValue, pieces_of, spoken_value, vocabulary
from ivr.prompts.sayas import SayAsError, say_as


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("number", "abc", "is not a number"),
        ("number", "NaN", "is not a number"),
        ("number", "1e20", "too large"),
        ("money", "ten", "is not a number"),
        ("ordinal", "2.5", "whole positive number"),
        ("ordinal", "-1", "whole positive number"),
        ("digits", "12a4", "not a string of digits"),
        ("digits", "", "not a string of digits"),
        ("date", "27/11/2026", "is not a date"),
        ("date", "2026-02-30", "is not a date"),
        ("time", "25:00", "is not a time"),
        ("time", "noon", "is not a time"),
    ],
)
@pytest.mark.parametrize("language", ["en", "ru", "bg"])
def test_a_value_that_cannot_be_said_is_a_say_as_error(kind, value, problem, language):
    with pytest.raises(SayAsError, match=problem):
        say_as(kind, value, language)


def test_an_unknown_currency_is_a_say_as_error():
    with pytest.raises(SayAsError, match="cannot say the currency 'XYZ'"):
        say_as("money", "1", "en", currency="XYZ")


def test_an_unknown_gender_is_a_say_as_error():
    with pytest.raises(SayAsError, match="is not a gender"):
        say_as("number", "1", "ru", gender="plural")


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("number", "1234.5", "1\u00a0234,5"),
        ("money", "1234.5", "1\u00a0234,50 EUR"),
        ("date", "2026-11-27", "27.11.2026"),
        ("time", "09:05", "9:05"),
        ("ordinal", "3", "3."),
        ("digits", "12#", "1 2 #"),
    ],
)
def test_languages_without_word_tables_get_numerals_the_tts_engine_reads(kind, value, text):
    assert say_as(kind, value, "de", currency="EUR") == text


def test_a_value_in_a_language_with_word_tables_is_played_from_word_pieces():
    value = spoken_value("date", "2026-11-27", "en", "en-us")
    assert isinstance(value, SpokenValue)
    assert value.text == "Friday, November twenty-seventh, twenty twenty-six"
    assert value.pieces == (
        "Friday", PAUSE, "November", "twenty", "seventh", PAUSE, "twenty", "twenty", "six"
    )  # fmt: skip


def test_a_value_in_another_language_is_rendered_whole():
    value = spoken_value("number", "42", "de", None)
    assert not isinstance(value, SpokenValue)
    assert value.text == "42"


def test_pieces_split_hyphenated_words_and_mark_commas_as_pauses():
    assert pieces_of("one hundred twenty-one, a.m.") == (
        "one", "hundred", "twenty", "one", PAUSE, "a.m."
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en", "ru", "bg"])
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("money", "98765.43"),
        ("date", "2031-08-19"),
        ("time", "17:48"),
        ("number", "402117"),
        ("ordinal", "733"),
        ("digits", "*0123456789#"),
    ],
)
def test_common_values_need_no_piece_outside_the_pre_rendered_vocabulary(language, kind, value):
    pieces = set(spoken_value(kind, value, language, None).pieces) - {PAUSE}
    assert pieces <= vocabulary(kind, language)


def test_a_language_without_word_tables_has_no_vocabulary():
    assert vocabulary("number", "de") == set()
