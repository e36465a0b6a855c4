"""Every figure a technician, the console and the dinas read about this kiosk, computed here
once (issue 12): the maintenance screens, `adm-kiosk diag [--json]` and the heartbeat all
take them from one `Diagnostics`.

    diagnostics = Diagnostics(board, journal, settings=lambda: settings, outbox_depth=outbox.depth, storage=guard)
    diagnostics.statuses()                 # the snapshots, the kiosk's own counts applied (board)
    diagnostics.supplies()                 # each supply of the printers: last refilled, the count
    diagnostics.heartbeat_figures()        # devices, counters, outbox depth, cards_low: the beat
    diagnostics.report(dinas=probe_dinas(client), config=config_figures(state_dir))   # diag

A device's figures: state, ready, required, faults with what to do (Bahasa Indonesia and
English), supplies with counts, counters, model, firmware and serial number; for a printer
that runs its own cleaning, the cards since its last cleaning (`cleaning_figures`). The supplies
(kiosk/supplies.py): for each one the configured printers take, when it was last refilled and
by which PIN slot, and for the counted ones (cards, receipt paper) the kiosk's count, its low
mark and level (`card_stock`, `receipt_stock` are those two entries). The outbox:
depth, the oldest event waiting and the last error. The dinas: reachable, latency, TLS.
The configuration: the version in force and the last envelope's result. Nothing here holds
or returns a citizen's data: the journal keeps none, the device snapshots carry none.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import Any, Callable, Mapping

from devices.status import Consumable, DeviceStatus, FaultCode, SupplyLevel
from printer_drivers import registry
from printer_drivers.base import CARDS_INSERTED, CLEANINGS_DONE

from . import supplies as supply_rules
from .journal import Journal, local_day, utc_iso
from .settings import unset_for_citizens

# What the technician does about each fault: (Bahasa Indonesia, English). Closed like the
# catalogue itself: tests/unit/test_diagnostics.py checks every code has its line.
WHAT_TO_DO: Mapping[FaultCode, tuple[str, str]] = MappingProxyType({
    FaultCode.COVER_OPEN: ("Tutup penutup printer sampai terkunci.", "Close the printer cover until it latches."),
    FaultCode.MEDIA_JAM: ("Buka printer, keluarkan kartu atau kertas yang macet, lalu tutup kembali.",
                          "Open the printer, remove the jammed card or paper, then close it."),
    FaultCode.FEEDER_EMPTY: ("Isi kartu blanko, lalu catat jumlah kartu yang diisi.",
                             "Load blank cards, then record how many were loaded."),
    FaultCode.FEEDER_LOW: ("Siapkan kartu blanko; isi sebelum habis dan catat jumlahnya.",
                           "Bring blank cards; load them before they run out and record the count."),
    FaultCode.RIBBON_OUT: ("Ganti pita printer kartu.", "Replace the card printer ribbon."),
    FaultCode.RIBBON_LOW: ("Siapkan pita printer kartu pengganti.", "Bring a spare card printer ribbon."),
    FaultCode.RIBBON_ERROR: ("Pasang ulang pita; jika tetap salah, ganti dengan pita yang cocok.",
                             "Refit the ribbon; if it stays wrong, fit a ribbon of the right type."),
    FaultCode.PAPER_OUT: ("Isi kertas.", "Load paper."),
    FaultCode.PAPER_LOW: ("Siapkan kertas pengganti.", "Bring paper."),
    FaultCode.TONER_LOW: ("Siapkan toner pengganti.", "Bring a spare toner cartridge."),
    FaultCode.TONER_OUT: ("Ganti toner.", "Replace the toner cartridge."),
    FaultCode.NEEDS_CLEANING: ("Jalankan pembersihan dengan kartu pembersih.", "Run a cleaning with a cleaning card."),
    FaultCode.CARD_NOT_TAKEN: ("Ambil kartu dari slot keluar.", "Take the card from the output slot."),
    FaultCode.REJECT_BOX_FULL: ("Kosongkan kotak kartu rusak.", "Empty the reject box."),
    FaultCode.OFFLINE: ("Nyalakan printer dan pastikan dalam keadaan siap (online).",
                        "Switch the printer on and put it online."),
    FaultCode.DISCONNECTED: ("Periksa kabel daya dan kabel data perangkat.", "Check the device's power and data cables."),
    FaultCode.TIMEOUT: ("Matikan lalu nyalakan perangkat; periksa kabelnya.",
                        "Power the device off and on; check its cable."),
    FaultCode.PROTOCOL_ERROR: ("Matikan lalu nyalakan perangkat; jika berulang, laporkan model dan firmware.",
                               "Power the device off and on; if it recurs, report its model and firmware."),
    FaultCode.COMMAND_REJECTED: ("Matikan lalu nyalakan perangkat; jika berulang, laporkan model dan firmware.",
                                 "Power the device off and on; if it recurs, report its model and firmware."),
    FaultCode.HARDWARE: ("Hubungi servis perangkat; catat nomor seri.", "Call the device's service; note its serial."),
    FaultCode.STORAGE_FULL: ("Ekspor diagnostik, lalu laporkan ke dinas: penyimpanan kiosk hampir penuh.",
                             "Export diagnostics and tell the dinas: the kiosk's storage is nearly full."),
    FaultCode.STORAGE_UNWRITABLE: ("Mulai ulang kiosk; jika tetap, disk perlu diperiksa.",
                                   "Restart the kiosk; if it stays, the disk must be checked."),
})

IDENTITY = (("model", "model"), ("firmware", "firmware"), ("serial_number", "serial"))

# A printer's cleaning (kiosk/staff_desk.py) is audited as this action with detail
# {role, outcome, cards_inserted, …}. The kiosk's cleaning counter — cards the printer took
# since — starts again from the `cards_inserted` of the last row whose outcome is CLEANED.
CLEANING_ACTION, CLEANED = "clean_printer", "cleaned"


def what_to_do(code: FaultCode) -> dict[str, str]:
    text_id, text_en = WHAT_TO_DO[code]
    return {"id": text_id, "en": text_en}


def advice(code: str) -> dict[str, str] | None:
    """`what_to_do` for a fault code named in an outcome ("failed: cover_open"), or None."""
    return what_to_do(FaultCode(code)) if code in WHAT_TO_DO else None


def device_figures(status: DeviceStatus, *, required: bool,
                   counters: Mapping[str, int] | None = None) -> dict[str, Any]:
    """One device as the technician reads it (the heartbeat's shape plus what to do)."""
    figures = status.as_dict()
    figures["faults"] = [{**fault.as_dict(), "what_to_do": what_to_do(fault.code)} for fault in status.faults]
    reason = status.unusable_reason()
    figures.update({
        "ready": status.usable, "required": required,
        "not_ready_because": reason.code.value if reason else None,
        "counters": dict(counters) if counters is not None else None,
        **{name: (str(status.capabilities[key]) if status.capabilities.get(key) else None)
           for key, name in IDENTITY},
    })
    return figures


def cleaning_figures(role: str, status: DeviceStatus, counters: Mapping[str, int] | None,
                     journal: Journal) -> dict[str, Any]:
    """A printer that runs its own cleaning: cards since the last cleaning this kiosk ran
    (None before the first one, or when the printer's count is unreadable or went back: a
    different printer), when and by which slot, the printer's own count of cleanings, due now."""
    last = journal.last_audit(CLEANING_ACTION, role=role, outcome=CLEANED)
    taken, at_cleaning = (counters or {}).get(CARDS_INSERTED), (last or {}).get("detail", {}).get(CARDS_INSERTED)
    since = taken - at_cleaning if taken is not None and at_cleaning is not None and taken >= at_cleaning else None
    return {"cards_since": since, "last_at": utc_iso(last["at"]) if last else None,
            "last_by": last["actor"] if last else None, "cleanings_done": (counters or {}).get(CLEANINGS_DONE),
            "due": any(fault.code == FaultCode.NEEDS_CLEANING for fault in status.faults)}


def config_figures(state_dir, local_settings) -> dict[str, Any]:
    """The configuration in force (remote version or kiosk.toml) and the last envelope's result."""
    from .remote_config.store import ConfigStore, running_settings

    state = ConfigStore(state_dir).load()
    _settings, version = running_settings(state, local_settings)
    return {"version": version, "source": "remote" if version is not None else "kiosk.toml",
            "expires_at": state.applied_expires_at, "last": state.last}


# What probe_dinas says of the link's TLS (the screen words each one).
TLS_VERIFIED, TLS_NOT_USED, TLS_UNKNOWN, TLS_FAILED = "verified", "not used", "unknown", "failed"
TLS_STATES = (TLS_VERIFIED, TLS_NOT_USED, TLS_UNKNOWN, TLS_FAILED)


def probe_dinas(client, base_url: str, clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Can the dinas be reached now: one unretried request, timed. Never raises."""
    from .dinas_errors import DinasError, DinasTlsFailed

    tls_used = base_url.startswith("https://")
    started = clock()
    try:
        status = client.probe()
    except DinasTlsFailed as exc:
        return {"url": base_url, "reachable": False, "latency_ms": None, "tls": TLS_FAILED, "detail": exc.detail}
    except DinasError as exc:
        return {"url": base_url, "reachable": False, "latency_ms": None,
                "tls": TLS_UNKNOWN if tls_used else TLS_NOT_USED, "detail": exc.detail or exc.code}
    latency = round((clock() - started) * 1000, 1)
    return {"url": base_url, "reachable": 200 <= status < 500, "latency_ms": latency,
            "tls": TLS_VERIFIED if tls_used else TLS_NOT_USED,
            "detail": None if status < 400 else f"HTTP {status}"}


class Diagnostics:
    """The figures over the running (or the console's own) device board and journal."""

    def __init__(self, devices, journal: Journal, *, settings: Callable[[], Any],
                 outbox_depth: Callable[[], int] | None = None, storage=None) -> None:
        self._devices = devices
        self._journal = journal
        self._settings = settings                  # the running settings (the low marks)
        self._outbox_depth = outbox_depth or journal.outbox_depth   # the outbox's own count holds memory-held events
        self._storage = storage

    def statuses(self) -> dict[str, DeviceStatus]:
        statuses = dict(self._devices.statuses())
        if self._storage is not None:
            statuses[self._storage.status.device] = self._storage.status
        return statuses

    def required_roles(self) -> tuple[str, ...]:
        return tuple(self._devices.required_roles)

    def stock(self, supply: Consumable) -> dict[str, Any]:
        """One supply's record; a counted one with its count, low mark and level."""
        stock = self._journal.stock(supply)
        counted = supply_rules.counted(supply)
        if counted is None:
            return stock
        low_at = counted.low_at(self._settings())
        level = supply_rules.stock_supply(counted, stock, low_at)
        return {**stock, "low_at": low_at, "level": level.level.value if level else None}

    def card_stock(self) -> dict[str, Any]:
        return self.stock(Consumable.CARDS)

    def receipt_stock(self) -> dict[str, Any]:
        return self.stock(Consumable.RECEIPT_PAPER)

    def supplies(self, roles=None) -> dict[str, dict[str, Any]]:
        """Each supply the configured printers take (the registry's), in the registry's order:
        its printer, whether the kiosk counts it, and its record (what the technician's
        supplies screen offers a button for)."""
        roles = tuple(self.statuses()) if roles is None else tuple(roles)
        found: dict[str, dict[str, Any]] = {}
        for role in registry.roles():
            if role not in roles:
                continue
            for supply in registry.device(role).supplies:
                found.setdefault(supply.value, {"role": role, "counted": supply_rules.counted(supply) is not None,
                                                **self.stock(supply)})
        return found

    @staticmethod
    def cards_low(statuses: Mapping[str, DeviceStatus]) -> bool:
        """A card feeder at or under its low mark, by its own sensor or by the kiosk's count."""
        feeders = [status.supply(Consumable.CARDS) for role, status in statuses.items()
                   if role in registry.roles_with(registry.CARD_HANDLING)]
        return any(s is not None and s.level in (SupplyLevel.LOW, SupplyLevel.OUT) for s in feeders)

    def heartbeat_figures(self) -> dict[str, Any]:
        statuses = self.statuses()
        today = local_day()
        return {
            "devices": {role: status.as_dict() for role, status in statuses.items()},
            "counters": {"day": today, "today": self._journal.counters(today), "card_stock": self.card_stock(),
                         "receipt_stock": self.receipt_stock()},
            "outbox_depth": self._outbox_depth(),
            "cards_low": self.cards_low(statuses),
        }

    def devices(self, counters: Mapping[str, Mapping[str, int] | None] | None = None) -> dict[str, dict[str, Any]]:
        required, cleans = self.required_roles(), registry.roles_with(registry.CLEANING)
        figures = {}
        for role, status in self.statuses().items():
            counted = (counters or {}).get(role)
            figures[role] = device_figures(status, required=role in required, counters=counted)
            if role in cleans:
                figures[role]["cleaning"] = cleaning_figures(role, status, counted, self._journal)
        return figures

    def outbox(self) -> dict[str, Any]:
        summary = self._journal.outbox_summary()
        return {**summary, "depth": self._outbox_depth()}

    def not_ready(self) -> dict[str, str]:
        """Each required device that cannot serve now, with its first reason."""
        statuses = self.statuses()
        result = {}
        for role in self.required_roles():
            status = statuses.get(role)
            if status is None or not status.usable:
                reason = status.unusable_reason() if status is not None else None
                result[role] = reason.code.value if reason else FaultCode.DISCONNECTED.value
        return result

    def report(self, *, counters: Mapping[str, Mapping[str, int] | None] | None = None,
               last_faults: list[dict[str, Any]] | None = None, dinas: dict[str, Any] | None = None,
               config: dict[str, Any] | None = None, kiosk_id: str | None = None) -> dict[str, Any]:
        """Everything, for the console and the maintenance screens."""
        devices = self.devices(counters)
        supplies = self.supplies(devices)
        return {
            "kiosk": kiosk_id,
            "at": utc_iso(),
            "ready": not self.not_ready(),
            "not_ready": self.not_ready(),
            "devices": devices,
            "supplies": supplies,
            "card_stock": self.card_stock(),
            "receipt_stock": self.receipt_stock(),
            "cards_low": self.cards_low(self.statuses()),
            "counters_today": self._journal.counters(local_day()),
            "outbox": self.outbox(),
            "last_faults": last_faults if last_faults is not None else current_faults(devices),
            "dinas": dinas,
            "config": config,
            "settings_unset": list(unset_for_citizens(self._settings())),
        }


def current_faults(devices: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The faults present now, where no running kiosk kept a history of them (the console)."""
    return [{"device": role, "code": fault["code"], "severity": fault["severity"], "at": None}
            for role, device in devices.items() for fault in device["faults"]]
