"""Say-as: numbers, digits, money, dates, times and ordinals turned into the words a caller hears.

English is spelled out in words here. Russian and Bulgarian need number agreement and gender
(1 рубль / 2 рубля / 5 рублей), which the prompts issue builds; until then they are given to
the TTS engine as locally formatted numerals, which espeak-ng reads in the right language.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation


class SayAsError(ValueError):
    """The value cannot be spoken as asked (e.g. ``abc`` as money): the node's error edge."""


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_CURRENCY_EN = {
    "USD": ("dollar", "dollars", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "BGN": ("lev", "leva", "stotinka", "stotinki"),
    "RUB": ("rouble", "roubles", "kopeck", "kopecks"),
}
_DEFAULT_CURRENCY = {"en": "USD", "ru": "RUB", "bg": "BGN"}
_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "BGN": "лв.", "RUB": "₽"}


def _under_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def number_words_en(n: int) -> str:
    """An integer in English words: 1234 -> one thousand two hundred thirty-four."""
    if n < 0:
        return "minus " + number_words_en(-n)
    if n < 1000:
        return _under_thousand(n)
    words = []
    for size, name in _SCALES:
        if n >= size:
            words.append(f"{number_words_en(n // size)} {name}")
            n %= size
    if n:
        words.append(_under_thousand(n))
    return " ".join(words)


def _ordinal_en(n: int) -> str:
    words = number_words_en(n)
    head, sep, last = words.rpartition(" ")
    if "-" in last:
        pre, _, unit = last.rpartition("-")
        last = f"{pre}-{_ORDINAL_WORDS.get(unit, unit + 'th')}"
    elif last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def _decimal(value: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "").replace(" ", ""))
    except InvalidOperation:
        raise SayAsError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise SayAsError(f"{value!r} is not a number")
    return number


def _grouped(number: Decimal, decimals: int | None, sep: str, point: str) -> str:
    text = f"{number:,.{decimals}f}" if decimals is not None else f"{number:,}"
    return text.replace(",", "\0").replace(".", point).replace("\0", sep)


def say_as(kind: str, value: str, language: str, *, currency: str | None = None) -> str:
    """The words for ``value`` said as ``kind`` in ``language``.

    Raises:
        SayAsError: the value does not fit the kind.
    """
    lang = language.split("-")[0]
    if kind == "digits":
        digits = str(value).strip()
        if not digits or not all(c.isdigit() or c in "*#+" for c in digits):
            raise SayAsError(f"{value!r} is not a string of digits")
        return " ".join(digits)
    if kind in ("number", "ordinal"):
        number = _decimal(value)
        if kind == "ordinal":
            if number != number.to_integral_value() or number < 0:
                raise SayAsError(f"{value!r} is not a whole positive number")
            return _ordinal_en(int(number)) if lang == "en" else f"{int(number)}."
        if lang == "en":
            whole = int(number)
            text = number_words_en(whole)
            frac = str(abs(number) - abs(whole)).partition(".")[2].rstrip("0")
            return f"{text} point {' '.join(_ONES[int(d)] for d in frac)}" if frac else text
        return _grouped(number, None, "\u00a0", ",")
    if kind == "money":
        code = (currency or _DEFAULT_CURRENCY.get(lang, "USD")).upper()
        amount = _decimal(value).quantize(Decimal("0.01"))
        if lang == "en" and code in _CURRENCY_EN:
            one, many, sub_one, sub_many = _CURRENCY_EN[code]
            whole, cents = divmod(abs(int(amount * 100)), 100)
            sign = "minus " if amount < 0 else ""
            text = f"{sign}{number_words_en(whole)} {one if whole == 1 else many}"
            if cents:
                text += f" and {number_words_en(cents)} {sub_one if cents == 1 else sub_many}"
            return text
        return f"{_grouped(amount, 2, chr(160), ',')} {_SYMBOL.get(code, code)}"
    if kind == "date":
        try:
            day = dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise SayAsError(f"{value!r} is not a date (YYYY-MM-DD)") from None
        if lang == "en":
            return f"{day:%A}, {day:%B} {_ordinal_en(day.day)}, {day.year}"
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    if kind == "time":
        try:
            moment = dt.time.fromisoformat(str(value).strip())
        except ValueError:
            raise SayAsError(f"{value!r} is not a time (HH:MM)") from None
        if lang == "en":
            hour = moment.hour % 12 or 12
            minutes = (
                ""
                if moment.minute == 0
                else (
                    f" oh {number_words_en(moment.minute)}"
                    if moment.minute < 10
                    else f" {number_words_en(moment.minute)}"
                )
            )
            return f"{number_words_en(hour)}{minutes} {'a.m.' if moment.hour < 12 else 'p.m.'}"
        return f"{moment.hour}:{moment.minute:02d}"
    raise SayAsError(f"cannot say a value as {kind!r}")
