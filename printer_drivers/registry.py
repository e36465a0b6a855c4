"""The one registry of device roles and document kinds (docs/REGISTRY.md).

    device("card_printer").driver_class()        # EvolisPrinter, imported now
    device("card_printer").has(CARD_HANDLING)     # what it can do, without building it
    kind("KK").printer_role, kind("KK").name("en")

A **device role** is one entry: the driver serving it (as "module:Class", imported only
when the role is opened, so a kiosk without a card printer never loads card imaging), the
URL schemes it opens, the simulator that answers its `sim:` URL, the schema of the options
read from `[devices.<role>]` in kiosk.toml, what it can do (`Capability`, each with a typed
protocol in printer_drivers/base.py), whether it may be declared required, and the deadline
of one print on it.

A **document kind** is one entry: its code in the dinas contract (dinas/openapi.yaml), the
role that prints it, its media and its names in Bahasa Indonesia and English (the UI, the
receipt and the CLI show them).

Configuration, the printer factory, gating, the device board, recovery, test prints, the
journal, the CLI and the UI read these tables; no other module lists roles or kinds
(tests/unit/test_registry.py checks it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Mapping

from devices.status import Consumable
from devices.transport import parse_device_url


class Capability(StrEnum):
    """What a driver can do beyond status and printing; each has its protocol in base.py."""

    TEST_PRINT = "test_print"          # TestPrinting: a test page/card with no personal data
    COUNTERS = "counters"              # the device keeps lifetime counters (cards taken …)
    CARD_HANDLING = "card_handling"    # CardHandling: a card in the printer, reject it
    CLEANING = "cleaning"              # Cleaning: it says when it is due, and runs its cleaning cycle
    RECEIPTS = "receipts"              # ReceiptPrinting: the citizen's receipt slip
    SCANS = "scans"                    # an input device: reads codes, prints nothing


TEST_PRINT, COUNTERS, CARD_HANDLING, CLEANING, RECEIPTS, SCANS = tuple(Capability)

BYTE_SCHEMES = ("serial", "socket", "usb", "sim")
IPP_SCHEMES = ("ipp", "ipps", "cups", "sim")
SCHEME_FORMS = {"serial": "serial:///dev/ttyUSB0", "socket": "socket://host:port", "usb": "usb://VID:PID",
                "ipp": "ipp://host:631/printers/QUEUE", "ipps": "ipps://host/printers/QUEUE",
                "cups": "a CUPS queue name"}
_TYPE_NAMES = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "table": "a table"}


@dataclass(frozen=True)
class Option:
    """One option of a driver, set in `[devices.<role>]` and passed to its constructor.
    `kind` is the TOML type (config_schema's names); `check(value)` returns a problem or None."""

    name: str
    kind: str
    help: str
    check: Callable[[Any], str | None] | None = None
    convert: Callable[[Any], Any] | None = None     # TOML value -> the constructor's argument

    def __post_init__(self) -> None:
        if self.kind not in _TYPE_NAMES:
            raise ValueError(f"option {self.name}: kind is one of {', '.join(_TYPE_NAMES)}")


@dataclass(frozen=True)
class DeviceRole:
    role: str
    driver: str                                  # "package.module:Class"
    schemes: tuple[str, ...]
    simulator: str | None                        # the NAME of its sim:NAME URL
    options: tuple[Option, ...] = ()
    capabilities: frozenset[Capability] = frozenset()
    can_be_required: bool = False                # only printers a document depends on
    print_deadline_s: float | None = None        # one print, from sending to the device's answer
    short_name: str = ""                         # the CLI's word for it (test-print card)
    supplies: tuple[Consumable, ...] = ()        # what a technician loads or replaces on it (kiosk/supplies.py)

    @property
    def is_printer(self) -> bool:
        return self.print_deadline_s is not None

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def driver_class(self) -> type:
        module_name, _, class_name = self.driver.partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def url_problem(self, url: str) -> str | None:
        """Why `url` cannot reach this role's device, or None."""
        try:
            parsed = parse_device_url(url)
        except ValueError as exc:
            return str(exc)
        if parsed.scheme not in self.schemes:
            forms = [f"sim:{self.simulator}" if s == "sim" else SCHEME_FORMS[s] for s in self.schemes]
            return f"a {self.role} is reached through {', '.join(forms[:-1])} or {forms[-1]}, not {parsed.scheme}"
        if parsed.scheme == "sim" and parsed.target != self.simulator:
            return f"the {self.role}'s simulator is sim:{self.simulator}, not sim:{parsed.target}"
        return None


@dataclass(frozen=True)
class DocumentKind:
    code: str                                    # the contract's kind (dinas/openapi.yaml)
    printer_role: str
    media: str                                   # the contract's media: a4 | card
    names: Mapping[str, str] = field(default_factory=dict)   # language -> name
    short: str | None = None                     # the abbreviation people know it by, if any

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["id"]

    def brief(self, language: str) -> str:
        """The shortest name people know: 'KK', 'Akta Kelahiran'."""
        return self.short or self.name(language)

    def label(self, language: str) -> str:
        """What the citizen reads: 'Kartu Keluarga (KK)', 'Akta Kelahiran'."""
        return f"{self.name(language)} ({self.short})" if self.short else self.name(language)


# --- option checks -------------------------------------------------------------------------------

def _choice(allowed: tuple) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else \
        f"expected one of {', '.join(map(repr, allowed))}, got {v!r}"


def _seconds(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"expected seconds from {low} to {high}, got {v}"


def _holes(value: list) -> str | None:
    for hole in value:
        if not (isinstance(hole, list) and len(hole) == 4
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in hole)):
            return "expected a list of [x, y, width, height] in card pixels (300 dpi), e.g. [[40, 60, 200, 80]]"
    return None


def _sensor_thresholds(value: dict) -> str | None:
    from printer_drivers.evolis.sensors import parse_thresholds     # stdlib only: no card imaging
    try:
        parse_thresholds(value)
    except ValueError as exc:
        return str(exc).removeprefix("sensor_thresholds.").removeprefix("sensor_thresholds: ")
    return None


def _contrast(value: dict) -> str | None:
    from printer_drivers.evolis.print_settings import contrast_problem
    problem = contrast_problem(value)
    return problem.removeprefix("contrast.").removeprefix("contrast ") if problem else None


# --- the tables ----------------------------------------------------------------------------------

# Card imaging choices (printer_drivers/evolis/imaging.py and printer.py check the same).
COLOUR_LEVELS = (32, 64, 128)
BLACK_POLICIES = ("none", "all_black", "text")

DEVICES: tuple[DeviceRole, ...] = (
    DeviceRole(
        "card_printer", "printer_drivers.evolis.printer:EvolisPrinter", BYTE_SCHEMES, "card_printer",
        options=(
            Option("levels", "int", "colour levels per Y/M/C panel (32, 64 or 128)", _choice(COLOUR_LEVELS)),
            Option("black_policy", "str", "what the K panel prints: none, all_black or text",
                   _choice(BLACK_POLICIES)),
            Option("compressed", "bool", "send panels compressed (the vendor driver's default)"),
            Option("timeout", "number", "seconds for one command's answer", _seconds(0.5, 60)),
            Option("card_timeout", "number", "seconds for a card to come out", _seconds(10, 600)),
            Option("poll_interval", "number", "seconds between card-position reads", _seconds(0.05, 5)),
            Option("overlay_holes", "list", "areas left without overlay (a chip, a signature panel), "
                   "[x, y, width, height] in card pixels", _holes,
                   convert=lambda holes: tuple(tuple(h) for h in holes)),
            Option("sensor_thresholds", "table", "per printer model (as Rtp answers it), the volts at which "
                   "Rse;o reads the cover open and Rse;m the feeder empty, e.g. "
                   "{\"Evolis KC200\" = {cover = {open_above = 2.5}}}; without it a voltage is unknown",
                   _sensor_thresholds),
            Option("contrast", "table", "contrast per panel, 0 to 20 (Pc;<panel>;=;<n>), default {k = 10}",
                   _contrast),
        ),
        capabilities=frozenset({TEST_PRINT, COUNTERS, CARD_HANDLING, CLEANING}),
        can_be_required=True, print_deadline_s=240.0, short_name="card",
        supplies=(Consumable.CARDS, Consumable.RIBBON)),
    DeviceRole(
        "a4_printer", "printer_drivers.a4:A4Printer", IPP_SCHEMES, "a4_printer",
        options=(
            Option("timeout", "number", "seconds for one IPP request", _seconds(0.5, 120)),
            Option("job_timeout", "number", "seconds for a whole job", _seconds(10, 1800)),
            Option("poll_interval", "number", "seconds between job-state reads", _seconds(0.05, 10)),
            Option("user", "str", "requesting-user-name sent to CUPS"),
        ),
        capabilities=frozenset({TEST_PRINT}), can_be_required=True, print_deadline_s=180.0,
        short_name="a4", supplies=(Consumable.PAPER_A4,)),
    DeviceRole(
        "receipt_printer", "printer_drivers.receipt:ReceiptPrinter", BYTE_SCHEMES, "receipt_printer",
        options=(
            Option("profile", "str", "python-escpos printer profile, e.g. TM-T20II"),
            Option("timeout", "number", "seconds for one write", _seconds(0.5, 60)),
            Option("status_timeout", "number", "seconds for each status reply", _seconds(0.1, 10)),
        ),
        capabilities=frozenset({TEST_PRINT, RECEIPTS}), print_deadline_s=30.0, short_name="receipt",
        supplies=(Consumable.RECEIPT_PAPER,)),
    DeviceRole(
        "scanner", "devices.scanner:ScannerReader", BYTE_SCHEMES, "scanner",
        options=(
            Option("partial_timeout", "number", "seconds of quiet after which a code without its "
                   "terminator is taken as incomplete", _seconds(0.05, 10)),
            Option("max_length", "int", "longest code accepted, in bytes",
                   lambda v: None if 16 <= v <= 65536 else f"expected 16 to 65536, got {v}"),
        ),
        capabilities=frozenset({SCANS}), short_name="scanner"),
)

KINDS: tuple[DocumentKind, ...] = (
    DocumentKind("KK", "a4_printer", "a4", {"id": "Kartu Keluarga", "en": "Family Card"}, short="KK"),
    DocumentKind("KIA", "card_printer", "card", {"id": "Kartu Identitas Anak", "en": "Child Identity Card"},
                 short="KIA"),
    DocumentKind("AKTA_LAHIR", "a4_printer", "a4", {"id": "Akta Kelahiran", "en": "Birth Certificate"}),
    DocumentKind("AKTA_MATI", "a4_printer", "a4", {"id": "Akta Kematian", "en": "Death Certificate"}),
    DocumentKind("SKPWNI", "a4_printer", "a4", {"id": "Surat Keterangan Pindah WNI (SKPWNI)",
                                                "en": "Certificate of Moving Out (SKPWNI)"}),
)

_DEVICES = {entry.role: entry for entry in DEVICES}
_KINDS = {entry.code: entry for entry in KINDS}


# --- lookups -------------------------------------------------------------------------------------

def roles() -> tuple[str, ...]:
    return tuple(_DEVICES)


def printer_roles() -> tuple[str, ...]:
    return tuple(entry.role for entry in DEVICES if entry.is_printer)


def roles_with(capability: Capability) -> tuple[str, ...]:
    return tuple(entry.role for entry in DEVICES if entry.has(capability))


def device(role: str) -> DeviceRole:
    try:
        return _DEVICES[role]
    except KeyError:
        raise ValueError(f"unknown device role {role!r}; one of {', '.join(_DEVICES)}") from None


def kind_codes() -> tuple[str, ...]:
    return tuple(_KINDS)


def kind(code: str) -> DocumentKind | None:
    return _KINDS.get(code)


def kinds_for(role: str) -> tuple[str, ...]:
    """The kinds printed on `role`'s device."""
    return tuple(entry.code for entry in KINDS if entry.printer_role == role)


def document_printer_roles() -> tuple[str, ...]:
    """The printers that print a citizen's documents (not the receipt)."""
    return tuple(dict.fromkeys(entry.printer_role for entry in KINDS))


def kinds_on_card_printers() -> tuple[str, ...]:
    """Kinds whose every print takes a blank card (the kiosk's own card count)."""
    return tuple(entry.code for entry in KINDS if device(entry.printer_role).has(CARD_HANDLING))


def kind_name(code: str, language: str) -> str:
    """A kind's name for people; an unknown code is shown as itself."""
    entry = _KINDS.get(code)
    return entry.name(language) if entry else code


def kind_brief(code: str, language: str) -> str:
    """A kind by its shortest known name ('KK'); an unknown code is shown as itself."""
    entry = _KINDS.get(code)
    return entry.brief(language) if entry else code


def kind_label(code: str, language: str) -> str:
    """A kind as the citizen reads it on screen; an unknown code is shown as itself."""
    entry = _KINDS.get(code)
    return entry.label(language) if entry else code


def media_codes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(entry.media for entry in KINDS))
