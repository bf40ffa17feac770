"""The prompt part of the flow language: what a caller hears, as written by an analyst.

A prompt is text (a jinja2 template spoken by TTS), ``{sound: name}`` (a recording), ``{sound:
name, text: ...}`` (a recording with the words it says, spoken by TTS when the file is missing),
``{say: kind, value: ...}`` (a number, money, a date... spoken the way people say it), ``{text:
..., language: bg}`` (text always spoken in one language, as in "for English press 1, за
български натиснете 2"), a list of those played in a row, or a mapping of language code to any of
those when the flow speaks several languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ivr.flow.source import Diagnostics, LDict, LList, Mark, suggest

SAY_KINDS = ("number", "digits", "money", "date", "time", "ordinal")
"""How a ``{say: ...}`` part may say its value."""
GENDERS = ("masculine", "feminine", "neuter")
"""What a number or ordinal may agree with (Russian and Bulgarian)."""
CURRENCIES = ("USD", "EUR", "GBP", "BGN", "RUB")
"""The currencies money is said in."""
LANGUAGE_CODE = re.compile(r"[a-z]{2}(-[a-z]{2})?")


def base_language(code: str) -> str:
    """The language of ``code`` without its region: ``bg`` for ``bg-bg``."""
    return code.split("-")[0].lower()


_SAY_OPTIONS = {"say", "value", "currency", "gender"}
_SOUND_OPTIONS = {"sound", "text"}
_TEXT_OPTIONS = {"text", "language"}
_TEMPLATE_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


@dataclass(frozen=True)
class TextPart:
    """Text spoken by TTS, rendered from a jinja2 template first.

    ``language`` fixes the language it is spoken in, whatever the call's language is.
    """

    template: str
    mark: Mark | None = None
    language: str | None = None


@dataclass(frozen=True)
class SoundPart:
    """A recording from ``sounds/<language>/``; ``text`` is what it says (transcripts, TTS)."""

    name: str
    text: str | None = None
    mark: Mark | None = None


@dataclass(frozen=True)
class SayPart:
    """A value spoken the way people say it (``kind`` is one of SAY_KINDS)."""

    kind: str
    value: str
    currency: str | None = None
    mark: Mark | None = None
    gender: str | None = None


Part = TextPart | SoundPart | SayPart


@dataclass(frozen=True)
class Prompt:
    """A prompt per language; the variant ``*`` serves every language."""

    variants: dict[str, tuple[Part, ...]]

    def for_language(self, language: str) -> tuple[Part, ...]:
        """The parts to play for a caller speaking ``language``."""
        if language in self.variants:
            return self.variants[language]
        base = base_language(language)
        if base in self.variants:
            return self.variants[base]
        if "*" in self.variants:
            return self.variants["*"]
        return next(iter(self.variants.values()))

    def templates(self) -> list[tuple[str, Mark | None]]:
        """Every template in the prompt, for variable checks."""
        out: list[tuple[str, Mark | None]] = []
        for parts in self.variants.values():
            for part in parts:
                if isinstance(part, TextPart):
                    out.append((part.template, part.mark))
                elif isinstance(part, SayPart):
                    out.append((part.value, part.mark))
                elif part.text is not None:
                    out.append((part.text, part.mark))
        return out

    def fixed_languages(self) -> set[str]:
        """The languages of ``{text: ..., language: xx}`` parts, spoken whatever the call's is."""
        return {
            part.language
            for parts in self.variants.values()
            for part in parts
            if isinstance(part, TextPart) and part.language
        }

    def has_words_in_one_language(self) -> bool:
        """Whether a prompt for every language has words written in one (text to translate).

        Plain text and a recording's fallback text are written in one language; a say-as
        value, a recording without text and a part with a fixed language are said in each.
        """
        if "*" not in self.variants:
            return False
        for part in self.variants["*"]:
            if isinstance(part, TextPart) and not part.language:
                words = part.template
            elif isinstance(part, SoundPart) and part.text:
                words = part.text
            else:
                continue
            if any(c.isalpha() for c in _TEMPLATE_TAGS.sub("", words)):
                return True
        return False

    def plain_text(self) -> str:
        """The prompt's source text, for graph labels."""
        parts = self.for_language(next(iter(self.variants)))
        words = []
        for part in parts:
            if isinstance(part, TextPart):
                words.append(part.template)
            elif isinstance(part, SayPart):
                words.append(f"<{part.kind} {part.value}>")
            else:
                words.append(part.text or f"<sound {part.name}>")
        return " ".join(words)


def _part(value: Any, mark: Mark, diag: Diagnostics) -> list[Part] | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [TextPart(str(value), mark)]
    if isinstance(value, LList):
        parts: list[Part] = []
        ok = True
        for i, item in enumerate(value):
            got = _part(item, value.item_mark(i), diag)
            if got is None:
                ok = False
            else:
                parts.extend(got)
        if not value:
            diag.error("a prompt list needs at least one item", mark)
            return None
        return parts if ok else None
    if isinstance(value, LDict):
        if "say" in value:
            return _say(value, diag)
        if "sound" in value:
            return _sound(value, diag)
        if "text" in value:
            return _text(value, diag)
        diag.error(
            "a prompt mapping needs 'sound:' (a recording), 'say:' (a value to speak) or 'text:' "
            "with 'language:', or language codes (en:, ru:, bg:) as keys",
            value.mark,
        )
        return None
    diag.error(
        f"expected a prompt (text, {{sound: ...}}, {{say: ...}} or a list), got {value!r}", mark
    )
    return None


def _unknown_keys(value: LDict, allowed: set[str], diag: Diagnostics) -> bool:
    ok = True
    for key in value:
        if key not in allowed:
            diag.error(
                f"unknown key '{key}' in a prompt{suggest(key, sorted(allowed))} "
                f"(allowed here: {', '.join(sorted(allowed))})",
                value.key_mark(key),
            )
            ok = False
    return ok


def _say(value: LDict, diag: Diagnostics) -> list[Part] | None:
    ok = _unknown_keys(value, _SAY_OPTIONS, diag)
    kind = value.get("say")
    if kind not in SAY_KINDS:
        diag.error(
            f"'{kind}' is not a way to say a value; use one of: {', '.join(SAY_KINDS)}"
            + suggest(str(kind), list(SAY_KINDS)),
            value.value_mark("say"),
        )
        ok = False
    if "value" not in value or value["value"] is None:
        diag.error("'say:' needs a 'value:' to speak, e.g. value: \"{{ balance }}\"", value.mark)
        ok = False
    currency = value.get("currency")
    if currency is not None and kind != "money":
        diag.error("'currency:' goes with 'say: money' only", value.key_mark("currency"))
        ok = False
    elif currency is not None and currency not in CURRENCIES:
        diag.error(
            f"'{currency}' is not a currency that can be said; use one of: "
            f"{', '.join(CURRENCIES)}{suggest(str(currency), list(CURRENCIES))}",
            value.value_mark("currency"),
        )
        ok = False
    gender = value.get("gender")
    if gender is not None and kind not in ("number", "ordinal"):
        diag.error(
            "'gender:' goes with 'say: number' or 'say: ordinal' only", value.key_mark("gender")
        )
        ok = False
    elif gender is not None and gender not in GENDERS:
        diag.error(
            f"'{gender}' is not a gender; use one of: {', '.join(GENDERS)}"
            + suggest(str(gender), list(GENDERS)),
            value.value_mark("gender"),
        )
        ok = False
    if not ok:
        return None
    return [SayPart(kind, str(value["value"]), currency, value.value_mark("value"), gender)]


def _text(value: LDict, diag: Diagnostics) -> list[Part] | None:
    ok = _unknown_keys(value, _TEXT_OPTIONS, diag)
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        diag.error("'text:' is the words to speak, as text", value.value_mark("text"))
        ok = False
    language = value.get("language")
    if not isinstance(language, str) or not LANGUAGE_CODE.fullmatch(language):
        where = value.value_mark("language") if "language" in value else value.mark
        diag.error(
            "a 'text:' part needs the 'language:' it is spoken in, a code like en, ru, bg "
            "(plain text is spoken in the call's language)",
            where,
        )
        ok = False
    if not ok:
        return None
    return [TextPart(text, value.value_mark("text"), language)]


def _sound(value: LDict, diag: Diagnostics) -> list[Part] | None:
    ok = _unknown_keys(value, _SOUND_OPTIONS, diag)
    name = value.get("sound")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-./]+", name) or ".." in name:
        diag.error(
            f"'{name}' is not a sound name (letters, digits, - _ . / inside sounds/<language>/)",
            value.value_mark("sound"),
        )
        ok = False
    text = value.get("text")
    if text is not None and not isinstance(text, str):
        diag.error("'text:' of a sound is the words it says, as text", value.value_mark("text"))
        ok = False
    if not ok:
        return None
    return [SoundPart(name, text, value.value_mark("text") if text else value.mark)]


def parse_prompt(value: Any, mark: Mark, diag: Diagnostics) -> Prompt | None:
    """Read a prompt as written in a flow, reporting mistakes; None when it is wrong."""
    if isinstance(value, LDict) and value and all(LANGUAGE_CODE.fullmatch(k) for k in value):
        variants: dict[str, tuple[Part, ...]] = {}
        ok = True
        for language, item in value.items():
            parts = _part(item, value.value_mark(language), diag)
            if parts is None:
                ok = False
            else:
                variants[language] = tuple(parts)
        return Prompt(variants) if ok else None
    parts = _part(value, mark, diag)
    return Prompt({"*": tuple(parts)}) if parts is not None else None


_ONE_PART: dict = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {
                "sound": {"type": "string", "description": "recording in sounds/<language>/"},
                "text": {"type": "string", "description": "what the recording says"},
            },
            "required": ["sound"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "say": {"enum": list(SAY_KINDS)},
                "value": {"type": ["string", "number"]},
                "currency": {"enum": list(CURRENCIES)},
                "gender": {"enum": list(GENDERS), "description": "what is counted (ru, bg)"},
            },
            "required": ["say", "value"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "words spoken in one language"},
                "language": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]{2})?$"},
            },
            "required": ["text", "language"],
            "additionalProperties": False,
        },
    ]
}
_ONE_LANGUAGE: dict = {"anyOf": [_ONE_PART, {"type": "array", "items": _ONE_PART, "minItems": 1}]}
PROMPT_JSON_SCHEMA: dict = {
    "anyOf": [
        *_ONE_LANGUAGE["anyOf"],
        {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z]{2}(-[a-z]{2})?$"},
            "additionalProperties": _ONE_LANGUAGE,
            "description": "the prompt per language code",
        },
    ]
}
