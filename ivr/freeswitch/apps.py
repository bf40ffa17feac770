r"""Arguments of the FreeSWITCH dialplan applications the controller runs, as pure functions.

Nodes never build these strings; the FreeSWITCH channel calls these small, unit-tested functions,
which refuse values that would corrupt the command (None, line breaks) instead of sending them.

Values reach these arguments from callers (the caller-ID name and number, keys, what a lookup
found), so nothing in them may be read by FreeSWITCH as more than text. FreeSWITCH reads an
application's argument in layers, and each is undone here so that the value arrives as it was:

- variable expansion (``switch_channel_expand_variables``) of every application argument, which
  replaces ``${name}`` and runs ``${api(arguments)}`` as an API command: ``unexpanded`` escapes
  ``$`` and ``\`` so that expansion gives the text back, and ``OutboundSession.execute`` applies
  it to every argument it sends; ``set`` expands its value once more, so ``set_var`` escapes the
  value once more;
- in a dial string, ``switch_event_create_brackets`` splits ``{name=value,...}`` at commas and
  then at ``=``, removing quotes, backslash escapes and outer spaces each time, so a value is
  escaped for both (``_dial_value``); and it finds the closing brace by counting braces, quotes or
  not, so a value whose braces do not pair would end the block early and turn the rest into
  endpoints to ring: its braces are sent as parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ivr.errors import IvrError

# What makes FreeSWITCH expand a text at all: ``${`` or ``$${`` (backslashes may stand between
# ``$`` and ``{``: switch_string_var_check_const) or an escape (switch_string_has_escaped_data).
_EXPANDS = re.compile(r"\$\\*\{|\\[\\nst']")
_KEYS = re.compile(r"[0-9*#ABCD]*")


class AppArgumentError(IvrError, ValueError):
    """A value cannot be put into an application argument safely."""


def _text(value: object, what: str) -> str:
    if value is None or not isinstance(value, str | int | float) or isinstance(value, bool):
        raise AppArgumentError(f"{what} must be text, not {value!r}")
    text = str(value)
    if "\n" in text or "\r" in text or "\x00" in text:
        raise AppArgumentError(f"{what} {text[:60]!r} holds a line break")
    return text


def unexpanded(text: str) -> str:
    r"""``text`` written so that FreeSWITCH's variable expansion gives back exactly ``text``.

    Expansion turns ``\$`` into ``$`` and ``\\`` into ``\``, but it runs only on a text
    that holds ``${`` or an escape; a text it would leave alone is sent as it is (escaping it
    would leave the backslashes in).
    """
    escaped = text.replace("\\", "\\\\").replace("$", "\\$")
    return escaped if _EXPANDS.search(escaped) else text


def _no_space(value: str, what: str) -> str:
    text = _text(value, what)
    if " " in text:
        raise AppArgumentError(f"{what} {text!r} holds a space, which splits the argument")
    return text


def playback_target(paths: Sequence[str]) -> str:
    """One file, or several played in a row as ``file_string://a.wav!b.wav``."""
    if not paths:
        raise AppArgumentError("nothing to play")
    files = [_text(p, "file path") for p in paths]
    for path in files:
        if "!" in path:
            raise AppArgumentError(f"file path {path!r} holds '!', which file_string splits on")
    return files[0] if len(files) == 1 else "file_string://" + "!".join(files)


def set_var(name: str, value: str) -> str:
    """The argument of ``set``: ``name=value``."""
    name = _text(name, "variable name")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise AppArgumentError(f"variable name {name!r} is not a plain name")
    # ``set`` expands its value itself, after the expansion of its whole argument.
    return f"{name}={unexpanded(_text(value, 'variable value'))}"


def terminators(keys: str) -> str:
    """``playback_terminators`` / pagd terminators: the keys, or ``none``."""
    keys = _text(keys, "keys")
    if not _KEYS.fullmatch(keys):
        raise AppArgumentError(f"{keys!r} are not phone keys")
    return keys or "none"


def play_and_get_digits(
    *,
    min_digits: int,
    max_digits: int,
    timeout: float,
    terminator_keys: str,
    prompt: str,
    variable: str,
    digit_timeout: float,
) -> str:
    """The argument of ``play_and_get_digits`` for one attempt (we handle retries ourselves).

    FreeSWITCH's order: min max tries timeout terminators file invalid_file var regexp
    digit_timeout. The regular expression accepts any keys: validation is the node's business.
    """
    if not 1 <= min_digits <= max_digits <= 128:
        raise AppArgumentError(f"digit counts {min_digits}..{max_digits} are out of range")
    return " ".join(
        [
            str(min_digits),
            str(max_digits),
            "1",
            str(max(int(timeout * 1000), 1)),
            terminators(terminator_keys),
            _no_space(prompt, "prompt"),
            "silence_stream://1",
            _text(variable, "variable name"),
            r"^[0-9*#ABCD]+$",
            str(max(int(digit_timeout * 1000), 1)),
        ]
    )


def _paired_braces(text: str) -> str:
    """``text``, or with its braces as parentheses when they do not pair (see the module)."""
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth == 0:
        return text
    return text.replace("{", "(").replace("}", ")")


def _dial_value(value: str) -> str:
    text = _paired_braces(_text(value, "dial string variable"))
    if text != text.strip(" ") or "\\" in text or "'" in text:
        # The split at ``=`` removes quotes, escapes and outer spaces: quoted, all stay.
        text = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    # The split at commas before it removes them too, and must not split the value.
    return text.replace("\\", "\\\\").replace("'", "\\'").replace(",", "\\,")


def _variables(values: Mapping[str, str], open_: str, close: str) -> str:
    if not values:
        return ""
    parts = []
    for name, value in values.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise AppArgumentError(f"variable name {name!r} is not a plain name")
        parts.append(f"{name}={_dial_value(value)}")
    return open_ + ",".join(parts) + close


def dial_string(legs: Sequence[tuple[str, Mapping[str, str]]], common: Mapping[str, str]) -> str:
    """A bridge dial string ringing every leg at once: ``{common}[leg]user/1001,[leg]user/1002``."""
    if not legs:
        raise AppArgumentError("no endpoint to ring")
    rings = []
    for endpoint, values in legs:
        endpoint = _text(endpoint, "endpoint")
        if not re.fullmatch(r"[A-Za-z_]+/[^\s,{}\[\]]+", endpoint):
            raise AppArgumentError(f"{endpoint!r} is not an endpoint like user/1001")
        rings.append(_variables(values, "[", "]") + endpoint)
    return _variables(common, "{", "}") + ",".join(rings)


def record(path: str, max_seconds: float) -> str:
    """The argument of ``record``: path, time limit, silence threshold and hits."""
    path = _no_space(path, "recording path")
    return f"{path} {max(int(max_seconds), 1)} 200 5"


def transfer(destination: str, context: str) -> str:
    """The argument of ``transfer``: an extension in the XML dialplan of ``context``.

    An endpoint (``user/2000``, ``sofia/gateway/pstn/15551234567``) is no extension: the call
    goes to an inline dialplan that bridges it there.
    """
    destination = _no_space(destination, "destination")
    if "/" in destination:
        if not re.fullmatch(r"[A-Za-z_]+/[^\s,{}\[\]]+", destination):
            raise AppArgumentError(f"{destination!r} is not an endpoint like user/1001")
        return f"bridge:{destination} inline"
    return f"{destination} XML {_no_space(context, 'context')}"


def scoped(variables: Mapping[str, str], target: str) -> str:
    """Variables set for one application only: ``%[name=value,...]target``."""
    return _variables(variables, "%[", "]") + _text(target, "application argument")
