"""How FreeSWITCH reads application arguments and dial strings.

Pure functions with the same quoting and escaping rules as ``switch_separate_string``,
``switch_event_create_brackets`` and ``switch_ivr_originate`` (single quotes group, a backslash
escapes the next character), so an argument the controller builds means the same here as on a
real FreeSWITCH.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "DialLeg",
    "atoi",
    "bracket_variables",
    "expand_variables",
    "expands",
    "holds_variable",
    "parse_dial_string",
    "separate_string",
    "split_name_value",
    "split_scope",
]

_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}
_HOLDS_VARIABLE = re.compile(r"\$\\*\{")
_EXPANDS = re.compile(r"\$\\*\{|\\[\\nst']")
_ATOI = re.compile(r"\s*([+-]?\d+)")


def atoi(text: str | None) -> int:
    """C's ``atoi``: the leading whole number of ``text``, 0 when there is none."""
    match = _ATOI.match(text or "")
    return int(match.group(1)) if match else 0


def _cleanup(token: str, delim: str) -> str:
    """Strip quotes, escapes and surrounding spaces from one separated token."""
    out: list[str] = []
    end = 0
    inside_quotes = False
    i = 0
    token = token.lstrip(" ")
    while i < len(token):
        char = token[i]
        nxt = token[i + 1] if i + 1 < len(token) else ""
        if char == "\\" and nxt and (nxt in "'\"\\" or nxt == delim or nxt in _UNESCAPE):
            out.append(_UNESCAPE.get(nxt, nxt))
            end = len(out)
            i += 2
            continue
        if char == "'" and (inside_quotes or "'" in token[i + 1 :]):
            inside_quotes = not inside_quotes
            if inside_quotes:
                end = len(out)
        else:
            out.append(char)
            if char != " " or inside_quotes:
                end = len(out)
        i += 1
    return "".join(out[:end])


def separate_string(text: str, delim: str = " ", limit: int = 256) -> list[str]:
    """Split an argument like ``switch_separate_string``.

    A leading ``^^<char>`` picks another delimiter. With a space as delimiter runs of spaces
    count as one. After ``limit`` tokens the last one keeps the rest of the text.
    """
    if text.startswith("^^") and len(text) > 3:
        delim, text = text[2], text[3:]
    tokens: list[str] = []
    start = None
    inside_quotes = False
    i = 0
    while i < len(text) and (start is not None or len(tokens) < limit):
        char = text[i]
        if start is None:
            if delim == " " and char == " ":
                i += 1
                continue
            start = i
            if len(tokens) + 1 == limit:
                tokens.append(text[start:])
                start = None
                break
        if char == "\\":
            i += 2
            continue
        if char == "'" and (inside_quotes or "'" in text[i + 1 :] or delim == " "):
            inside_quotes = not inside_quotes
        elif char == delim and not inside_quotes:
            tokens.append(text[start:i])
            start = None
        i += 1
    if start is not None:
        tokens.append(text[start:])
    return [_cleanup(token, "" if delim == " " else delim) for token in tokens]


def split_name_value(item: str) -> tuple[str, str]:
    """``name=value`` (the value may be empty or hold more ``=``)."""
    name, _, value = item.partition("=")
    return name.strip(), value


def expands(text: str) -> bool:
    """Whether FreeSWITCH's expansion looks at ``text`` at all (``${``, ``$${`` or an escape)."""
    return bool(_EXPANDS.search(text))


def holds_variable(text: str) -> bool:
    """Whether FreeSWITCH refuses ``text`` as a variable's value where it checks values.

    ``switch_string_var_check_const``: it holds ``${``. FreeSWITCH checks the variables of an
    originate (``switch_channel_set_variable_var_check``) and does not set such a one.
    """
    return bool(_HOLDS_VARIABLE.search(text))


def expand_variables(
    text: str,
    lookup: Callable[[str], str | None],
    api: Callable[[str, str], str | None] | None = None,
    depth: int = 0,
) -> str:
    r"""``switch_channel_expand_variables``: the text with ``${...}`` replaced, as FreeSWITCH does.

    ``${name}`` is the variable (its value expanded in turn; ``${name:offset:length}`` a part of
    it), ``$${name}`` the same, ``${command(arguments)}`` or ``${command arguments}`` the output
    of an API command (``api`` runs it; None when there is no such command), ``\$`` a ``$``,
    ``\\`` a backslash and ``\'`` nothing. A text without ``${`` or an escape is left as it
    is, backslashes and all.
    """
    if depth > 100 or not text or not expands(text):
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                # ``\$`` is a plain ``$`` (and ``\$$`` one too, as FreeSWITCH skips the second).
                i += 2 if i + 2 < n and text[i + 2] == "$" else 1
                out.append("$")
                i += 1
                continue
            if nxt == "'":
                i += 2
                continue
            if nxt == "\\":
                out.append("\\")
                i += 2
                continue
        if char != "$":
            out.append(char)
            i += 1
            continue
        j = i + 1 if i + 1 < n and text[i + 1] == "$" else i
        if j + 1 >= n or text[j + 1] != "{":
            out.append("$")  # ``$$x`` gives ``$x``: the first of two is taken for a global
            i = j + 1
            continue
        name, i = _braced(text, j + 2)
        out.append(_substitute(name, lookup, api, depth) or "")
    return "".join(out)


def _braced(text: str, start: int) -> tuple[str, int]:
    """The text inside ``${...}`` from ``start`` (braces inside it pair), and the index after."""
    depth = 1
    for e in range(start, len(text)):
        if depth == 1 and text[e] == "}":
            return text[start:e], e + 1
        if e != start and text[e] == "{":
            depth += 1
        elif depth > 1 and text[e] == "}":
            depth -= 1
    return text[start:], len(text)


def _substitute(
    name: str,
    lookup: Callable[[str], str | None],
    api: Callable[[str, str], str | None] | None,
    depth: int,
) -> str | None:
    cut = next((k for k, c in enumerate(name) if c in " ("), -1)
    if cut >= 0:
        command, rest = name[:cut].rstrip(" "), name[cut + 1 :]
        level = 1 if name[cut] == "(" else 0
        for k, c in enumerate(rest):
            if c == "(":
                level += 1
            elif c == ")" and level > 1:
                level -= 1
            elif c == ")" and level == 1:
                rest = rest[:k]
                break
        command = expand_variables(command, lookup, api, depth + 1)
        arguments = expand_variables(rest, lookup, api, depth + 1)
        return api(command, arguments) if api is not None else None
    name = expand_variables(name, lookup, api, depth + 1)
    offset = length = 0
    if ":" in name:
        name, _, cuts = name.partition(":")
        offset_text, _, length_text = cuts.partition(":")
        offset, length = atoi(offset_text), atoi(length_text)
    value = lookup(name)
    if value is None:
        return None
    value = expand_variables(value, lookup, api, depth + 1)
    if offset >= 0:
        value = value[offset:]
    elif -offset <= len(value):
        value = value[offset:]
    if 0 < length < len(value):
        value = value[:length]
    return value


def split_scope(arg: str) -> tuple[dict[str, str], str] | None:
    """``%[name=value,...]rest`` (or ``%<delim>[...]``): variables for one application only.

    Returns the variables and the argument without them; None when ``arg`` has no such prefix.
    """
    if not arg.startswith("%") or "[" not in arg[1:3]:
        return None
    delim, body = (",", arg[1:]) if arg[1] == "[" else (arg[1], arg[2:])
    end = _matching(body, 0, "[", "]")
    if end < 0:
        return None
    return bracket_variables(body[1:end], delim), body[end + 1 :]


def _matching(text: str, start: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at ``start``; -1 when it is never closed."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    return -1


def bracket_variables(body: str, delim: str = ",") -> dict[str, str]:
    """The ``name=value`` pairs inside ``{...}``, ``[...]`` or ``%[...]``."""
    values: dict[str, str] = {}
    for item in separate_string(body, delim):
        if "=" in item:
            # Split once more at ``=``, which removes quotes and escapes from the value again.
            name, value = split_name_value(item)
            values[name] = _cleanup(value, "=")
    return values


def _top_level_split(text: str, delim: str) -> list[str]:
    """Split on ``delim`` outside ``[...]``, quotes and backslash escapes."""
    parts: list[str] = []
    depth = 0
    inside_quotes = False
    start = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "'":
            inside_quotes = not inside_quotes
        elif not inside_quotes and char == "[":
            depth += 1
        elif not inside_quotes and char == "]":
            depth = max(depth - 1, 0)
        elif char == delim and depth == 0 and not inside_quotes:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


@dataclass
class DialLeg:
    """One endpoint of a dial string with its variables (the global ones, then its own)."""

    endpoint: str
    variables: dict[str, str] = field(default_factory=dict)


def parse_dial_string(dial: str) -> list[list[DialLeg]] | None:
    """Read ``{global}[leg]endpoint,[leg]endpoint|endpoint`` into groups of legs.

    Legs separated by ``,`` ring at once; ``|`` starts a group tried when the previous one
    failed. Returns None when a bracket is never closed (FreeSWITCH's "Parse Error!").
    """
    dial = dial.strip()
    global_vars: dict[str, str] = {}
    while dial.startswith("{"):
        end = _matching(dial, 0, "{", "}")
        if end < 0:
            return None
        global_vars.update(bracket_variables(dial[1:end]))
        dial = dial[end + 1 :].lstrip()
    groups: list[list[DialLeg]] = []
    for group_text in _top_level_split(dial, "|"):
        group: list[DialLeg] = []
        for leg_text in _top_level_split(group_text, ","):
            leg_text = leg_text.strip()
            values = dict(global_vars)
            while leg_text.startswith("["):
                end = _matching(leg_text, 0, "[", "]")
                if end < 0:
                    return None
                values.update(bracket_variables(leg_text[1:end]))
                leg_text = leg_text[end + 1 :].lstrip()
            if leg_text:
                group.append(DialLeg(leg_text, values))
        if group:
            groups.append(group)
    return groups
