"""The translation catalogues: complete, consistent, and the only source of on-screen text."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from devices.status import Consumable, FaultCode, SupplyLevel
from kiosk.diagnostics import TLS_STATES
from printer_drivers import registry
from ui.i18n import kind_text
from kiosk.session_model import Message, Screen
from ui.hours import hours_text
from ui.i18n import LANGUAGES, PoSyntaxError, Translator, failure_text, message_text, parse_po, translator

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "ui"
KEY = re.compile(r"^[a-z_]+(\.[A-Za-z_]+)+$")
# The namespaces of the message keys the core sends (`Message.key`).
CORE_PREFIXES = ("document.", "documents.", "done.", "error.", "out_of_service.", "pin.", "printing.",
                 "scan.", "nik.invalid.", "print.failed.")
NIK_REASONS = ("empty", "length", "digits", "province", "regency", "district", "birth_date", "serial")
REFUSALS = ("maintenance", "kind_disabled", "closed", "integrity", "unreadable")
PRINT_FAILURES = ("timeout", "network", "hardware", "internal", "cancelled", "interrupted", "storage")


def format_fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_format_fields():
    catalogues = translator().catalogues
    assert set(catalogues) == set(LANGUAGES)
    assert catalogues["id"].keys() == catalogues["en"].keys()
    for key in catalogues["id"].keys():
        assert format_fields(catalogues["id"].gettext(key)) == format_fields(catalogues["en"].gettext(key)), key


def keys_used_by_the_ui() -> set[str]:
    used = set()
    for path in list(UI.rglob("*.kv")) + list(UI.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'_\(\s*"([^"{}]+[^."{}])"', text))     # "kind." + ... is built
        used |= {k for k in re.findall(r'_key:\s*"([^"]+)"', text)}
        used |= {k for k in re.findall(r'"((?:keypad|pin|sound|language)\.[a-z_]+)"', text)}
    return used


def test_every_key_the_ui_uses_is_translated():
    used = keys_used_by_the_ui()
    assert len(used) > 40, "the scan for keys found too little: it is broken"
    missing = sorted(k for k in used if not translator().has(k, "id"))
    assert not missing


def core_message_keys() -> set[str]:
    keys = set()
    for path in (REPO / "kiosk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.match(node.value) \
                    and node.value.startswith(CORE_PREFIXES):
                keys.add(node.value)
    keys |= {f"nik.invalid.{r}" for r in NIK_REASONS}
    keys |= {f"document.unavailable.{r}" for r in REFUSALS}
    keys |= {"pin.expired", "pin.used"}
    return keys


def test_every_message_the_core_sends_is_translated():
    keys = core_message_keys()
    assert {"pin.no_match", "scan.invalid", "out_of_service.closed"} <= keys
    missing = sorted(k for k in keys if not translator().has(k, "id"))
    assert not missing, f"keys the core sends with no translation: {missing}"


def test_codes_inside_messages_are_translated():
    codes = ([f"fault.{c.value}" for c in FaultCode] + [f"role.{r}" for r in registry.printer_roles()]
             + [f"supply.{c.value}" for c in Consumable] + [f"staff.level.{v.value}" for v in SupplyLevel]
             + [f"staff.tls.{t.replace(' ', '_')}" for t in TLS_STATES])
    codes += [f"audio.{s.value}" for s in Screen]
    # the operator's banner (ui/app.kv) on every screen of a session: all but attract and out of service
    codes += [f"assisted.{s.value}" for s in Screen if s not in (Screen.ATTRACT, Screen.OUT_OF_SERVICE)]
    codes += ["media.a4", "media.card"] + [f"print.failed.{r}" for r in PRINT_FAILURES]
    assert not [c for c in codes if not translator().has(c, "id")]
    text = message_text(Message("document.unavailable.printer",
                                {"kind": "KIA", "role": "card_printer", "fault": "ribbon_out"}), "id")
    assert text == "Printer untuk Kartu Identitas Anak (KIA) sedang bermasalah: pita printer kartu habis."
    assert failure_text(Message("print.failed.ribbon_out"), "en") == "Not printed: the card ribbon is used up"
    # Kinds are named by the registry, so a new kind (an A4 certificate) needs no catalogue entry.
    assert message_text(Message("document.unavailable.kind_disabled", {"kind": "AKTA_LAHIR"}), "en") == \
        "Birth Certificate is not offered at this kiosk now."
    assert all(kind_text(k, lang) != k for k in registry.kind_codes() for lang in ("id", "en"))
    assert failure_text(Message("print.failed.network"), "id") == "Belum tercetak: jaringan terputus"


def test_a_missing_key_or_parameter_is_visible_not_an_error():
    assert message_text(Message("no.such.key"), "id") == "[[no.such.key]]"
    assert translator().text("pin.wait", "id") == "Tunggu {seconds} detik, lalu coba lagi."
    assert translator().text("pin.wait", "en", seconds=2) == "Wait 2 seconds, then try again."
    assert translator().text("pin.wait", "xx", seconds=2) == "Tunggu 2 detik, lalu coba lagi."


def test_no_user_visible_text_outside_the_catalogues():
    """kv `text:` rules hold translation calls, data from the view or digits, never words."""
    offenders = []
    for path in UI.rglob("*.kv"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r'\s*text:\s*"([^"]*)"', line)
            if match and not match.group(1).isdigit():
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    for path in UI.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "text" and isinstance(node.value, ast.Constant):
                offenders.append(f"{path.name}: text={node.value.value!r}")
    assert not offenders


@pytest.mark.parametrize("bad, where", [
    ('msgid "a"\nmsgstr "b"\nfoo "c"\n', ":3: unsupported keyword"),
    ('msgid "a"\nmsgstr b\n', ":2: expected a quoted string"),
    ('"orphan"\n', ":1: continuation line outside an entry"),
    ('msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n', "duplicate msgid 'a'"),
    ('msgid "a"\nmsgstr "\\q\\x"\n', "bad string"),
])
def test_a_broken_catalogue_is_a_clear_error(bad, where):
    with pytest.raises(PoSyntaxError, match=re.escape(where)):
        parse_po(bad, "adm.po")


def test_po_strings_continue_over_lines_and_the_header_is_skipped(tmp_path):
    for lang in LANGUAGES:
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "adm.po").write_text('# c\nmsgid ""\nmsgstr ""\n"Language: x\\n"\n\nmsgid "k"\nmsgstr ""\n'
                                       '"one "\n"two"\n', encoding="utf-8")
    catalogue = Translator(tmp_path).catalogues["id"]
    assert catalogue.keys() == {"k"} and catalogue.gettext("k") == "one two"


def test_opening_hours_in_the_citizens_language():
    week = "; ".join([f"{d} 08:00-15:00" for d in ("mon", "tue", "wed", "thu")] + ["fri 08:00-11:00", "sat closed",
                                                                                 "sun closed"])
    assert hours_text(week, "id") == "Senin–Kamis: 08:00–15:00\nJumat: 08:00–11:00\nSabtu–Minggu: tutup"
    assert hours_text(week, "en").startswith("Monday–Thursday: 08:00–15:00")
    always = "; ".join(f"{d} 00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    assert hours_text(always, "id") == "Setiap hari, 24 jam"
    assert hours_text("Senin-Jumat 8-15", "en") == "Senin-Jumat 8-15"     # another shape: shown as it came
