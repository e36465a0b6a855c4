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
