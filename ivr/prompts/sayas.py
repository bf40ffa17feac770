"""Say-as: numbers, digits, money, dates, times and ordinals in the words a caller hears.

English, Russian and Bulgarian are spelled out here, with the grammar each needs: Russian and
Bulgarian numerals agree in gender with what they count (одна копейка, две стотинки), Russian
nouns take the form the number asks for (1 рубль / 2 рубля / 5 рублей / 21 рубль), Bulgarian puts
``и`` before the last part of a number (сто двадесет и пет) and counts with the plural after any
number but one (двадесет и един лева). Other languages get locally formatted numerals, which the
TTS engine reads in its own language. num2words was considered and left out: it has no Bulgarian.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

SAY_LANGUAGES = ("en", "ru", "bg")
"""Languages whose values are spelled out in words (and so can be built from word pieces)."""
GENDERS = ("masculine", "feminine", "neuter")
CURRENCIES = ("USD", "EUR", "GBP", "BGN", "RUB")
DEFAULT_CURRENCY = {"en": "USD", "ru": "RUB", "bg": "BGN"}
LARGEST = 10**15 - 1
"""The largest whole number said in words; larger ones are refused (the node's error edge)."""


class SayAsError(ValueError):
    """The value cannot be spoken as asked (e.g. ``abc`` as money): the node's error edge."""


def _base(language: str) -> str:
    return language.split("-")[0].lower()


# --------------------------------------------------------------------------------- English

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
_EN_UNITS = {"hour": ("hour", "hours"), "minute": ("minute", "minutes")}
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


# --------------------------------------------------------------------------------- Russian

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


def _ru_triad(n: int, gender: str) -> list[str]:
    words = []
    if n >= 100:
        words.append(_RU_HUNDREDS[n // 100])
        n %= 100
    if 10 <= n <= 19:
        words.append(_RU_TEENS[n - 10])
        return words
    if n >= 20:
        words.append(_RU_TENS[n // 10])
        n %= 10
    if n == 1:
        words.append(_RU_ONE[gender])
    elif n == 2:
        words.append(_RU_TWO[gender])
    elif n:
        words.append(_RU_UNITS[n])
    return words


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
                words += _ru_triad(count, scale_gender)
            words.append(plural_ru(count, forms))
    words += _ru_triad(n, gender)
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
    whole, digits = _split(number)
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


# --------------------------------------------------------------------------------- Bulgarian

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


def _bg_triad(n: int, gender: str) -> list[str]:
    """The parts of a number below 1000, without the joining "и"."""
    parts = []
    if n >= 100:
        parts.append(_BG_HUNDREDS[n // 100])
        n %= 100
    if 10 <= n <= 19:
        parts.append(_BG_TEENS[n - 10])
        return parts
    if n >= 20:
        parts.append(_BG_TENS[n // 10])
        n %= 10
    if n == 1:
        parts.append(_BG_ONE[gender])
    elif n == 2:
        parts.append(_BG_TWO[gender])
    elif n:
        parts.append(_BG_UNITS[n])
    return parts


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
            groups.append((_bg_triad(count, scale_gender), many))
    if n:
        groups.append((_bg_triad(n, gender), ""))
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
        parts = _bg_triad(below - last, "masculine") + [_bg_ordinal_word(last, gender)]
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
    whole, digits = _split(number)
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


# --------------------------------------------------------------------------------- parsing


def _decimal(value: str) -> Decimal:
    text = str(value).strip().replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text and len(text.partition(",")[2]) != 3:
        text = text.replace(",", ".")  # 12,50: a decimal comma
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise SayAsError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise SayAsError(f"{value!r} is not a number")
    if abs(number) > LARGEST:
        raise SayAsError(f"{value!r} is too large to say")
    return number


def _split(number: Decimal) -> tuple[int, str]:
    """The whole part and the digits after the point, trailing zeros dropped."""
    whole = int(number)
    text = format(abs(number), "f")
    return whole, text.partition(".")[2].rstrip("0")


def _whole(value: str, what: str) -> int:
    number = _decimal(value)
    if number != number.to_integral_value() or number < 0:
        raise SayAsError(f"{value!r} is not {what}")
    return int(number)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SayAsError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _time(value: str) -> dt.time:
    text = str(value).strip()
    if "T" in text:
        text = text.partition("T")[2]
    if text[1:2] == ":":
        text = "0" + text  # 9:30
    try:
        return dt.time.fromisoformat(text[:8] if len(text) >= 8 else text)
    except ValueError:
        raise SayAsError(f"{value!r} is not a time (HH:MM)") from None


def _keys(value: str) -> str:
    keys = "".join(c for c in str(value) if c not in " -.()")
    if not keys or not all(c.isdigit() or c in "*#+" for c in keys):
        raise SayAsError(f"{value!r} is not a string of digits")
    return keys


def _money(value: str, currency: str | None, language: str) -> tuple[int, int, bool, str]:
    code = (currency or DEFAULT_CURRENCY.get(language, "USD")).upper()
    if code not in CURRENCIES:
        raise SayAsError(f"cannot say the currency {code!r} (known: {', '.join(CURRENCIES)})")
    amount = _decimal(value).quantize(Decimal("0.01"))
    whole, cents = divmod(abs(int(amount * 100)), 100)
    return whole, cents, amount < 0, code


# --------------------------------------------------------------------------------- per language


def _say_en(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    if kind == "digits":
        return " ".join(_EN_KEYS.get(c) or _EN_ONES[int(c)] for c in _keys(value))
    if kind == "number":
        number = _decimal(value)
        whole, digits = _split(number)
        words = ("minus " if number < 0 else "") + number_words_en(abs(whole))
        return f"{words} {_en_fraction(digits)}" if digits else words
    if kind == "ordinal":
        return _en_ordinal(_whole(value, "a whole positive number"))
    if kind == "money":
        whole, cents, negative, code = _money(value, currency, "en")
        one, many, sub_one, sub_many = _EN_CURRENCY[code]
        main = f"{number_words_en(whole)} {one if whole == 1 else many}"
        sub = f"{number_words_en(cents)} {sub_one if cents == 1 else sub_many}"
        text = main if not cents else sub if not whole else f"{main} and {sub}"
        return ("minus " if negative else "") + text
    if kind == "date":
        day = _date(value)
        return f"{day:%A}, {day:%B} {_en_ordinal(day.day)}, {_en_year(day.year)}"
    return _en_time(_time(value))


def _say_ru(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    if kind == "digits":
        return " ".join(_RU_KEYS.get(c) or _RU_UNITS[int(c)] for c in _keys(value))
    if kind == "number":
        return _ru_number(_decimal(value), gender or "masculine")
    if kind == "ordinal":
        return ordinal_ru(_whole(value, "a whole positive number"), gender or "masculine")
    if kind == "money":
        whole, cents, negative, code = _money(value, currency, "ru")
        (gender_main, forms), (gender_sub, sub_forms) = _RU_CURRENCY[code]
        parts = [count_ru(whole, gender_main, forms)] if whole or not cents else []
        if cents:
            parts.append(count_ru(cents, gender_sub, sub_forms))
        return ("минус " if negative else "") + " ".join(parts)
    if kind == "date":
        day = _date(value)
        year = ordinal_ru(day.year, "masculine", "genitive")
        return (
            f"{ordinal_ru(day.day, 'neuter', 'genitive')} {_RU_MONTHS[day.month - 1]} {year} года"
        )
    moment = _time(value)
    words = [count_ru(moment.hour, *_RU_UNIT_NOUNS["hour"])]
    if moment.minute:
        words.append(count_ru(moment.minute, *_RU_UNIT_NOUNS["minute"]))
    return " ".join(words)


def _say_bg(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    if kind == "digits":
        return " ".join(_BG_KEYS.get(c) or _bg_digit(c) for c in _keys(value))
    if kind == "number":
        return _bg_number(_decimal(value), gender or "neuter")
    if kind == "ordinal":
        return ordinal_bg(_whole(value, "a whole positive number"), gender or "masculine")
    if kind == "money":
        whole, cents, negative, code = _money(value, currency, "bg")
        main, sub = _BG_CURRENCY[code]
        parts = [count_bg(whole, *main)] if whole or not cents else []
        if cents:
            parts.append(count_bg(cents, *sub))
        return ("минус " if negative else "") + " и ".join(parts)
    if kind == "date":
        day = _date(value)
        year = ordinal_bg(day.year, "feminine")
        return f"{ordinal_bg(day.day)} {_BG_MONTHS[day.month - 1]} {year} година"
    moment = _time(value)
    words = [count_bg(moment.hour, *_BG_UNIT_NOUNS["hour"])]
    if moment.minute:
        words.append("и " + count_bg(moment.minute, *_BG_UNIT_NOUNS["minute"]))
    return " ".join(words)


def _say_numerals(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    """Languages without word tables: numerals the TTS engine reads in its own language."""
    if kind == "digits":
        return " ".join(_keys(value))
    if kind == "number":
        return f"{_decimal(value):,}".replace(",", "\u00a0").replace(".", ",")
    if kind == "ordinal":
        return f"{_whole(value, 'a whole positive number')}."
    if kind == "money":
        whole, cents, negative, code = _money(value, currency, "")
        return f"{'-' if negative else ''}{whole:,}".replace(",", "\u00a0") + f",{cents:02d} {code}"
    if kind == "date":
        day = _date(value)
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    moment = _time(value)
    return f"{moment.hour}:{moment.minute:02d}"


_SAYERS: dict[str, Callable[[str, str, str | None, str | None], str]] = {
    "en": _say_en,
    "ru": _say_ru,
    "bg": _say_bg,
}
KINDS = ("number", "digits", "money", "date", "time", "ordinal")


def say_as(
    kind: str,
    value: str,
    language: str,
    *,
    currency: str | None = None,
    gender: str | None = None,
) -> str:
    """The words for ``value`` said as ``kind`` in ``language``.

    Args:
        kind: one of ``number``, ``digits``, ``money``, ``date``, ``time``, ``ordinal``.
        value: the value as text (``1234.5``, ``2026-11-27``, ``09:30``, ``+359 2 123``).
        language: the language code (``en``, ``ru``, ``bg``, ``en-us``...).
        currency: for money, an ISO code (default: the language's own currency).
        gender: for numbers and ordinals in Russian and Bulgarian, the gender of what is
            counted (default: masculine in Russian, neuter numbers and masculine ordinals in
            Bulgarian).

    Raises:
        SayAsError: the value does not fit the kind, or the kind or currency is unknown.
    """
    if kind not in KINDS:
        raise SayAsError(f"cannot say a value as {kind!r}")
    if gender is not None and gender not in GENDERS:
        raise SayAsError(f"{gender!r} is not a gender ({', '.join(GENDERS)})")
    sayer = _SAYERS.get(_base(language), _say_numerals)
    return sayer(kind, str(value), currency, gender)


def say_count(n: int, unit: str, language: str) -> str:
    """A count of ``unit`` (``hour`` or ``minute``) in words: 5 minutes -> пять минут."""
    lang = _base(language)
    if lang == "ru":
        return count_ru(n, *_RU_UNIT_NOUNS[unit])
    if lang == "bg":
        return count_bg(n, *_BG_UNIT_NOUNS[unit])
    one, many = _EN_UNITS[unit]
    words = number_words_en(n) if lang == "en" else str(n)
    return f"{words} {one if n == 1 else many}"
