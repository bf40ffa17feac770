"""Reading the values a prompt says: numbers, money, dates, times and strings of keys.

Shared by every language; a value that does not fit raises ``SayAsError`` (the node's error
edge).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from ivr.errors import IvrError
from ivr.flow.prompts import CURRENCIES

DEFAULT_CURRENCY = {"en": "USD", "ru": "RUB", "bg": "BGN"}
LARGEST = 10**15 - 1
"""The largest whole number said in words; larger ones are refused (the node's error edge)."""


class SayAsError(IvrError, ValueError):
    """The value cannot be spoken as asked (e.g. ``abc`` as money): the node's error edge."""


def parse_number(value: str) -> Decimal:
    """A number as written (``1234.5``, ``12,50``, ``1 234``), no larger than ``LARGEST``."""
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


def whole_and_fraction(number: Decimal) -> tuple[int, str]:
    """The whole part and the digits after the point, trailing zeros dropped."""
    whole = int(number)
    text = format(abs(number), "f")
    return whole, text.partition(".")[2].rstrip("0")


def parse_whole(value: str, what: str) -> int:
    """A whole number of at least zero; ``what`` names it in the error."""
    number = parse_number(value)
    if number != number.to_integral_value() or number < 0:
        raise SayAsError(f"{value!r} is not {what}")
    return int(number)


def parse_date(value: str) -> dt.date:
    """A date from ``YYYY-MM-DD`` (a timestamp's date part is taken)."""
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SayAsError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_time(value: str) -> dt.time:
    """A time from ``HH:MM`` or ``HH:MM:SS``, or the time part of a timestamp."""
    text = str(value).strip()
    if "T" in text:
        text = text.partition("T")[2]
    if text[1:2] == ":":
        text = "0" + text  # 9:30
    try:
        return dt.time.fromisoformat(text[:8] if len(text) >= 8 else text)
    except ValueError:
        raise SayAsError(f"{value!r} is not a time (HH:MM)") from None


def parse_keys(value: str) -> str:
    """Phone keys from a number as written (``+359 2 123``): spaces and dashes go."""
    keys = "".join(c for c in str(value) if c not in " -.()")
    if not keys or not all(c.isdigit() or c in "*#+" for c in keys):
        raise SayAsError(f"{value!r} is not a string of digits")
    return keys


def parse_money(value: str, currency: str | None, language: str) -> tuple[int, int, bool, str]:
    """Money as whole units, cents, whether it is negative, and the currency code."""
    code = (currency or DEFAULT_CURRENCY.get(language, "USD")).upper()
    if code not in CURRENCIES:
        raise SayAsError(f"cannot say the currency {code!r} (known: {', '.join(CURRENCIES)})")
    amount = parse_number(value).quantize(Decimal("0.01"))
    whole, cents = divmod(abs(int(amount * 100)), 100)
    return whole, cents, amount < 0, code
