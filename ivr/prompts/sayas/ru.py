"""Russian values in words.

Numerals agree in gender with what they count (одна копейка), and nouns take the form the
number asks for (1 рубль / 2 рубля / 5 рублей / 21 рубль).
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

_RU_UNITS = "ноль один два три четыре пять шесть семь восемь девять".split()
_RU_ONE = {"masculine": "один", "feminine": "одна", "neuter": "одно"}
_RU_TWO = {"masculine": "два", "feminine": "две", "neuter": "два"}
_RU_TEENS = (
    "десять одиннадцать двенадцать тринадцать четырнадцать пятнадцать шестнадцать семнадцать "
    "восемнадцать девятнадцать"
).split()
_RU_TENS = (
    "_ _ двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто".split()
)
_RU_HUNDREDS = "_ сто двести триста четыреста пятьсот шестьсот семьсот восемьсот девятьсот".split()
_RU_TRIADS = TriadWords(
    tuple(_RU_UNITS),
    _RU_ONE,
    _RU_TWO,
    tuple(_RU_TEENS),
    tuple(_RU_TENS),
    tuple(_RU_HUNDREDS),
)
# (size, gender of the scale noun, forms for 1 / 2-4 / 5+)
_RU_SCALES = (
    (10**12, "masculine", ("триллион", "триллиона", "триллионов")),
    (10**9, "masculine", ("миллиард", "миллиарда", "миллиардов")),
    (10**6, "masculine", ("миллион", "миллиона", "миллионов")),
    (1000, "feminine", ("тысяча", "тысячи", "тысяч")),
)
# Ordinal stems and their ending type: "ы" (-ый), "о" (stressed -ой), "и" (третий).
_RU_ORDINAL_UNITS = (
    None,
    ("перв", "ы"),
    ("втор", "о"),
    ("трет", "и"),
    ("четвёрт", "ы"),
    ("пят", "ы"),
    ("шест", "о"),
    ("седьм", "о"),
    ("восьм", "о"),
    ("девят", "ы"),
)
_RU_ORDINAL_TEENS = tuple((word[:-1], "ы") for word in _RU_TEENS)
_RU_ORDINAL_TENS = (
    None,
    None,
    ("двадцат", "ы"),
    ("тридцат", "ы"),
    ("сороков", "о"),
    ("пятидесят", "ы"),
    ("шестидесят", "ы"),
    ("семидесят", "ы"),
    ("восьмидесят", "ы"),
    ("девяност", "ы"),
)
_RU_ORDINAL_HUNDREDS = (
    None,
    ("сот", "ы"),
    ("двухсот", "ы"),
    ("трёхсот", "ы"),
    ("четырёхсот", "ы"),
    ("пятисот", "ы"),
    ("шестисот", "ы"),
    ("семисот", "ы"),
    ("восьмисот", "ы"),
    ("девятисот", "ы"),
)
_RU_ORDINAL_SCALES = {10**12: "триллионн", 10**9: "миллиардн", 10**6: "миллионн", 1000: "тысячн"}
# Genitive forms that join a count to an ordinal scale: двухтысячный, двадцатипятитысячный.
_RU_UNITS_GENITIVE = "_ одно двух трёх четырёх пяти шести семи восьми девяти".split()
_RU_TEENS_GENITIVE = [word[:-1] + "и" for word in _RU_TEENS]
_RU_TENS_GENITIVE = (
    "_ _ двадцати тридцати сорока пятидесяти шестидесяти семидесяти восьмидесяти девяноста"
).split()
_RU_HUNDREDS_GENITIVE = (
    "_ сто двухсот трёхсот четырёхсот пятисот шестисот семисот восьмисот девятисот"
).split()
_RU_ENDINGS = {
    ("nominative", "masculine"): {"ы": "ый", "о": "ой", "и": "ий"},
    ("nominative", "feminine"): {"ы": "ая", "о": "ая", "и": "ья"},
    ("nominative", "neuter"): {"ы": "ое", "о": "ое", "и": "ье"},
    ("genitive", "masculine"): {"ы": "ого", "о": "ого", "и": "ьего"},
    ("genitive", "feminine"): {"ы": "ой", "о": "ой", "и": "ьей"},
    ("genitive", "neuter"): {"ы": "ого", "о": "ого", "и": "ьего"},
}
_RU_MONTHS = (
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря"
).split()
# (gender, forms for 1 / 2-4 / 5+) of the main unit, then of the hundredth.
_RU_CENT = ("цент", "цента", "центов")
_RU_KOPECK = ("копейка", "копейки", "копеек")
_RU_STOTINKA = ("стотинка", "стотинки", "стотинок")
_RU_CURRENCY = {
    "RUB": (("masculine", ("рубль", "рубля", "рублей")), ("feminine", _RU_KOPECK)),
    "USD": (("masculine", ("доллар", "доллара", "долларов")), ("masculine", _RU_CENT)),
    "EUR": (("neuter", ("евро", "евро", "евро")), ("masculine", _RU_CENT)),
    "GBP": (("masculine", ("фунт", "фунта", "фунтов")), ("masculine", ("пенс", "пенса", "пенсов"))),
    "BGN": (("masculine", ("лев", "лева", "левов")), ("feminine", _RU_STOTINKA)),
}
_RU_UNIT_NOUNS = {
    "hour": ("masculine", ("час", "часа", "часов")),
    "minute": ("feminine", ("минута", "минуты", "минут")),
}
_RU_FRACTIONS = {1: ("десятая", "десятых"), 2: ("сотая", "сотых"), 3: ("тысячная", "тысячных")}
_RU_KEYS = {"*": "звёздочка", "#": "решётка", "+": "плюс"}


def plural_ru(n: int, forms: tuple[str, str, str]) -> str:
    """The Russian noun form for ``n``: forms for 1, 2-4 and 5+ (рубль, рубля, рублей)."""
    n = abs(n)
    if 11 <= n % 100 <= 19:
        return forms[2]
    if n % 10 == 1:
        return forms[0]
    if 2 <= n % 10 <= 4:
        return forms[1]
    return forms[2]


def cardinal_ru(n: int, gender: str = "masculine") -> str:
    """A whole number in Russian words, agreeing with a noun of ``gender``."""
    if n < 0:
        return "минус " + cardinal_ru(-n, gender)
    if n == 0:
        return "ноль"
    words: list[str] = []
    for size, scale_gender, forms in _RU_SCALES:
        count, n = divmod(n, size)
        if count:
            # "тысяча двести", but "один миллион": how people say them.
            if not (count == 1 and size == 1000):
                words += triad(count, scale_gender, _RU_TRIADS)
            words.append(plural_ru(count, forms))
    words += triad(n, gender, _RU_TRIADS)
    return " ".join(words)


def _ru_count_prefix(count: int) -> str:
    """A count joined to an ordinal scale word: 2 -> двух(тысячный), 25 -> двадцатипяти."""
    parts = []
    if count >= 100:
        parts.append(_RU_HUNDREDS_GENITIVE[count // 100])
        count %= 100
    if 10 <= count <= 19:
        parts.append(_RU_TEENS_GENITIVE[count - 10])
    else:
        if count >= 20:
            parts.append(_RU_TENS_GENITIVE[count // 10])
            count %= 10
        if count and not (count == 1 and not parts):
            parts.append(_RU_UNITS_GENITIVE[count])
    return "".join(parts)


def ordinal_ru(n: int, gender: str = "masculine", case: str = "nominative") -> str:
    """A Russian ordinal: 21 -> двадцать первый; genitive for dates (двадцать седьмого)."""
    endings = _RU_ENDINGS[(case, gender)]
    if n % 1000:
        last = n % 100
        if 10 <= last <= 19:
            stem, kind = _RU_ORDINAL_TEENS[last - 10]
        elif last % 10:
            last %= 10
            stem, kind = _RU_ORDINAL_UNITS[last]
        elif last:
            stem, kind = _RU_ORDINAL_TENS[last // 10]
        else:
            last = n % 1000
            stem, kind = _RU_ORDINAL_HUNDREDS[last // 100]
        rest = n - last
        word = stem + endings[kind]
        return f"{cardinal_ru(rest)} {word}" if rest else word
    size = next(s for s in sorted(_RU_ORDINAL_SCALES) if n % (s * 1000) or s == 10**12)
    count = (n // size) % 1000 if size < 10**12 else n // size
    word = _ru_count_prefix(count) + _RU_ORDINAL_SCALES[size] + endings["ы"]
    rest = n - count * size
    return f"{cardinal_ru(rest)} {word}" if rest else word


def _ru_number(number: Decimal, gender: str) -> str:
    whole, digits = whole_and_fraction(number)
    if not digits:
        return cardinal_ru(whole, gender)
    sign = "минус " if number < 0 else ""
    if len(digits) > 3:
        keys = " ".join(_RU_UNITS[int(d)] for d in digits)
        return f"{sign}{cardinal_ru(abs(whole))} запятая {keys}"
    part = int(digits)
    whole_word = "целая" if plural_ru(abs(whole), ("1", "2", "5")) == "1" else "целых"
    one, many = _RU_FRACTIONS[len(digits)]
    fraction_word = one if plural_ru(part, ("1", "2", "5")) == "1" else many
    return (
        f"{sign}{cardinal_ru(abs(whole), 'feminine')} {whole_word} "
        f"{cardinal_ru(part, 'feminine')} {fraction_word}"
    )


def count_ru(n: int, gender: str, forms: tuple[str, str, str]) -> str:
    """A number with its noun in the right form: 21 рубль, 2 копейки -> двадцать один рубль."""
    return f"{cardinal_ru(n, gender)} {plural_ru(n, forms)}"


def say(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    """``value`` said as ``kind`` in Russian words (see ``ivr.prompts.sayas.say_as``)."""
    if kind == "digits":
        return " ".join(_RU_KEYS.get(c) or _RU_UNITS[int(c)] for c in parse_keys(value))
    if kind == "number":
        return _ru_number(parse_number(value), gender or "masculine")
    if kind == "ordinal":
        return ordinal_ru(parse_whole(value, "a whole positive number"), gender or "masculine")
    if kind == "money":
        whole, cents, negative, code = parse_money(value, currency, "ru")
        (gender_main, forms), (gender_sub, sub_forms) = _RU_CURRENCY[code]
        parts = [count_ru(whole, gender_main, forms)] if whole or not cents else []
        if cents:
            parts.append(count_ru(cents, gender_sub, sub_forms))
        return ("минус " if negative else "") + " ".join(parts)
    if kind == "date":
        day = parse_date(value)
        year = ordinal_ru(day.year, "masculine", "genitive")
        return (
            f"{ordinal_ru(day.day, 'neuter', 'genitive')} {_RU_MONTHS[day.month - 1]} {year} года"
        )
    moment = parse_time(value)
    words = [count_ru(moment.hour, *_RU_UNIT_NOUNS["hour"])]
    if moment.minute:
        words.append(count_ru(moment.minute, *_RU_UNIT_NOUNS["minute"]))
    return " ".join(words)
