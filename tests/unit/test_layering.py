"""The arrows point one way: ui -> kiosk -> printer_drivers -> devices; dinas/ stands apart.

Read from the source, so an import hidden in a function, made through importlib, or named
as "module:Class" for a factory counts too. Running another layer as a separate process
(the demo starts `python -m dinas.cli` and `python -m ui`) is not an import.
"""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {
    "devices": {"devices"},
    "printer_drivers": {"printer_drivers", "devices"},
    "kiosk": {"kiosk", "printer_drivers", "devices"},
    "ui": {"ui", "kiosk"},
    "dinas": {"dinas"},
}
MODULE_STRING = re.compile(r"^(ui|kiosk|devices|printer_drivers|dinas)(\.\w+)*(:\w+)?$")


def _imported_packages(tree: ast.AST) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.add((node.args[0].value.split(".")[0], node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and MODULE_STRING.match(node.value) and ":" in node.value:
            # "pkg.module:Class" is a lazy import by a factory
            found.add((node.value.split(".")[0].split(":")[0], node.lineno))
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def _sources(package: str):
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_what_is_below_it(package):
    violations = []
    for path in _sources(package):
        tree = ast.parse(path.read_text(), filename=str(path))
        for imported, line in _imported_packages(tree):
            if imported in ALLOWED and imported not in ALLOWED[package]:
                violations.append(f"{path.relative_to(REPO)}:{line} imports {imported}")
    assert not violations, "\n".join(sorted(violations))


def test_the_core_never_imports_kivy():
    offenders = [f"{path.relative_to(REPO)}:{line}"
                 for package in ("kiosk", "devices", "printer_drivers", "dinas")
                 for path in _sources(package)
                 for imported, line in _imported_packages(ast.parse(path.read_text()))
                 if imported == "kivy"]
    assert not offenders


# --- no import cycles ----------------------------------------------------------------------------

def _module_names() -> dict[str, Path]:
    modules = {}
    for package in ALLOWED:
        for path in _sources(package):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _runtime_imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports when it runs: at module level or inside a function
    (a lazy import still closes a cycle), but not under `if TYPE_CHECKING:`."""
    def known(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {known(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            # `from pkg import module` imports that module; `from module import name`, the module
            found |= {known(f"{source}.{alias.name}") if f"{source}.{alias.name}" in modules else known(source)
                      for alias in node.names}
    return found - {None, name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def test_no_two_modules_import_each_other():
    """Issue 9 found devices/transport.py and devices/usb.py importing each other: no module
    of any package reaches itself again through what it imports at run time."""
    modules = _module_names()
    graph = {name: _runtime_imports(path, name, modules) for name, path in modules.items()}
    assert graph["devices.links"] >= {"devices.transport", "devices.usb", "devices.ipp"}   # the reader reads
    assert not _cycles(graph), _cycles(graph)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
