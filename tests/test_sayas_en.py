"""Say-as in English: values as a English-speaking caller expects to hear them."""

import pytest

from ivr.prompts.sayas import say_as

CASES = [
    ("number", "0", "zero"),
    ("number", "1", "one"),
    ("number", "7", "seven"),
    ("number", "13", "thirteen"),
    ("number", "20", "twenty"),
    ("number", "21", "twenty-one"),
    ("number", "45", "forty-five"),
    ("number", "99", "ninety-nine"),
    ("number", "100", "one hundred"),
    ("number", "101", "one hundred one"),
    ("number", "115", "one hundred fifteen"),
    ("number", "999", "nine hundred ninety-nine"),
    ("number", "1000", "one thousand"),
    ("number", "1001", "one thousand one"),
    ("number", "1234", "one thousand two hundred thirty-four"),
    ("number", "20000", "twenty thousand"),
    ("number", "100000", "one hundred thousand"),
    ("number", "1000000", "one million"),
    ("number", "1000001", "one million one"),
    ("number", "2500000000", "two billion five hundred million"),
    ("number", "1000000000000", "one trillion"),
    ("number", "-3", "minus three"),
    ("number", "-0.5", "minus zero point five"),
    ("number", "3.14", "three point one four"),
    ("number", "1,234.5", "one thousand two hundred thirty-four point five"),
    ("number", "12,50", "twelve point five"),
    ("money", "0", "zero dollars"),
    ("money", "0.01", "one cent"),
    ("money", "0.5", "fifty cents"),
    ("money", "1", "one dollar"),
    ("money", "1.01", "one dollar and one cent"),
    ("money", "2", "two dollars"),
    ("money", "21.21", "twenty-one dollars and twenty-one cents"),
    ("money", "1234.56", "one thousand two hundred thirty-four dollars and fifty-six cents"),
    ("money", "98000", "ninety-eight thousand dollars"),
    ("money", "-5.25", "minus five dollars and twenty-five cents"),
    ("ordinal", "1", "first"),
    ("ordinal", "2", "second"),
    ("ordinal", "3", "third"),
    ("ordinal", "4", "fourth"),
    ("ordinal", "5", "fifth"),
    ("ordinal", "8", "eighth"),
    ("ordinal", "9", "ninth"),
    ("ordinal", "11", "eleventh"),
    ("ordinal", "12", "twelfth"),
    ("ordinal", "13", "thirteenth"),
    ("ordinal", "20", "twentieth"),
    ("ordinal", "21", "twenty-first"),
    ("ordinal", "22", "twenty-second"),
    ("ordinal", "23", "twenty-third"),
    ("ordinal", "30", "thirtieth"),
    ("ordinal", "40", "fortieth"),
    ("ordinal", "99", "ninety-ninth"),
    ("ordinal", "100", "one hundredth"),
    ("ordinal", "101", "one hundred first"),
    ("ordinal", "112", "one hundred twelfth"),
    ("ordinal", "1000", "one thousandth"),
    ("ordinal", "1000000", "one millionth"),
    ("date", "2026-11-27", "Friday, November twenty-seventh, twenty twenty-six"),
    ("date", "2026-01-01", "Thursday, January first, twenty twenty-six"),
    ("date", "2026-02-02", "Monday, February second, twenty twenty-six"),
    ("date", "2026-03-03", "Tuesday, March third, twenty twenty-six"),
    ("date", "2000-06-15", "Thursday, June fifteenth, two thousand"),
    ("date", "2005-07-04", "Monday, July fourth, two thousand five"),
    ("date", "2010-10-10", "Sunday, October tenth, twenty ten"),
    ("date", "1999-12-31", "Friday, December thirty-first, nineteen ninety-nine"),
    ("date", "1905-05-05", "Friday, May fifth, nineteen oh five"),
    ("date", "1900-01-01", "Monday, January first, nineteen hundred"),
    ("date", "2100-02-28", "Sunday, February twenty-eighth, twenty-one hundred"),
    ("date", "2026-11-27T10:00:00", "Friday, November twenty-seventh, twenty twenty-six"),
    ("time", "00:00", "twelve midnight"),
    ("time", "00:15", "twelve fifteen a.m."),
    ("time", "01:05", "one oh five a.m."),
    ("time", "09:00", "nine a.m."),
    ("time", "9:30", "nine thirty a.m."),
    ("time", "11:59", "eleven fifty-nine a.m."),
    ("time", "12:00", "twelve noon"),
    ("time", "12:30", "twelve thirty p.m."),
    ("time", "13:00", "one p.m."),
    ("time", "19:30", "seven thirty p.m."),
    ("time", "21:05", "nine oh five p.m."),
    ("time", "23:59", "eleven fifty-nine p.m."),
    ("time", "2026-11-27T14:45:00+02:00", "two forty-five p.m."),
    ("digits", "555-0100", "five five five zero one zero zero"),
    ("digits", "+1 (800) 555*#", "plus one eight zero zero five five five star hash"),
]


@pytest.mark.parametrize(("kind", "value", "words"), CASES)
def test_value_is_said_as_people_say_it(kind, value, words):
    assert say_as(kind, value, "en") == words


@pytest.mark.parametrize(
    ("value", "currency", "words"),
    [
        ("1", "EUR", "one euro"),
        ("2.50", "EUR", "two euros and fifty cents"),
        ("1.01", "GBP", "one pound and one penny"),
        ("3.20", "GBP", "three pounds and twenty pence"),
        ("1", "BGN", "one lev"),
        ("25.50", "BGN", "twenty-five leva and fifty stotinki"),
        ("1.01", "RUB", "one rouble and one kopeck"),
    ],
)
def test_currencies_take_their_english_names(value, currency, words):
    assert say_as("money", value, "en", currency=currency) == words


def test_a_regional_english_code_speaks_english():
    assert say_as("number", "21", "en-us") == "twenty-one"
