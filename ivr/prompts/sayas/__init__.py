"""Say-as: numbers, digits, money, dates, times and ordinals in the words a caller hears.

English, Russian and Bulgarian are spelled out, one module each (``en``, ``ru``, ``bg``), with
the grammar each needs; other languages get locally formatted numerals (``numerals``), which
the TTS engine reads in its own language. A language is added by writing its module with a
``say(kind, value, currency, gender)`` and naming it in ``SAYERS``. num2words was considered and
left out: it has no Bulgarian.
"""

from __future__ import annotations

from collections.abc import Callable

from ivr.flow.prompts import GENDERS, SAY_KINDS, base_language
from ivr.prompts.sayas import bg, en, numerals, ru
from ivr.prompts.sayas.values import DEFAULT_CURRENCY, SayAsError

__all__ = ["DEFAULT_CURRENCY", "SAY_LANGUAGES", "SAYERS", "SayAsError", "say_as"]

SAYERS: dict[str, Callable[[str, str, str | None, str | None], str]] = {
    "en": en.say,
    "ru": ru.say,
    "bg": bg.say,
}
"""Languages whose values are spelled out in words, by their base code."""
SAY_LANGUAGES = tuple(SAYERS)
"""Languages whose values are spelled out in words (and so can be built from word pieces)."""


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
    if kind not in SAY_KINDS:
        raise SayAsError(f"cannot say a value as {kind!r}")
    if gender is not None and gender not in GENDERS:
        raise SayAsError(f"{gender!r} is not a gender ({', '.join(GENDERS)})")
    sayer = SAYERS.get(base_language(language), numerals.say)
    return sayer(kind, str(value), currency, gender)
