"""Numbers below a thousand in languages that spell them hundreds, tens, units.

Russian and Bulgarian say 1 to 999 the same way (a hundreds word, then a teen, or a tens word and
a unit) and make one and two agree in gender with what is counted; only the words differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TriadWords:
    """One language's words for the numbers below a thousand.

    Attributes:
        units: zero to nine.
        one: one, by gender.
        two: two, by gender.
        teens: ten to nineteen.
        tens: by tens, index 2 for twenty.
        hundreds: by hundreds, index 1 for a hundred.
    """

    units: tuple[str, ...]
    one: dict[str, str]
    two: dict[str, str]
    teens: tuple[str, ...]
    tens: tuple[str, ...]
    hundreds: tuple[str, ...]


def triad(n: int, gender: str, words: TriadWords) -> list[str]:
    """The words of ``n`` (below 1000) in order, with one and two in ``gender``."""
    parts = []
    if n >= 100:
        parts.append(words.hundreds[n // 100])
        n %= 100
    if 10 <= n <= 19:
        parts.append(words.teens[n - 10])
        return parts
    if n >= 20:
        parts.append(words.tens[n // 10])
        n %= 10
    if n == 1:
        parts.append(words.one[gender])
    elif n == 2:
        parts.append(words.two[gender])
    elif n:
        parts.append(words.units[n])
    return parts
