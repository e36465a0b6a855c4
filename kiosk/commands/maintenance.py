"""`adm-kiosk maintenance`: the field technician's commands, each one audited in the journal.

    adm-kiosk --config kiosk.toml maintenance status [--json]
    adm-kiosk --config kiosk.toml maintenance replenish cards 100          # counted: how many are in now
    adm-kiosk --config kiosk.toml maintenance replenish receipt_paper 250
    adm-kiosk --config kiosk.toml maintenance refilled ribbon              # sensed: only recorded
    adm-kiosk --config kiosk.toml maintenance refilled paper_a4
    adm-kiosk --config kiosk.toml maintenance reject-card
    adm-kiosk --config kiosk.toml maintenance audit [--last 20] [--json]
    adm-kiosk --config kiosk.toml maintenance export-logs --out /media/usb/kiosk-logs.json

Two verbs for refills, because the technician does two different things: `replenish` restarts
the kiosk's own count of a supply it counts (blank cards, receipt paper, in receipts) at the
number now loaded; `refilled` records that a supply the printer senses itself (the ribbon, A4
paper) was replaced, so the report shows when and by whom. Which supplies each takes comes
from the registry (kiosk/supplies.py); a supply no configured printer takes is refused.

`status` and `audit` only read. `replenish`, `refilled`, `reject-card` and `export-logs` act: when
`settings.technician_pin_hash` (or kiosk.emergency_technician_pin_hash) is set they need the
technician PIN, from ADM_TECHNICIAN_PIN or typed at a terminal; a wrong PIN is audited as a
refused attempt (never the PIN itself). With no PIN configured they need root.
`status` and `reject-card` talk to the devices directly, like `test-print`, so they take the
device lock (kiosk/device_lock.py) and are refused while the kiosk service runs (stop it
first), before the PIN is asked or anything is opened; the others only use the journal and
work beside the running kiosk. Exit 0 done, 1 the device failed, 2 bad arguments or
configuration, 3 refused (technician PIN missing or wrong), 75 another process owns the
devices. Failures are one line on standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Mapping

from devices.status import DeviceError, DeviceStatus, absent
from printer_drivers import registry
from printer_drivers.base import CardHandling
from printer_drivers.factory import open_device, open_printer

from ..config import ConfigError, KioskConfig, load_config
from ..device_lock import DeviceLock
from ..remote_config.store import with_running_settings
from ..settings import pin_matches
from ..devices_runtime import DeviceBoard
from .. import supplies as supply_rules
from ..supplies_console import MAX_COUNT, SUPPLY_WORDS, count_arg, supply_lines, supply_role
from ..diagnostics import Diagnostics
from ..journal import CARDS_SPOILED, Journal, journal_path, utc_iso
from ..logging_setup import mask_digit_runs

ACTOR = "technician"
PIN_ENV = "ADM_TECHNICIAN_PIN"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
STATUS_TIMEOUT_S = 20.0         # every device polled at once; one that does not answer is absent
SCANNER_WAIT_S = 2.0
REJECT_TIMEOUT_S = 20.0
WRONG_PIN_DELAY_S = 1.0         # on top of scrypt's own cost: guessing at the keyboard stays slow
# Keys whose values are personal whatever they hold: dropped from an export.
PERSONAL_KEYS = frozenset({"pin", "name", "nama", "holder", "holder_name", "full_name", "password",
                           "token", "document", "pdf"})


class Refused(Exception):
    """The technician PIN is required and was not given, or was wrong."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "maintenance", help="technician: device status, supplies, reject a card, audit trail, export logs",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="each device's state, supplies and faults; counters; supply stock")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=_with_kiosk(run_status, acts=False, opens_devices=True))
    replenish = actions.add_parser("replenish", help="record a counted supply loaded (cards, receipt paper):"
                                                     " the kiosk's count restarts there")
    replenish.add_argument("supply", choices=[c.value for c in supply_rules.COUNTED], help="what was loaded")
    replenish.add_argument("count", type=count_arg, help=f"how many are in it now (0 to {MAX_COUNT}; receipt"
                                                     " paper in receipts)")
    replenish.set_defaults(func=_with_kiosk(run_replenish, acts=True))
    refilled = actions.add_parser("refilled", help="record a supply the printer senses (ribbon, A4 paper) replaced")
    refilled.add_argument("supply", choices=[c.value for c in supply_rules.sensed_only()], help="what was replaced")
    refilled.set_defaults(func=_with_kiosk(run_refilled, acts=True))
    reject = actions.add_parser("reject-card", help="send a card left inside the card printer to the reject box")
    reject.set_defaults(func=_with_kiosk(run_reject_card, acts=True, opens_devices=True))
    audit = actions.add_parser("audit", help="the audit trail, newest first")
    audit.add_argument("--last", type=_positive_int, default=20, metavar="N", help="how many entries (default 20)")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.set_defaults(func=_with_kiosk(run_audit, acts=False))
    export = actions.add_parser("export-logs", help="write the journal's records, redacted, as JSON")
    export.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to write the JSON")
    export.set_defaults(func=_with_kiosk(run_export_logs, acts=True))


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _with_kiosk(action, *, acts: bool, opens_devices: bool = False):
    """Load the configuration, take the device lock when the action opens a device (refused
    before the PIN is asked while another process owns them), open the journal, check the
    PIN for an action, run it."""
    def run(args: argparse.Namespace) -> int:
        try:
            config = with_running_settings(load_config(args.config))   # a pushed PIN hash counts
        except ConfigError as exc:
            return fail(args.action, str(exc).splitlines()[0], EXIT_USAGE)
        owning = DeviceLock(config.kiosk.state_dir, f"adm-kiosk maintenance {args.action}") if opens_devices else None
        with owning or contextlib.nullcontext():
            return _run_audited(action, args, config, acts)
    return run


def _run_audited(action, args: argparse.Namespace, config: KioskConfig, acts: bool) -> int:
    try:
        journal = Journal(journal_path(config.kiosk.state_dir))
    except (OSError, sqlite3.Error) as exc:
        return fail(args.action, f"{config.kiosk.state_dir}: journal cannot be opened ({exc})", EXIT_FAILED)
    try:
        if acts:
            authorise(config, journal, args.action)
        return action(args, config, journal)
    except Refused as exc:
        return fail(args.action, str(exc), EXIT_REFUSED)
    finally:
        journal.close()


def fail(action: str, message: str, code: int) -> int:
    print(f"maintenance {action}: gagal / failed: {' '.join(message.split())}", file=sys.stderr)
    return code


# --- the technician PIN -------------------------------------------------------------------------

def authorise(config: KioskConfig, journal: Journal, command: str) -> None:
    """Raise Refused unless the technician PIN is right (the pushed hash or the emergency one
    in kiosk.toml). With no PIN configured at all, only root may act: a kiosk without a PIN
    is not an open door to whoever reaches its console. A wrong PIN is audited; the PIN is
    never written anywhere."""
    hashes = [h for h in (config.settings.technician_pin_hash, config.kiosk.emergency_technician_pin_hash) if h]
    if not hashes:
        if os.geteuid() != 0:
            journal.audit(ACTOR, "refused", {"command": command, "why": "no technician PIN configured, not root"})
            raise Refused("tidak ada PIN teknisi: jalankan sebagai root / no technician PIN configured:"
                          " run as root (sudo)")
        return
    pin = os.environ.get(PIN_ENV)
    if pin is None:
        if not sys.stdin.isatty():
            raise Refused(f"PIN teknisi diperlukan / technician PIN required: set {PIN_ENV} or run at a terminal")
        pin = getpass.getpass("PIN teknisi / technician PIN: ")
    if not any(pin_matches(pin_hash, pin) for pin_hash in hashes):
        journal.audit(ACTOR, "refused", {"command": command, "why": "wrong technician PIN"})
        time.sleep(WRONG_PIN_DELAY_S)
        raise Refused("PIN teknisi salah / wrong technician PIN (attempt recorded)")


# --- status -------------------------------------------------------------------------------------

def run_status(args, config: KioskConfig, journal: Journal) -> int:
    report = status_report(config, journal)
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else format_status(report))
    return EXIT_OK


def status_report(config: KioskConfig, journal: Journal) -> dict[str, Any]:
    supplies = Diagnostics(None, journal, settings=lambda: config.settings)
    return {
        "kiosk": config.kiosk.id,
        "devices": {role: status.as_dict() for role, status in device_snapshots(config).items()},
        "outbox_depth": journal.outbox_depth(),
        "counters_today": journal.counters(),
        "supplies": supplies.supplies(config.devices),
        "card_stock": supplies.card_stock(),
        "receipt_stock": supplies.receipt_stock(),
    }


def device_snapshots(config: KioskConfig) -> dict[str, DeviceStatus]:
    """A fresh snapshot of every configured device (printers polled in parallel)."""
    return read_devices(config)[0]


def read_devices(config: KioskConfig, counters_timeout: float | None = None
                 ) -> tuple[dict[str, DeviceStatus], dict[str, dict[str, int] | None]]:
    """Every configured device's snapshot, printers polled in parallel, and, when a
    `counters_timeout` is given, the counters of the printers that keep them (None where one
    could not be read)."""
    printers, snapshots = {}, {}
    for role, device in config.devices.items():
        if role not in registry.printer_roles():
            continue
        try:
            printers[role] = open_printer(role, device.url, **device.options)
        except ValueError as exc:
            snapshots[role] = absent(role, str(exc))
    board = DeviceBoard(printers, poll_interval=STATUS_TIMEOUT_S).start()
    counters: dict[str, dict[str, int] | None] = {}
    try:
        snapshots.update(board.refresh(STATUS_TIMEOUT_S))
        for role in printers if counters_timeout is not None else ():
            if registry.device(role).has(registry.COUNTERS):
                try:
                    counters[role] = dict(board.counters(role, counters_timeout))
                except (DeviceError, OSError, FutureTimeout):
                    counters[role] = None
    finally:
        board.stop()
    for role in registry.roles_with(registry.SCANS):
        if (scanner := config.device(role)) is not None:
            snapshots[role] = scanner_snapshot(role, scanner)
    return {role: snapshots[role] for role in config.devices if role in snapshots}, counters


def scanner_snapshot(role: str, device) -> DeviceStatus:
    """A scanner only speaks while read: listen briefly for its first status."""
    try:
        reader = open_device(role, device.url, **device.options)
    except ValueError as exc:
        return absent(role, str(exc))
    seen = threading.Event()
    reader.status_events.subscribe(lambda status: seen.set())
    reader.start()
    try:
        seen.wait(SCANNER_WAIT_S)
        return reader.status()
    finally:
        reader.stop()


def format_status(report: Mapping[str, Any]) -> str:
    lines = [f"kiosk {report['kiosk']}"]
    for role, device in report["devices"].items():
        lines.append(f"{role}: {device['state']}")
        supplies = ", ".join(f"{name} {s['level']}" + (f" ({s['count']})" if s["count"] is not None else "")
                             for name, s in device["supplies"].items())
        lines.append(f"  persediaan / supplies: {supplies or '-'}")
        for fault in device["faults"]:
            detail = f" ({fault['detail']})" if fault["detail"] else ""
            lines.append(f"  gangguan / fault: {fault['message']['id']} / {fault['message']['en']}"
                         f" [{fault['code']}]{detail}")
        if not device["faults"]:
            lines.append("  gangguan / faults: -")
        capabilities = ", ".join(f"{k}={v}" for k, v in sorted(device["capabilities"].items()))
        lines.append(f"  kemampuan / capabilities: {capabilities or '-'}")
    if not report["devices"]:
        lines.append("tidak ada perangkat dikonfigurasi / no devices configured")
    lines.append(f"antrean kirim / outbox: {report['outbox_depth']} event(s) waiting")
    today = "; ".join(f"{kind} " + ", ".join(f"{name} {value}" for name, value in sorted(names.items()))
                      for kind, names in sorted(report["counters_today"].items()))
    lines.append(f"hari ini / today: {today or '-'}")
    lines += supply_lines(report["supplies"])
    return "\n".join(lines)


# --- supplies and the reject box ----------------------------------------------------------------

def run_replenish(args, config: KioskConfig, journal: Journal) -> int:
    return _record_refill(args, config, journal, args.count)


def run_refilled(args, config: KioskConfig, journal: Journal) -> int:
    return _record_refill(args, config, journal, None)


def _record_refill(args, config: KioskConfig, journal: Journal, loaded: int | None) -> int:
    role = supply_role(config, args.supply)
    if role is None:
        return fail(args.action, f"{config.path}: no configured printer takes {args.supply}", EXIT_USAGE)
    stock = journal.replenish(args.supply, loaded, ACTOR, {"device": role})
    words = SUPPLY_WORDS.get(args.supply, args.supply)
    counted = f"{stock['loaded']} " if loaded is not None else ""
    print(f"maintenance {args.action}: {counted}{words} tercatat / recorded at {stock['since']}")
    return EXIT_OK


def read_counters(printer) -> dict[str, int] | None:
    try:
        return dict(printer.counters())
    except (DeviceError, OSError):
        return None


def run_reject_card(args, config: KioskConfig, journal: Journal) -> int:
    role = registry.roles_with(registry.CARD_HANDLING)[0]
    device = config.device(role)
    if device is None:
        return fail(args.action, f"{config.path}: no [devices.{role}] configured", EXIT_USAGE)
    try:
        printer = open_printer(role, device.url, **device.options)
    except ValueError as exc:
        return fail(args.action, str(exc), EXIT_USAGE)
    if not isinstance(printer, CardHandling):
        printer.close()
        return fail(args.action, f"{type(printer).__name__} cannot send a card to the reject box", EXIT_USAGE)
    try:
        counters = read_counters(printer)
        try:
            rejected = printer.reject_card(REJECT_TIMEOUT_S)
        except DeviceError as exc:
            fault = exc.fault
            journal.audit(ACTOR, "reject_card", {"device": role, "outcome": f"refused: {fault.code.value}",
                                                 "counters": counters})
            return fail(args.action, f"{fault.message('id')} / {fault.message('en')}"
                                     f"{' (' + fault.detail + ')' if fault.detail else ''}", EXIT_FAILED)
        except OSError as exc:
            journal.audit(ACTOR, "reject_card", {"device": role, "outcome": f"failed: {exc}"})
            return fail(args.action, f"{device.url.split('?')[0]}: {exc}", EXIT_FAILED)
    finally:
        printer.close()
    outcome = "rejected" if rejected else "no card inside"
    journal.audit(ACTOR, "reject_card", {"device": role, "outcome": outcome, "counters": counters},
                  count={CARDS_SPOILED: 1} if rejected else None)
    print("maintenance reject-card: " + ("kartu dibuang ke kotak reject / card sent to the reject box"
                                         if rejected else "tidak ada kartu di printer / no card in the printer"))
    return EXIT_OK


# --- the audit trail and the export -------------------------------------------------------------

def run_audit(args, config: KioskConfig, journal: Journal) -> int:
    rows = [{**row, "at": utc_iso(row["at"])} for row in journal.audit_trail(args.last)]
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
    else:
        for row in rows:
            detail = json.dumps(row["detail"], sort_keys=True) if row["detail"] is not None else ""
            print(f"{row['at']}  {row['actor']:<10}  {row['action']:<16}  {detail}".rstrip())
        if not rows:
            print("jejak audit kosong / the audit trail is empty")
    return EXIT_OK


def export_document(config: KioskConfig, journal: Journal) -> dict[str, Any]:
    """Everything the journal keeps for a technician's report, redacted."""
    jobs = [{"job_id": j.job_id, "document_id": j.document_id, "kind": j.kind, "role": j.role, "state": j.state,
             "reason": j.reason, "review": j.review, "counters_before": j.counters_before,
             "counters_after": j.counters_after, "history": journal.history(j.job_id)} for j in journal.jobs()]
    audit = [{**row, "at": utc_iso(row["at"])} for row in journal.audit_trail(limit=-1)]
    return redact({
        "kiosk": config.kiosk.id,
        "exported_at": utc_iso(),
        "supply_stock": {supply.value: journal.stock(supply) for supply in supply_rules.refillable()},
        "counters": journal.counters_by_day(),
        "jobs": jobs,
        "outbox": journal.outbox_rows(),
        "audit": audit,
        # The kiosk logs to standard error (the service manager's journal): no file of its own.
        "log": {"file": None, "lines": [], "note": "the kiosk keeps no log file; see the system journal"},
    })


def redact(value: Any) -> Any:
    """Drop personal keys and mask every run of 16 or more digits (a NIK keeps 6 + 4 at most)."""
    if isinstance(value, Mapping):
        return {str(k): redact(v) for k, v in value.items() if str(k).lower() not in PERSONAL_KEYS}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return mask_digit_runs(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 16:
        return mask_digit_runs(str(value))
    return value


def run_export_logs(args, config: KioskConfig, journal: Journal) -> int:
    out: Path = args.out
    if not out.parent.is_dir():
        return fail(args.action, f"{out.parent}: no such folder", EXIT_USAGE)
    document = export_document(config, journal)
    try:
        # Written whole or not at all (mkstemp: readable by its owner only).
        descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except OSError as exc:
        return fail(args.action, f"{out.parent}: {exc.strerror or exc}", EXIT_FAILED)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
        os.replace(temporary, out)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        return fail(args.action, f"{out}: {exc.strerror or exc}", EXIT_FAILED)
    journal.audit(ACTOR, "export_logs", {"out": str(out), "jobs": len(document["jobs"]),
                                         "audit_rows": len(document["audit"])})
    print(f"maintenance export-logs: {out} ({len(document['jobs'])} jobs, {len(document['audit'])} audit rows)")
    return EXIT_OK
