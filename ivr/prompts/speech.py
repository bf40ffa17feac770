"""What is said on calls besides the prompts a flow spells out, for ``ivr prompts build``.

Two sources: the framework itself (the apology a failing call ends with, the filler while a data
source is slow), and node types, which say through their ``fixed_speech`` hook what they will
say on their own (a queue's announcements, a plugin's countdown), so the build pre-renders it
without knowing any node type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from ivr.flow.prompts import Prompt, base_language

_Said = TypeVar("_Said")

APOLOGY = {
    "en": "Sorry, we cannot take your call right now. Please call again later.",
    "ru": "Извините, сейчас мы не можем принять ваш звонок. Пожалуйста, перезвоните позже.",
    "bg": "Съжаляваме, в момента не можем да приемем обаждането ви. Моля, обадете се по-късно.",
}
"""What a caller hears when the call fails with no error edge to take."""

FILLER = {
    "en": "One moment please.",
    "ru": "Одну минуту, пожалуйста.",
    "bg": "Един момент, моля.",
}
"""What a caller hears while a slow data source or API is answering, unless the flow says."""


def in_language(table: Mapping[str, _Said], language: str) -> _Said:
    """The entry of a per-language table for ``language`` (``bg-bg`` reads ``bg``), else English."""
    return table.get(base_language(language), table["en"])


@dataclass
class FixedSpeech:
    """What a node says on calls that is not written in its options, in one language.

    Attributes:
        prompts: prompts built by the node (say-as values, texts), pre-rendered exactly as the
            flow's own prompts are; the node must play these same prompts on calls.
        texts: whole sentences spoken by TTS.
        pieces: word pieces sentences with a number in them are joined from
            (``ivr.prompts.pieces.spoken_phrase``).
        at_call_time: sentences that can only be rendered on calls (reported, not rendered).
    """

    prompts: list[Prompt] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    pieces: set[str] = field(default_factory=set)
    at_call_time: list[str] = field(default_factory=list)
