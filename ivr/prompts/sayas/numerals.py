"""Languages without word tables: numerals the TTS engine reads in its own language."""

from __future__ import annotations

from ivr.prompts.sayas.values import (
    parse_date,
    parse_keys,
    parse_money,
    parse_number,
    parse_time,
    parse_whole,
)


def say(kind: str, value: str, currency: str | None, gender: str | None) -> str:
    """``value`` said as ``kind`` in numerals (see ``ivr.prompts.sayas.say_as``)."""
    if kind == "digits":
        return " ".join(parse_keys(value))
    if kind == "number":
        return f"{parse_number(value):,}".replace(",", "\u00a0").replace(".", ",")
    if kind == "ordinal":
        return f"{parse_whole(value, 'a whole positive number')}."
    if kind == "money":
        whole, cents, negative, code = parse_money(value, currency, "")
        return f"{'-' if negative else ''}{whole:,}".replace(",", "\u00a0") + f",{cents:02d} {code}"
    if kind == "date":
        day = parse_date(value)
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    moment = parse_time(value)
    return f"{moment.hour}:{moment.minute:02d}"
