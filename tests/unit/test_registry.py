"""The registry of device roles and document kinds, and that nothing else lists them."""

import ast
import inspect
from pathlib import Path

import pytest

from devices.ipp import IppEndpoint
from devices.links import open_link
from devices.transport import Transport
from printer_drivers import registry
from printer_drivers import base

REPO = Path(__file__).resolve().parents[2]
PROTOCOLS = {registry.TEST_PRINT: base.TestPrinting, registry.CARD_HANDLING: base.CardHandling,
             registry.RECEIPTS: base.ReceiptPrinting, registry.CLEANING: base.Cleaning}


@pytest.mark.parametrize("role", registry.roles())
def test_each_driver_takes_its_options_and_honours_its_capabilities(role):
    entry = registry.device(role)
    cls = entry.driver_class()
    parameters = inspect.signature(cls.__init__).parameters
    for option in entry.options:
        assert option.name in parameters, f"{cls.__name__} takes no {option.name}="
        assert parameters[option.name].kind == inspect.Parameter.KEYWORD_ONLY
    for capability, protocol in PROTOCOLS.items():
        members = [name for name in vars(protocol) if not name.startswith("_")]
        implements = all(callable(getattr(cls, name, None)) for name in members)
        assert implements == entry.has(capability), f"{role}: {capability} declared {entry.has(capability)}"
    if entry.is_printer:
        assert cls.role == role


@pytest.mark.parametrize("role", registry.roles())
def test_sim_url_of_each_role_opens_a_link_its_driver_takes(role):
    entry = registry.device(role)
    link = open_link(f"sim:{entry.simulator}")
    try:
        assert link.simulator is not None or isinstance(link, IppEndpoint)
        assert isinstance(link, IppEndpoint if "ipp" in entry.schemes else Transport)
    finally:
        link.close()


def test_each_kind_is_printed_by_a_registered_printer_and_named_in_both_languages():
    for code in registry.kind_codes():
        kind = registry.kind(code)
        assert registry.device(kind.printer_role).is_printer
        assert kind.media in ("a4", "card")
        assert kind.name("id") and kind.name("en") and kind.name("id") != kind.name("en")
    assert registry.kind_name("NOPE", "en") == "NOPE"


@pytest.mark.parametrize("role, url, wanted", [
    ("a4_printer", "socket://127.0.0.1:9100", "reached through ipp://"),
    ("card_printer", "ipp://h:631/printers/q", "reached through serial://"),
    ("card_printer", "sim:receipt_printer", "card_printer's simulator is sim:card_printer"),
    ("receipt_printer", "usb://zz:1", "usb://VID:PID"),
])
def test_url_problems_name_what_the_role_takes(role, url, wanted):
    assert wanted in registry.device(role).url_problem(url)


def test_an_unknown_role_names_the_known_ones():
    with pytest.raises(ValueError, match="one of card_printer, a4_printer"):
        registry.device("fax")


# --- nothing outside the registry lists roles or kinds ----------------------------------------------

# A declaration of one role by the module that implements it (a driver's ROLE, a simulator's
# SIM_NAMES) is allowed; a collection naming two or more roles or kinds is a list, and so is
# any literal kind code outside the registry. USB ids of known hardware (devices/known_devices.py)
# sit in devices/, below the registry, and only label discovery's findings.
ALLOWED = {"printer_drivers/registry.py", "devices/known_devices.py"}
PACKAGES = ("kiosk", "devices", "printer_drivers", "ui")


def _literals(node):
    return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)] \
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else \
        [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)] \
        if isinstance(node, ast.Dict) else []


def test_no_module_outside_the_registry_lists_roles_or_kinds():
    roles, kinds = set(registry.roles()), set(registry.kind_codes())
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = str(path.relative_to(REPO))
            if name in ALLOWED:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=name)):
                if isinstance(node, ast.Constant) and node.value in kinds:
                    found.append(f"{name}:{node.lineno}: kind {node.value!r}")
                named = [v for v in _literals(node) if v in roles]
                if len(named) >= 2:
                    found.append(f"{name}:{node.lineno}: lists roles {named}")
    assert not found, "\n".join(found)


def test_the_kinds_are_the_contracts_on_both_sides():
    """One registry entry on the kiosk, one enum value in the contract (ARCHITECTURE §4): the
    reference server's table, the OpenAPI enum and the settings schema list the same kinds."""
    import json

    import yaml

    from dinas import kinds as dinas_kinds

    contract = yaml.safe_load((REPO / "dinas" / "openapi.yaml").read_text())
    assert contract["components"]["schemas"]["DocumentKind"]["enum"] == list(registry.kind_codes())
    assert dinas_kinds.CODES == registry.kind_codes()
    assert {k.code: k.media for k in dinas_kinds.KINDS} == {c: registry.kind(c).media for c in registry.kind_codes()}
    schema = json.loads((REPO / "config" / "settings-schema.json").read_text())
    enabled = schema["properties"]["enabled_kinds"]
    assert enabled["items"]["enum"] == enabled["default"] == list(registry.kind_codes())


def test_the_ui_names_kinds_through_the_registry_not_catalogue_keys():
    """A `kind.<CODE>` catalogue key would be a list of kinds in the UI's own words."""
    found = [f"{path.relative_to(REPO)}:{number}" for path in sorted((REPO / "ui").rglob("*"))
             if path.suffix in (".py", ".kv")
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if '"kind.' in line or "'kind." in line]
    assert not found, "use ui.i18n.kind_text: " + ", ".join(found)


def _checks_for_sim(tree) -> list[int]:
    """Lines comparing something with "sim"/"sim:…" or asking startswith("sim…")."""
    def is_sim(node) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("sim")
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(map(is_sim, [node.left, *node.comparators])):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("startswith", "removeprefix") and any(map(is_sim, node.args)):
            lines.append(node.lineno)
    return lines


def test_no_driver_checks_for_sim():
    """Issue 9: `devices.links.open_link` is the one place a sim: URL is told apart; the
    registry's URL check is the other reader of schemes. Every driver module, printers' and the
    scanner's, talks through the link it gets."""
    drivers = {REPO / (entry.driver.partition(":")[0].replace(".", "/") + ".py") for entry in registry.DEVICES}
    modules = drivers | set((REPO / "printer_drivers").rglob("*.py"))
    found = [f"{path.relative_to(REPO)}:{line}" for path in sorted(modules)
             if path.name != "registry.py" for line in _checks_for_sim(ast.parse(path.read_text()))]
    assert not found, "a driver checks for sim: itself: " + ", ".join(found)
    # the check sees one where there is one
    assert _checks_for_sim(ast.parse('if url.startswith("sim:"):\n    pass\nok = parsed.scheme == "sim"')) == [1, 3]
