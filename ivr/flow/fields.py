"""Option schemas as data: the field types node options are declared with.

A node type declares its options as a mapping of option name to a ``Field``. The same declaration
validates a flow file (with positions and did-you-mean hints), collects the node's edges and
templates for the compiler, and produces the JSON Schema that editors use for autocompletion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ivr.flow.prompts import PROMPT_JSON_SCHEMA, Prompt, parse_prompt
from ivr.flow.source import Diagnostics, LDict, LList, Mark, suggest

INVALID: Any = object()
"""Returned by ``Field.check`` when the value was wrong (the mistake is already reported)."""

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"


def parse_duration(text: Any) -> float | None:
    """Read ``500ms``, ``5s``, ``2m``, ``1h`` or ``90d`` as seconds; None when it is none."""
    if not isinstance(text, str):
        return None
    match = _DURATION.fullmatch(text)
    if not match:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    """Seconds as an analyst writes them: ``500ms``, ``5s``, ``2m``, ``1h``, ``90s``, ``30d``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"


def format_value(value: Any) -> str:
    """A default value as it would be written in YAML; empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)


def describe(value: Any) -> str:
    """Name a wrong value the way an analyst would see it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass
class EdgeRef:
    """An outgoing edge found in a node's options: its outcome label and target node name."""

    label: str
    target: str
    mark: Mark


@dataclass
class TemplateRef:
    """A jinja2 template or expression found in a node's options, to check its variables."""

    source: str
    mark: Mark
    expression: bool = False


@dataclass
class CheckContext:
    """What checking one node's options produces besides the normalised values."""

    diag: Diagnostics
    edges: list[EdgeRef] = field(default_factory=list)
    templates: list[TemplateRef] = field(default_factory=list)
    variables: list[tuple[str, Mark]] = field(default_factory=list)
    prompts: list[tuple[Prompt, Mark]] = field(default_factory=list)


class Field:
    """Base of all option types: a documented value with a check and a JSON Schema."""

    kind = "value"

    def __init__(self, doc: str = "", *, required: bool = False, default: Any = None) -> None:
        self.doc = doc
        self.required = required
        self.default = default

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        """Validate ``value`` (reporting mistakes at ``mark``) and return it normalised."""
        raise NotImplementedError

    def schema(self) -> dict:
        """The JSON Schema of this field, without the description."""
        raise NotImplementedError

    def type_doc(self) -> str:
        """What kind of value this is, in an analyst's words, for the reference (``ivr docs``)."""
        return "value"

    def default_doc(self) -> str:
        """The default as an analyst would write it in the file; empty when there is none."""
        return format_value(self.default)

    def json_schema(self) -> dict:
        out = self.schema()
        if self.doc:
            out["description"] = self.doc
        return out

    def _wrong(self, ctx: CheckContext, expected: str, value: Any, mark: Mark) -> Any:
        ctx.diag.error(f"expected {expected}, got {describe(value)}", mark)
        return INVALID


class Text(Field):
    """Plain text, optionally restricted to a set of values or a pattern."""

    def __init__(
        self,
        doc: str = "",
        *,
        choices: list[str] | None = None,
        pattern: str | None = None,
        pattern_doc: str = "",
        **kw: Any,
    ) -> None:
        super().__init__(doc, **kw)
        self.choices = choices
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_doc = pattern_doc

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            return self._wrong(ctx, "text", value, mark)
        value = str(value)
        if self.choices is not None and value not in self.choices:
            ctx.diag.error(
                f"'{value}' is not one of: {', '.join(self.choices)}{suggest(value, self.choices)}",
                mark,
            )
            return INVALID
        if self.pattern is not None and not self.pattern.fullmatch(value):
            ctx.diag.error(f"'{value}' is not {self.pattern_doc or 'valid here'}", mark)
            return INVALID
        return value

    def type_doc(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        return self.pattern_doc or "text"

    def schema(self) -> dict:
        if self.choices is not None:
            return {"enum": list(self.choices)}
        out: dict = {"type": ["string", "number"]}
        if self.pattern is not None:
            out = {"type": "string", "pattern": f"^(?:{self.pattern.pattern})$"}
        return out


class Template(Field):
    """Text that may use jinja2 (``{{ account }}``); its variables are checked at compile time."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            return self._wrong(ctx, "text or a {{ template }}", value, mark)
        value = str(value)
        ctx.templates.append(TemplateRef(value, mark))
        return value

    def type_doc(self) -> str:
        return "text or {{ template }}"

    def schema(self) -> dict:
        return {"type": ["string", "number"]}


class Expression(Field):
    """A jinja2 expression such as ``acct.balance > 1000`` (braces optional)."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value is None or isinstance(value, dict | list):
            return self._wrong(ctx, "an expression", value, mark)
        text = str(value).strip()
        if text.startswith("{{") and text.endswith("}}"):
            text = text[2:-2].strip()
        ctx.templates.append(TemplateRef(text, mark, expression=True))
        return text

    def type_doc(self) -> str:
        return "expression"

    def schema(self) -> dict:
        return {"type": ["string", "number", "boolean"]}


class Number(Field):
    """A whole number within bounds."""

    def __init__(
        self, doc: str = "", *, minimum: int | None = None, maximum: int | None = None, **kw: Any
    ) -> None:
        super().__init__(doc, **kw)
        self.minimum = minimum
        self.maximum = maximum

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return self._wrong(ctx, "a whole number", value, mark)
        if self.minimum is not None and value < self.minimum:
            ctx.diag.error(f"{value} is too small: the least allowed is {self.minimum}", mark)
            return INVALID
        if self.maximum is not None and value > self.maximum:
            ctx.diag.error(f"{value} is too large: the most allowed is {self.maximum}", mark)
            return INVALID
        return value

    def type_doc(self) -> str:
        low = "" if self.minimum is None else f"{self.minimum}"
        high = "" if self.maximum is None else f"{self.maximum}"
        return f"whole number ({low}..{high})" if low or high else "whole number"

    def schema(self) -> dict:
        out: dict = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


class Flag(Field):
    """``true`` or ``false``."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, bool):
            return self._wrong(ctx, "true or false", value, mark)
        return value

    def type_doc(self) -> str:
        return "true or false"

    def schema(self) -> dict:
        return {"type": "boolean"}


class Duration(Field):
    """A length of time: ``500ms``, ``5s``, ``2m``, ``1h``, ``90d``; normalised to seconds."""

    def __init__(self, doc: str = "", *, maximum: float | None = None, **kw: Any) -> None:
        super().__init__(doc, **kw)
        self.maximum = maximum

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        seconds = parse_duration(value)
        if seconds is None:
            hint = f"; write {value}s for seconds" if isinstance(value, int | float) else ""
            ctx.diag.error(
                f"bad duration {describe(value)}: expected a number followed by ms, s, m, h or d "
                f"(e.g. 500ms, 5s, 2m){hint}",
                mark,
            )
            return INVALID
        if self.maximum is not None and seconds > self.maximum:
            ctx.diag.error(f"duration {value} is too long: at most {self.maximum:g}s", mark)
            return INVALID
        return seconds

    def type_doc(self) -> str:
        limit = f", at most {format_duration(self.maximum)}" if self.maximum is not None else ""
        return f"duration (500ms, 5s, 2m{limit})"

    def default_doc(self) -> str:
        return "" if self.default is None else format_duration(self.default)

    def schema(self) -> dict:
        return {"type": "string", "pattern": DURATION_PATTERN}


class Edge(Field):
    """The name of the node to go to on one outcome; ``label`` names the outcome in graphs."""

    kind = "edge"

    def __init__(self, doc: str = "", *, label: str, **kw: Any) -> None:
        super().__init__(doc, **kw)
        self.label = label

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, str | int) or isinstance(value, bool):
            return self._wrong(ctx, "the name of a node", value, mark)
        ctx.edges.append(EdgeRef(self.label, str(value), mark))
        return str(value)

    def type_doc(self) -> str:
        return "node"

    def schema(self) -> dict:
        return {"type": "string"}


class EdgeMap(Field):
    """Keys the caller can press (or other outcomes), each leading to a node: ``{1: balance}``."""

    kind = "edge"

    def __init__(self, doc: str = "", *, key_pattern: str, key_doc: str, **kw: Any) -> None:
        super().__init__(doc, **kw)
        self.key_pattern = re.compile(key_pattern)
        self.key_doc = key_doc

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LDict):
            return self._wrong(ctx, "a mapping of key: node", value, mark)
        out = {}
        for key, target in value.items():
            if not self.key_pattern.fullmatch(key):
                ctx.diag.error(f"'{key}' is not {self.key_doc}", value.key_mark(key))
                continue
            if not isinstance(target, str | int) or isinstance(target, bool):
                self._wrong(ctx, "the name of a node", target, value.value_mark(key))
                continue
            ctx.edges.append(EdgeRef(key, str(target), value.value_mark(key)))
            out[key] = str(target)
        if not value:
            ctx.diag.error("needs at least one entry", mark)
        return out

    def type_doc(self) -> str:
        return f"mapping of {self.key_doc} to a node"

    def schema(self) -> dict:
        return {
            "type": "object",
            "propertyNames": {"pattern": f"^(?:{self.key_pattern.pattern})$"},
            "additionalProperties": {"type": "string"},
        }


class PromptField(Field):
    """What the caller hears: text, ``{sound: name}``, ``{say: kind, value: ...}``, or a list."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        prompt = parse_prompt(value, mark, ctx.diag)
        if prompt is None:
            return INVALID
        ctx.prompts.append((prompt, mark))
        for source, where in prompt.templates():
            ctx.templates.append(TemplateRef(source, where))
        return prompt

    def type_doc(self) -> str:
        return "prompt"

    def schema(self) -> dict:
        return dict(PROMPT_JSON_SCHEMA)


class Obj(Field):
    """A nested mapping with its own known keys, e.g. ``digits: {min: 4, max: 8}``."""

    def __init__(self, doc: str = "", *, fields: dict[str, Field], **kw: Any) -> None:
        super().__init__(doc, **kw)
        self.fields = fields

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LDict):
            return self._wrong(ctx, "a mapping", value, mark)
        opts = check_options(value, self.fields, ctx)
        # One wrong key makes the whole mapping wrong: whoever uses it reads every key.
        return opts if complete(opts, self.fields) else INVALID

    def type_doc(self) -> str:
        return "mapping of " + ", ".join(self.fields)

    def schema(self) -> dict:
        return object_schema(self.fields)


class ListOf(Field):
    """A list whose items all follow one field type."""

    def __init__(self, item: Field, doc: str = "", **kw: Any) -> None:
        super().__init__(doc, **kw)
        self.item = item

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LList):
            return self._wrong(ctx, "a list", value, mark)
        out = [self.item.check(v, value.item_mark(i), ctx) for i, v in enumerate(value)]
        return INVALID if INVALID in out else out

    def type_doc(self) -> str:
        return f"list of {self.item.type_doc()}"

    def schema(self) -> dict:
        return {"type": "array", "items": self.item.json_schema()}


class MapOf(Field):
    """A mapping from names the analyst chooses (e.g. variable names) to one field type."""

    def __init__(
        self,
        value: Field,
        doc: str = "",
        *,
        key_pattern: str = r"[A-Za-z_][A-Za-z0-9_]*",
        key_doc: str = "a name (letters, digits and _)",
        variables: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(doc, **kw)
        self.value = value
        self.key_pattern = re.compile(key_pattern)
        self.key_doc = key_doc
        self.variables = variables

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, LDict):
            return self._wrong(ctx, "a mapping", value, mark)
        out = {}
        for key, item in value.items():
            if not self.key_pattern.fullmatch(key):
                ctx.diag.error(f"'{key}' is not {self.key_doc}", value.key_mark(key))
                continue
            if self.variables:
                ctx.variables.append((key, value.key_mark(key)))
            out[key] = self.value.check(item, value.value_mark(key), ctx)
        return out

    def type_doc(self) -> str:
        return f"mapping of {self.key_doc} to {self.value.type_doc()}"

    def schema(self) -> dict:
        return {
            "type": "object",
            "propertyNames": {"pattern": f"^(?:{self.key_pattern.pattern})$"},
            "additionalProperties": self.value.json_schema(),
        }


class Variable(Field):
    """The name of a call variable this node sets (``save_as``); known to later templates."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            ctx.diag.error(
                f"expected a variable name (letters, digits and _), got {describe(value)}", mark
            )
            return INVALID
        ctx.variables.append((value, mark))
        return value

    def type_doc(self) -> str:
        return "variable name"

    def schema(self) -> dict:
        return {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}


class AnyValue(Field):
    """A plain value of any scalar type (used for initial variable values)."""

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        return value

    def type_doc(self) -> str:
        return "any value"

    def schema(self) -> dict:
        return {}


def check_options(
    value: LDict, fields: dict[str, Field], ctx: CheckContext, ignore: tuple[str, ...] = ()
) -> dict:
    """Check a mapping against declared fields: unknown keys, missing keys, each value.

    Returns:
        The normalised options; a field whose value was wrong maps to INVALID.
    """
    out: dict[str, Any] = {}
    known = list(fields) + list(ignore)
    for key in value:
        if key in ignore:
            continue
        if key not in fields:
            ctx.diag.error(
                f"unknown key '{key}'{suggest(key, known)} (allowed here: {', '.join(known)})",
                value.key_mark(key),
            )
            continue
        out[key] = fields[key].check(value[key], value.value_mark(key), ctx)
    for name, spec in fields.items():
        if name in out:
            continue
        if spec.required:
            kind = "edge" if spec.kind == "edge" else "key"
            ctx.diag.error(f"missing required {kind} '{name}'" + _doc_hint(spec), value.mark)
        else:
            out[name] = spec.default
    return out


def complete(opts: dict[str, Any], fields: dict[str, Field]) -> bool:
    """Whether checked options can be used: every value right and every required key given."""
    return INVALID not in opts.values() and all(
        name in opts for name, spec in fields.items() if spec.required
    )


def _doc_hint(spec: Field) -> str:
    return f" ({spec.doc[0].lower()}{spec.doc[1:]})" if spec.doc else ""


def object_schema(fields: dict[str, Field]) -> dict:
    """JSON Schema of a mapping with the given fields and no others."""
    return {
        "type": "object",
        "properties": {name: spec.json_schema() for name, spec in fields.items()},
        "required": [name for name, spec in fields.items() if spec.required],
        "additionalProperties": False,
    }


class TemplateValue(Field):
    """A value for a variable: a number or true/false as written, or a template.

    A template that is one ``{{ expression }}`` keeps the expression's type (a number stays a
    number); other templates render to text.
    """

    def check(self, value: Any, mark: Mark, ctx: CheckContext) -> Any:
        if isinstance(value, dict | list):
            return self._wrong(ctx, "a value or a {{ template }}", value, mark)
        if isinstance(value, str):
            ctx.templates.append(TemplateRef(value, mark))
        return value

    def type_doc(self) -> str:
        return "value or {{ template }}"

    def schema(self) -> dict:
        return {"type": ["string", "number", "boolean", "null"]}
