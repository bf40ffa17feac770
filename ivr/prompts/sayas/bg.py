"""Bulgarian values in words.

``и`` goes before the last part of a number (сто двадесет и пет), numerals agree in gender,
and anything but one counts with the plural (двадесет и един лева).
"""

from __future__ import annotations

from decimal import Decimal

from ivr.prompts.sayas.triads import TriadWords, triad
from ivr.prompts.sayas.values import (
    parse_date,
    parse_keys,
    parse_money,
    parse_number,
    parse_time,
    parse_whole,
    whole_and_fraction,
)

_BG_UNITS = "нула един два три четири пет шест седем осем девет".split()
_BG_ONE = {"masculine": "един", "feminine": "една", "neuter": "едно"}
_BG_TWO = {"masculine": "два", "feminine": "две", "neuter": "две"}
_BG_TEENS = (
    "десет единадесет дванадесет тринадесет четиринадесет петнадесет шестнадесет "
    "седемнадесет осемнадесет деветнадесет"
).split()
_BG_TENS = (
    "_ _ двадесет тридесет четиридесет петдесет шестдесет седемдесет осемдесет деветдесет"
).split()
_BG_HUNDREDS = (
    "_ сто двеста триста четиристотин петстотин шестстотин седемстотин осемстотин деветстотин"
).split()
_BG_TRIADS = TriadWords(
    tuple(_BG_UNITS),
    _BG_ONE,
    _BG_TWO,
    tuple(_BG_TEENS),
    tuple(_BG_TENS),
    tuple(_BG_HUNDREDS),
)
# (size, gender of the scale noun, singular, plural); 1000 alone is "хиляда".
_BG_SCALES = (
    (10**12, "masculine", "трилион", "трилиона"),
    (10**9, "masculine", "милиард", "милиарда"),
    (10**6, "masculine", "милион", "милиона"),
    (1000, "feminine", "хиляда", "хиляди"),
)
_BG_ORDINAL_UNITS = "_ първ втор трет четвърт пет шест седм осм девет".split()
_BG_ORDINAL_HUNDREDS = (
    "_ сто двесто тристо четиристо петсто шестсто седемсто осемсто деветсто"
).split()
_BG_ORDINAL_SCALES = {10**12: "трилион", 10**9: "милиард", 10**6: "милион", 1000: "хиляд"}
_BG_ENDINGS = {"masculine": "и", "feminine": "а", "neuter": "о"}
# Ordinals in -ен: стотен / стотна / стотно, хиляден / хилядна / хилядно.
_BG_EN_ENDINGS = {"masculine": "ен", "feminine": "на", "neuter": "но"}
_BG_MONTHS = (
    "януари февруари март април май юни юли август септември октомври ноември декември"
).split()
# (gender, singular, plural) of the main unit, then of the hundredth.
_BG_CURRENCY = {
    "BGN": (("masculine", "лев", "лева"), ("feminine", "стотинка", "стотинки")),
    "EUR": (("neuter", "евро", "евро"), ("masculine", "цент", "цента")),
    "USD": (("masculine", "долар", "долара"), ("masculine", "цент", "цента")),
    "GBP": (("feminine", "лира", "лири"), ("masculine", "пенс", "пенса")),
    "RUB": (("feminine", "рубла", "рубли"), ("feminine", "копейка", "копейки")),
}
_BG_UNIT_NOUNS = {"hour": ("masculine", "час", "часа"), "minute": ("feminine", "минута", "минути")}
_BG_FRACTIONS = {1: ("десета", "десети"), 2: ("стотна", "стотни"), 3: ("хилядна", "хилядни")}
_BG_KEYS = {"*": "звезда", "#": "диез", "+": "плюс"}


def _bg_join(parts: list[str]) -> str:
    """Bulgarian puts "и" before the last part: сто и пет, сто двадесет и пет."""
    if len(parts) < 2:
        return " ".join(parts)
    return " ".join(parts[:-1]) + " и " + parts[-1]


def _bg_groups(n: int, gender: str) -> list[tuple[list[str], str]]:
    """The number as groups: (parts of the count, scale word), highest first."""
    groups: list[tuple[list[str], str]] = []
    for size, scale_gender, one, many in _BG_SCALES:
        count, n = divmod(n, size)
        if count == 1:
            groups.append(([], one) if size == 1000 else ([_BG_ONE[scale_gender]], one))
        elif count:
            groups.append((triad(count, scale_gender, _BG_TRIADS), many))
    if n:
        groups.append((triad(n, gender, _BG_TRIADS), ""))
    return groups


def cardinal_bg(n: int, gender: str = "neuter") -> str:
    """A whole number in Bulgarian words, agreeing with a noun of ``gender``.

    "и" comes before the last part of the number: 1001 хиляда и едно, 2500 две хиляди и
    петстотин, 2550 две хиляди петстотин и петдесет, 1 200 000 един милион и двеста хиляди.
    """
    if n < 0:
        return "минус " + cardinal_bg(-n, gender)
    if n == 0:
        return "нула"
    groups = _bg_groups(n, gender)
    words = [" ".join(filter(None, (_bg_join(parts), scale))) for parts, scale in groups]
    if len(groups) > 1 and len(groups[-1][0]) <= 1:
        words[-1] = "и " + words[-1]
    return " ".join(words)


def _bg_ordinal_word(last: int, gender: str) -> str:
    if last < 10:
        return _BG_ORDINAL_UNITS[last] + _BG_ENDINGS[gender]
    if last < 100:
        return (_BG_TEENS[last - 10] if last < 20 else _BG_TENS[last // 10]) + _BG_ENDINGS[gender]
    return _BG_ORDINAL_HUNDREDS[last // 100] + "т" + _BG_EN_ENDINGS[gender]


def ordinal_bg(n: int, gender: str = "masculine") -> str:
    """A Bulgarian ordinal: 21 -> двадесет и първи; 2026 (f) -> две хиляди двадесет и шеста."""
    if n % 1000:
        below = n % 1000
        tail = below % 100
        if 10 <= tail <= 19 or (tail and tail % 10 == 0):
            last = tail
        elif tail:
            last = tail % 10
        else:
            last = below
        parts = triad(below - last, "masculine", _BG_TRIADS) + [_bg_ordinal_word(last, gender)]
        words = [" ".join(filter(None, (_bg_join(p), s))) for p, s in _bg_groups(n - below, "")]
        if words and len(parts) == 1:
            parts[0] = "и " + parts[0]
        return " ".join(words + [_bg_join(parts) if len(parts) > 1 else parts[0]])
    size = next(s for s in sorted(_BG_ORDINAL_SCALES) if n % (s * 1000) or s == 10**12)
    count = (n // size) % 1000 if size < 10**12 else n // size
    prefix = "" if count == 1 else ("дву" if count == 2 and size > 1000 else cardinal_bg(count))
    word = prefix.replace(" ", "") + _BG_ORDINAL_SCALES[size] + _BG_EN_ENDINGS[gender]
    rest = n - count * size
    return f"{cardinal_bg(rest, 'masculine')} {word}" if rest else word


def _bg_number(number: Decimal, gender: str) -> str:
    whole, digits = whole_and_fraction(number)
    if not digits:
        return cardinal_bg(whole, gender)
    sign = "минус " if number < 0 else ""
    if len(digits) > 3:
        keys = " ".join(_bg_digit(d) for d in digits)
        return f"{sign}{cardinal_bg(abs(whole))} запетая {keys}"
    part = int(digits)
    one, many = _BG_FRACTIONS[len(digits)]
    return (
        f"{sign}{cardinal_bg(abs(whole))} цяло и "
        f"{cardinal_bg(part, 'feminine')} {one if part == 1 else many}"
    )


def count_bg(n: int, gender: str, one: str, many: str) -> str:
    """A number with its noun: the singular only for exactly one (двадесет и един лева)."""
    return f"{cardinal_bg(n, gender)} {one if n == 1 else many}"


def _bg_digit(digit: str) -> str:
    return "едно" if digit == "1" else "две" if digit == "2" else _BG_UNITS[int(digit)]


def say(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    """``value`` said as ``kind`` in Bulgarian words (see ``ivr.prompts.sayas.say_as``)."""
    if kind == "digits":
        return " ".join(_BG_KEYS.get(c) or _bg_digit(c) for c in parse_keys(value))
    if kind == "number":
        return _bg_number(parse_number(value), gender or "neuter")
    if kind == "ordinal":
        return ordinal_bg(parse_whole(value, "a whole positive number"), gender or "masculine")
    if kind == "money":
        whole, cents, negative, code = parse_money(value, currency, "bg")
        main, sub = _BG_CURRENCY[code]
        parts = [count_bg(whole, *main)] if whole or not cents else []
        if cents:
            parts.append(count_bg(cents, *sub))
        return ("минус " if negative else "") + " и ".join(parts)
    if kind == "date":
        day = parse_date(value)
        year = ordinal_bg(day.year, "feminine")
        return f"{ordinal_bg(day.day)} {_BG_MONTHS[day.month - 1]} {year} година"
    moment = parse_time(value)
    words = [count_bg(moment.hour, *_BG_UNIT_NOUNS["hour"])]
    if moment.minute:
        words.append("и " + count_bg(moment.minute, *_BG_UNIT_NOUNS["minute"]))
    return " ".join(words)
