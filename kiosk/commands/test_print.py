"""`adm-kiosk test-print`: a test page with no personal data on one printer.

    adm-kiosk --config kiosk.toml test-print a4            the configured A4 printer
    adm-kiosk test-print receipt --url socket://10.0.0.5:9100
    adm-kiosk test-print card --url usb://0f49:1234

The device is the one configured for the role in kiosk.toml, or `--url` (any connection URL
a driver takes: ipp://, a CUPS queue name, socket://, serial://, usb://, sim:). Exit 0 when
the page printed, 1 when the printer failed, 2 when no printer could be chosen, 75 when
another process owns the kiosk's devices (the kiosk service: stop it first). Every failure
is one line on standard error.

With a configuration (given or the default one), the test print goes into the journal in its
state_dir: an audit entry (technician, test_print, the outcome and, for the card printer, its
counters before and after), and a test card or slip counts as one used of the supply the kiosk
counts (kiosk/supplies.py; never as a citizen's print), a test card as a spoiled card when it
failed after the printer took it. It then takes the device lock (kiosk/device_lock.py) before
it opens the printer, even with --url (it may name one of the kiosk's own). With only --url
and no configuration there is no journal, no lock and nothing is recorded.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import sys
from pathlib import Path
from devices.status import DeviceError
from printer_drivers import registry
from printer_drivers.base import TestPrinting, cards_taken
from printer_drivers.factory import open_printer

from ..config import ConfigError, load_config
from ..device_lock import DeviceLock
from ..journal import Journal, journal_path
from ..supplies import CARDS_SPOILED, counted_on
from .maintenance import ACTOR, read_counters

# The CLI's word for each printer that has a test print (the registry's short names).
ROLES = {registry.device(role).short_name: role for role in registry.roles_with(registry.TEST_PRINT)}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "test-print", help="print a test page (no personal data) on one printer",
        description="Print a test page on one printer. With a configuration the test print is audited in "
                    "the kiosk's journal and a test card counts as a card used; with only --url and no "
                    "configuration nothing is recorded.")
    parser.add_argument("printer", choices=sorted(ROLES), help="which printer")
    parser.add_argument("--url", help="print here instead of the configured device "
                                      "(e.g. ipp://localhost:631/printers/KK-A4, socket://host:9100)")
    parser.set_defaults(func=run)


def run(args) -> int:
    role = ROLES[args.printer]
    try:
        url, options, kiosk_id, state_dir = _target(role, args.url, args.config)
    except ConfigError as exc:
        _fail(args.printer, str(exc).splitlines()[0])
        return 2
    # The kiosk's journal and, likely, one of its devices: one owner at a time (kiosk/device_lock.py).
    with DeviceLock(state_dir, f"adm-kiosk test-print {args.printer}") if state_dir is not None else contextlib.nullcontext():
        return _print_test(args, role, url, options, kiosk_id, state_dir)


def _print_test(args, role: str, url: str, options: dict, kiosk_id: str, state_dir: Path | None) -> int:
    try:
        printer = open_printer(role, url, **options)
    except ValueError as exc:
        _fail(args.printer, str(exc))
        return 2
    if not isinstance(printer, TestPrinting):
        printer.close()
        _fail(args.printer, f"{type(printer).__name__} has no test print")
        return 2
    watch_cards = state_dir is not None and registry.device(role).has(registry.COUNTERS)
    before = read_counters(printer) if watch_cards else None
    outcome = "failed: error"
    try:
        result = printer.print_test(kiosk_id)
        outcome = "printed"
    except DeviceError as exc:
        fault = exc.fault
        outcome = f"failed: {fault.code.value}"
        _fail(args.printer, f"{fault.message('id')} / {fault.message('en')}"
                            f"{' (' + fault.detail + ')' if fault.detail else ''}")
        return 1
    except OSError as exc:
        outcome = f"failed: {type(exc).__name__}"
        _fail(args.printer, f"{url.split('?')[0]}: {exc}")
        return 1
    finally:
        after = read_counters(printer) if watch_cards else None
        printer.close()
        if state_dir is not None:
            _record(state_dir, args.printer, role, outcome, before, after)
    print(f"test-print {args.printer}: halaman uji tercetak / test page printed on {url.split('?')[0]}"
          f" (job {result.job_id})")
    return 0


def test_print_record(role: str, outcome: str, before, after) -> tuple[dict, dict | None]:
    """The audit detail of a test print and what it counts: a test card or slip used (each
    supply the kiosk counts on that printer, kiosk/supplies.py), or the cards a failed one
    spoiled (the CLI and the maintenance screen record the same)."""
    detail = {"device": role, "outcome": outcome}
    count = {counted.test_counter: 1 for counted in counted_on(role)} if outcome == "printed" else {}
    if registry.device(role).has(registry.CARD_HANDLING):
        detail.update(counters_before=before, counters_after=after)
        taken = cards_taken(before, after)
        if outcome != "printed" and taken:
            count = {CARDS_SPOILED: taken}
    return detail, count or None


def _record(state_dir, which: str, role: str, outcome: str, before, after) -> None:
    """The technician's test print in the journal; a card used is counted with it."""
    detail, count = test_print_record(role, outcome, before, after)
    try:
        journal = Journal(journal_path(state_dir))
        try:
            journal.audit(ACTOR, "test_print", detail, count=count)
        finally:
            journal.close()
    except (OSError, sqlite3.Error) as exc:
        print(f"test-print {which}: tidak tercatat / not recorded in the journal: {exc}", file=sys.stderr)


def _target(role: str, url: str | None, config_path: str | None) -> tuple[str, dict, str, Path | None]:
    """The URL to print on, the driver's options, the kiosk id to show and the state_dir
    holding the journal (None without a configuration). With --url the config is optional
    (read only for the kiosk id and the journal) and its device options are not used;
    without it the role must be configured."""
    try:
        config = load_config(config_path)
    except ConfigError:
        if url is None or config_path is not None:
            raise
        return url, {}, socket.gethostname(), None
    options: dict = {}
    if url is None:
        device = config.device(role)
        if device is None:
            raise ConfigError([f"{config.path}: no [devices.{role}] configured; give --url"])
        url, options = device.url, dict(device.options)
    return url, options, config.kiosk.id, config.kiosk.state_dir


def _fail(which: str, message: str) -> None:
    one_line = " ".join(message.split())
    print(f"test-print {which}: gagal / failed: {one_line}", file=sys.stderr)
