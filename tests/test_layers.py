"""The package's layers point one way (docs/architecture.md), and no module imports itself back.

Every import counts: at the top of a module, inside a function, or under ``TYPE_CHECKING``. A
module may import from its own layer or one below it; an import upward, or a cycle of modules
importing each other, fails with the file and line to fix.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ivr"

LAYERS = [
    ("ivr", "ivr.errors", "ivr.wsgi", "ivr.gc_policy", "ivr.bundled"),
    ("ivr.flow",),
    ("ivr.runtime.channel", "ivr.runtime.record"),
    ("ivr.data",),
    ("ivr.prompts",),
    ("ivr.acd",),
    ("ivr.outbound",),
    ("ivr.nodes",),
    ("ivr.project",),
    ("ivr.runtime",),
    ("ivr.store", "ivr.report"),
    ("ivr.freeswitch",),
    ("ivr.metrics",),
    ("ivr.simulator",),
    ("ivr.testing", "ivr.loadtest"),
    ("ivr.demo", "ivr.starter", "ivr.schemas", "ivr.docs"),
    ("ivr.cli",),
]
"""Lowest first: the flow language; the call protocol (the Channel a call drives and the record
it leaves); data sources, prompts, queues and agents, outbound campaigns (contacts, do-not-call
lists and when a contact may be dialled), node types; a project put together; the interpreter;
the journal; FreeSWITCH; the metrics served; the simulated FreeSWITCH; the test and load
harnesses; the tools around them; the command."""


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def layer_of(module: str) -> int:
    """The layer of ``module``: that of the longest prefix in LAYERS that names it."""
    best, depth = -1, -1
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = level, prefix.count(".")
    return best


def imports_of(module: str) -> list[tuple[str, int]]:
    """Every ivr module ``module`` imports, with the line, wherever the import stands."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            # ``from package import module`` needs the module; other names need ``base``.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.append((target, node.lineno))
    return sorted(set(found), key=lambda item: item[1])


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) < 0] == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {module} imports {target}"
        for module in sorted(MODULES)
        for target, line in imports_of(module)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_modules_import_each_other_round_in_a_cycle():
    graph = {module: {target for target, _ in imports_of(module)} for module in MODULES}
    cycles = []
    # Tarjan's strongly connected components, without recursion.
    index, low, on_stack, stack, counter = {}, {}, set(), [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert cycles == []


@pytest.mark.parametrize(
    ("module", "target", "upward"),
    [
        ("ivr.flow.compiler", "ivr.nodes.registry", True),
        ("ivr.nodes.queue", "ivr.acd.pool", False),
        ("ivr.runtime.call", "ivr.nodes.base", False),
        ("ivr.nodes.base", "ivr.runtime.call", True),
        ("ivr.prompts.files", "ivr.runtime.channel", False),
    ],
)
def test_the_layer_order_tells_upward_from_downward(module, target, upward):
    assert (layer_of(target) > layer_of(module)) is upward


def test_every_exception_ivr_defines_is_an_ivr_error():
    import importlib
    import inspect

    from ivr.errors import IvrError

    strays = []
    for module in sorted(MODULES):
        loaded = importlib.import_module(module)
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module
                and not issubclass(value, IvrError)
            ):
                strays.append(f"{module}.{name}")
    assert strays == []
