"""jinja2 templates and expressions as analysts use them, always in the sandbox.

Caller-supplied digits and caller ID reach templates only as values; the sandbox keeps a template
from touching Python internals. An undefined variable is an error at run time (the node's error
edge), and an unknown one is an error at compile time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

BUILTIN_VARIABLES = {
    "caller": "the caller's number (caller ID)",
    "caller_name": "the caller-ID name, when the network sends one",
    "dialed": "the number the caller dialed",
    "tenant": "the company this call is for (id), or empty",
    "tenant_name": "the company's name, or empty",
    "language": "the call's current language code",
    "now": "the call clock, a timezone-aware datetime",
    "call_id": "the call's unique id",
}

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _url_value(value: Any) -> str:
    return "" if value is None else quote(str(value), safe="")


# In URLs every value is percent-encoded ("/", "?", "#" and "&" included), so a caller's digits or
# caller ID stay one value of the URL and can never add a path segment or a query parameter.
_url_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_url_value)


def is_template(text: str) -> bool:
    """Whether ``text`` uses jinja2 at all (a plain text is static and can be pre-rendered)."""
    return "{{" in text or "{%" in text or "{#" in text


def variables_of(source: str, expression: bool = False) -> set[str]:
    """The top-level variable names a template or expression reads.

    Raises:
        TemplateError: the template does not parse, or uses an unknown filter or test.
    """
    text = "{{ " + source + " }}" if expression else source
    ast = _env.parse(text)
    _env.compile(ast)  # unknown filters and tests are only found when compiling
    names = meta.find_undeclared_variables(ast)
    # Names assigned inside the template ({% set %}, loops) are not the call's variables.
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "store"}
    return names - assigned


@lru_cache(maxsize=4096)
def _compiled(source: str):
    return _env.from_string(source)


@lru_cache(maxsize=1024)
def _compiled_expression(source: str):
    return _env.compile_expression(source, undefined_to_none=False)


def render(source: str, context: dict[str, Any]) -> str:
    """Render a template with the call's variables.

    Raises:
        TemplateError: an undefined variable, a sandbox violation or any other template error.
    """
    if not is_template(source):
        return source
    return _compiled(source).render(context)


@lru_cache(maxsize=1024)
def _compiled_url(source: str):
    return _url_env.from_string(source)


def render_url(source: str, context: dict[str, Any]) -> str:
    """Render a URL template; each ``{{ value }}`` is percent-encoded as one URL component.

    Raises:
        TemplateError: as for ``render``.
    """
    return _compiled_url(source).render(context)


def evaluate(source: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression (e.g. a branch condition) with the call's variables.

    Raises:
        TemplateError: as for ``render``.
    """
    result = _compiled_expression(source)(**context)
    if isinstance(result, StrictUndefined):
        str(result)  # raises UndefinedError with jinja2's own message
    return result


__all__ = [
    "BUILTIN_VARIABLES",
    "TemplateError",
    "evaluate",
    "is_template",
    "render",
    "render_url",
    "variables_of",
]
