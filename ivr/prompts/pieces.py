"""Say-as values played from word pieces, so a balance is spoken without a TTS run per call.

In English, Russian and Bulgarian a value's words come from closed lists (numbers, months,
currency names), so each word is rendered once as a piece and a value is the pieces joined with
short gaps, the way FreeSWITCH's own ``say`` joins recorded digits. ``vocabulary`` lists the
pieces a kind of value can need, for ``ivr prompts build`` to pre-render. In other languages the
value is rendered whole by TTS.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ivr.flow.prompts import base_language
from ivr.prompts.sayas import DEFAULT_CURRENCY, SAY_LANGUAGES, say_as
from ivr.runtime.channel import Utterance

PAUSE = ","
"""The piece that stands for a short pause (after a comma, as in a date's weekday)."""


@dataclass(frozen=True)
class SpokenValue(Utterance):
    """A say-as value: its words as text, and the pieces it is played from.

    Attributes:
        pieces: the words to play in a row; ``PAUSE`` is a short silence.
    """

    pieces: tuple[str, ...] = ()


def pieces_of(text: str) -> tuple[str, ...]:
    """The pieces of a value's words: hyphenated words split (twenty-one), commas as pauses."""
    out: list[str] = []
    for word in text.split():
        comma = word.endswith(",")
        out.extend(part for part in word.rstrip(",").split("-") if part)
        if comma:
            out.append(PAUSE)
    return tuple(out)


def spoken_value(
    kind: str,
    value: str,
    language: str,
    voice: str | None,
    *,
    currency: str | None = None,
    gender: str | None = None,
) -> Utterance:
    """The utterance for a say-as value: pieces where the language has word tables.

    Raises:
        SayAsError: the value cannot be said as ``kind``.
    """
    text = say_as(kind, value, language, currency=currency, gender=gender)
    if base_language(language) not in SAY_LANGUAGES:
        return Utterance(text, language, voice)
    return SpokenValue(text, language, voice, pieces=pieces_of(text))


_SCALES = [str(c * 10**k) for c in (1, 2, 3, 5, 21) for k in (3, 6, 9, 12)]
_FRACTIONS = ["1.1", "2.2", "5.5", "1.01", "2.02", "1.001", "2.002", "-3.14159"]


def _samples(kind: str) -> list[str]:
    if kind == "digits":
        return ["0123456789*#+"]
    if kind == "number":
        return [str(n) for n in range(1000)] + _SCALES + _FRACTIONS
    if kind == "ordinal":
        return [str(n) for n in range(1, 1000)] + _SCALES
    if kind == "money":
        return [f"{n}.{n % 100:02d}" for n in range(1000)] + ["-0.01", "0"] + _SCALES
    if kind == "date":
        first = dt.date(2028, 1, 1)  # a leap year: every day of every month
        days = [str(first + dt.timedelta(days=n)) for n in range(366)]
        return days + [f"{year}-01-01" for year in range(1900, 2101)]
    return [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60)]


def vocabulary(
    kind: str, language: str, *, currency: str | None = None, gender: str | None = None
) -> set[str]:
    """The pieces values of ``kind`` are made of in ``language`` (empty where not built so).

    Covers every value a caller commonly hears (numbers below a thousand and round scales, all
    amounts with cents, every date from 1900 to 2100, every minute of the day); a rarer value's
    missing pieces are rendered the first time it is said, then cached like the others.
    """
    base = base_language(language)
    if base not in SAY_LANGUAGES:
        return set()
    code = currency or DEFAULT_CURRENCY[base]
    words: set[str] = set()
    for sample in _samples(kind):
        text = say_as(kind, sample, language, currency=code, gender=gender)
        words.update(pieces_of(text))
    words.discard(PAUSE)
    return words


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def phrase_parts(template: str) -> tuple[str, ...]:
    """The fixed parts of a sentence with one ``{value}`` in it, each played as one piece.

    Parts with nothing to say (a lone full stop) are left out.
    """
    parts = (part.strip().lstrip(".,;:").strip() for part in _PLACEHOLDER.split(template)[::2])
    return tuple(part for part in parts if any(c.isalnum() for c in part))


def spoken_phrase(
    template: str,
    language: str,
    voice: str | None,
    *,
    kind: str,
    value: str,
    shown: str | None = None,
    gender: str | None = None,
) -> Utterance:
    """A built-in sentence with one value in it ("You are number {n} in line."), from pieces.

    The sentence's fixed parts and the value's words are pieces, so a queue announcement is
    played without a TTS run on the call (``ivr prompts build`` renders the parts and the
    value's vocabulary). Its text, for transcripts, is the template filled with ``shown``
    (default: ``value``). In languages without word tables the sentence is rendered whole.

    Raises:
        SayAsError: the value cannot be said as ``kind``.
    """
    match = _PLACEHOLDER.search(template)
    if match is None:
        return Utterance(template, language, voice)
    text = template.replace(match.group(0), value if shown is None else shown)
    if base_language(language) not in SAY_LANGUAGES:
        return Utterance(text, language, voice)
    before, _, after = template.partition(match.group(0))
    words = pieces_of(say_as(kind, value, language, gender=gender))
    pieces = phrase_parts(before) + words + phrase_parts(after)
    return SpokenValue(text, language, voice, pieces=pieces)
