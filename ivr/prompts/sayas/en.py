"""English: numbers, digits, money, dates, times and ordinals in words."""

from __future__ import annotations

import datetime as dt

from ivr.prompts.sayas.values import (
    parse_date,
    parse_keys,
    parse_money,
    parse_number,
    parse_time,
    parse_whole,
    whole_and_fraction,
)

_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_EN_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_EN_CURRENCY = {
    "USD": ("dollar", "dollars", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "BGN": ("lev", "leva", "stotinka", "stotinki"),
    "RUB": ("rouble", "roubles", "kopeck", "kopecks"),
}
_EN_KEYS = {"*": "star", "#": "hash", "+": "plus"}


def _en_under_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words += [_EN_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_EN_TENS[n // 10] + (f"-{_EN_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_EN_ONES[n])
    return " ".join(words)


def number_words_en(n: int) -> str:
    """A whole number in English words: 1234 -> one thousand two hundred thirty-four."""
    if n < 0:
        return "minus " + number_words_en(-n)
    words = []
    for size, name in _EN_SCALES:
        if n >= size:
            words.append(f"{_en_under_thousand(n // size)} {name}")
            n %= size
    if n or not words:
        words.append(_en_under_thousand(n))
    return " ".join(words)


def _en_ordinal(n: int) -> str:
    head, sep, last = number_words_en(n).rpartition(" ")
    pre, hyphen, unit = last.rpartition("-")
    if unit in _EN_ORDINAL:
        unit = _EN_ORDINAL[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return head + sep + pre + hyphen + unit


def _en_fraction(digits: str) -> str:
    return "point " + " ".join(_EN_ONES[int(d)] for d in digits)


def _en_year(year: int) -> str:
    if year < 1000 or year >= 10000 or 2000 <= year <= 2009 or year % 1000 == 0:
        return number_words_en(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{number_words_en(high)} hundred"
    if low < 10:
        return f"{number_words_en(high)} oh {_EN_ONES[low]}"
    return f"{number_words_en(high)} {number_words_en(low)}"


def _en_time(moment: dt.time) -> str:
    if moment.minute == 0 and moment.hour in (0, 12):
        return "twelve midnight" if moment.hour == 0 else "twelve noon"
    words = [number_words_en(moment.hour % 12 or 12)]
    if moment.minute:
        words.append(("oh " if moment.minute < 10 else "") + number_words_en(moment.minute))
    words.append("a.m." if moment.hour < 12 else "p.m.")
    return " ".join(words)


def say(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    """``value`` said as ``kind`` in English words (see ``ivr.prompts.sayas.say_as``)."""
    if kind == "digits":
        return " ".join(_EN_KEYS.get(c) or _EN_ONES[int(c)] for c in parse_keys(value))
    if kind == "number":
        number = parse_number(value)
        whole, digits = whole_and_fraction(number)
        words = ("minus " if number < 0 else "") + number_words_en(abs(whole))
        return f"{words} {_en_fraction(digits)}" if digits else words
    if kind == "ordinal":
        return _en_ordinal(parse_whole(value, "a whole positive number"))
    if kind == "money":
        whole, cents, negative, code = parse_money(value, currency, "en")
        one, many, sub_one, sub_many = _EN_CURRENCY[code]
        main = f"{number_words_en(whole)} {one if whole == 1 else many}"
        sub = f"{number_words_en(cents)} {sub_one if cents == 1 else sub_many}"
        text = main if not cents else sub if not whole else f"{main} and {sub}"
        return ("minus " if negative else "") + text
    if kind == "date":
        day = parse_date(value)
        return f"{day:%A}, {day:%B} {_en_ordinal(day.day)}, {_en_year(day.year)}"
    return _en_time(parse_time(value))
