"""The one status model every device reports in (after XFS4IoT and IATA CUSS).

A driver turns whatever its device says into a `DeviceStatus`: an immutable snapshot of
state, supplies, faults and capabilities. Nothing above the driver ever looks at a
device's own words, so the session engine, the UI, diagnostics and the heartbeat all read
one shape. Snapshots are plain data: `as_dict()` is what goes on the wire.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Mapping


class DeviceState(StrEnum):
    READY = "ready"
    BUSY = "busy"
    OFFLINE = "offline"
    USER_ERROR = "user_error"          # a person must act: cover open, jam, card stuck
    HARDWARE_ERROR = "hardware_error"
    NO_DEVICE = "no_device"
    UNKNOWN = "unknown"


class SupplyLevel(StrEnum):
    FULL = "full"
    LOW = "low"
    OUT = "out"
    UNKNOWN = "unknown"


class Consumable(StrEnum):
    CARDS = "cards"                    # blank PVC cards in the feeder
    RIBBON = "ribbon"
    PAPER_A4 = "paper_a4"
    RECEIPT_PAPER = "receipt_paper"
    TONER = "toner"
    REJECT_BOX = "reject_box"


class Severity(StrEnum):
    ALARM = "alarm"                    # the device cannot do its job
    WARNING = "warning"                # it can, but someone should look soon


class FaultCode(StrEnum):
    COVER_OPEN = "cover_open"
    MEDIA_JAM = "media_jam"
    FEEDER_EMPTY = "feeder_empty"
    FEEDER_LOW = "feeder_low"
    RIBBON_OUT = "ribbon_out"
    RIBBON_LOW = "ribbon_low"
    RIBBON_ERROR = "ribbon_error"
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"
    TONER_LOW = "toner_low"
    TONER_OUT = "toner_out"
    NEEDS_CLEANING = "needs_cleaning"
    CARD_NOT_TAKEN = "card_not_taken"
    REJECT_BOX_FULL = "reject_box_full"
    OFFLINE = "offline"
    DISCONNECTED = "disconnected"
    TIMEOUT = "timeout"
    PROTOCOL_ERROR = "protocol_error"
    COMMAND_REJECTED = "command_rejected"   # the device refused a command (NACK, ERR …)
    HARDWARE = "hardware"
    STORAGE_FULL = "storage_full"            # the kiosk's state folder is below its free-space mark
    STORAGE_UNWRITABLE = "storage_unwritable"    # the state folder is read-only or fails writes


@dataclass(frozen=True)
class FaultInfo:
    severity: Severity
    message_id: str    # Bahasa Indonesia: what a technician or citizen reads first
    message_en: str


# The closed list. A fault code not in here is a programming error, not a device state.
FAULT_CATALOG: Mapping[FaultCode, FaultInfo] = MappingProxyType({
    FaultCode.COVER_OPEN: FaultInfo(Severity.ALARM, "Tutup printer terbuka", "Printer cover is open"),
    FaultCode.MEDIA_JAM: FaultInfo(Severity.ALARM, "Kartu atau kertas macet", "Card or paper jam"),
    FaultCode.FEEDER_EMPTY: FaultInfo(Severity.ALARM, "Kartu blanko habis", "Card feeder is empty"),
    FaultCode.FEEDER_LOW: FaultInfo(Severity.WARNING, "Kartu blanko hampir habis", "Card feeder is nearly empty"),
    FaultCode.RIBBON_OUT: FaultInfo(Severity.ALARM, "Pita printer kartu habis", "Card printer ribbon is out"),
    FaultCode.RIBBON_LOW: FaultInfo(Severity.WARNING, "Pita printer kartu hampir habis", "Card printer ribbon is low"),
    FaultCode.RIBBON_ERROR: FaultInfo(Severity.ALARM, "Pita printer kartu bermasalah", "Card printer ribbon error"),
    FaultCode.PAPER_OUT: FaultInfo(Severity.ALARM, "Kertas habis", "Paper is out"),
    FaultCode.PAPER_LOW: FaultInfo(Severity.WARNING, "Kertas hampir habis", "Paper is low"),
    FaultCode.TONER_LOW: FaultInfo(Severity.WARNING, "Toner hampir habis", "Toner is low"),
    FaultCode.TONER_OUT: FaultInfo(Severity.ALARM, "Toner habis", "Toner is empty"),
    FaultCode.NEEDS_CLEANING: FaultInfo(Severity.ALARM, "Printer kartu perlu dibersihkan", "Card printer needs cleaning"),
    FaultCode.CARD_NOT_TAKEN: FaultInfo(Severity.WARNING, "Kartu belum diambil", "Card waiting to be taken"),
    FaultCode.REJECT_BOX_FULL: FaultInfo(Severity.ALARM, "Kotak kartu rusak penuh", "Reject box is full"),
    FaultCode.OFFLINE: FaultInfo(Severity.ALARM, "Printer tidak siap (offline)", "Printer is offline"),
    FaultCode.DISCONNECTED: FaultInfo(Severity.ALARM, "Perangkat tidak tersambung", "Device is disconnected"),
    FaultCode.TIMEOUT: FaultInfo(Severity.ALARM, "Perangkat tidak menjawab", "Device did not answer in time"),
    FaultCode.PROTOCOL_ERROR: FaultInfo(Severity.ALARM, "Jawaban perangkat tidak dikenali", "Device sent an unexpected reply"),
    FaultCode.COMMAND_REJECTED: FaultInfo(Severity.ALARM, "Perangkat menolak perintah", "Device rejected a command"),
    FaultCode.HARDWARE: FaultInfo(Severity.ALARM, "Kerusakan perangkat keras", "Hardware failure"),
    FaultCode.STORAGE_FULL: FaultInfo(Severity.ALARM, "Penyimpanan kiosk hampir penuh", "Kiosk storage is nearly full"),
    FaultCode.STORAGE_UNWRITABLE: FaultInfo(Severity.ALARM, "Penyimpanan kiosk tidak bisa ditulis",
                                            "Kiosk storage cannot be written"),
})


@dataclass(frozen=True)
class Fault:
    code: FaultCode
    detail: str = ""   # for the technician's report; never personal data

    @property
    def info(self) -> FaultInfo:
        return FAULT_CATALOG[self.code]

    @property
    def severity(self) -> Severity:
        return self.info.severity

    def message(self, language: str = "id") -> str:
        return self.info.message_en if language == "en" else self.info.message_id

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "severity": self.severity.value,
                "message": {"id": self.info.message_id, "en": self.info.message_en},
                "detail": self.detail}


@dataclass(frozen=True)
class Supply:
    consumable: Consumable
    level: SupplyLevel
    count: int | None = None   # remaining units, where the device or the kiosk's own counting knows

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level.value, "count": self.count}


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class DeviceStatus:
    """One device at one moment. Build a new one to change anything (`evolve`)."""

    device: str                          # the role: card_printer, a4_printer, receipt_printer, scanner
    state: DeviceState
    supplies: tuple[Supply, ...] = ()
    faults: tuple[Fault, ...] = ()
    capabilities: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    updated_at: float = field(default_factory=time.time, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "supplies", tuple(self.supplies))
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "capabilities", _frozen(self.capabilities))

    # --- reading ---------------------------------------------------------------------------
    def supply(self, consumable: Consumable) -> Supply | None:
        return next((s for s in self.supplies if s.consumable == consumable), None)

    def has_fault(self, code: FaultCode) -> bool:
        return any(f.code == code for f in self.faults)

    # The rules behind these three properties are plain functions below because mutmut
    # (`make mutate`, docs/MUTATION.md) cannot mutate a property's body.
    @property
    def alarms(self) -> tuple[Fault, ...]:
        return _alarms(self.faults)

    @property
    def supplies_out(self) -> tuple[Supply, ...]:
        return _supplies_out(self.supplies)

    @property
    def usable(self) -> bool:
        """Can take a job now: ready (or busy, finishing another), no alarm, no supply out."""
        return _takes_jobs(self)

    def unusable_reason(self) -> Fault | None:
        """The first thing that stops this device, as a fault, or None when usable."""
        if self.usable:
            return None
        if self.alarms:
            return self.alarms[0]
        if self.state == DeviceState.NO_DEVICE:
            return Fault(FaultCode.DISCONNECTED)
        if self.state == DeviceState.OFFLINE:
            return Fault(FaultCode.OFFLINE)
        out = {s.consumable for s in self.supplies_out}
        if Consumable.CARDS in out:
            return Fault(FaultCode.FEEDER_EMPTY)
        if Consumable.RIBBON in out:
            return Fault(FaultCode.RIBBON_OUT)
        if out & {Consumable.PAPER_A4, Consumable.RECEIPT_PAPER}:
            return Fault(FaultCode.PAPER_OUT)
        if Consumable.TONER in out:
            return Fault(FaultCode.TONER_OUT)
        return Fault(FaultCode.HARDWARE, f"state {self.state.value}")

    def same_as(self, other: DeviceStatus | None) -> bool:
        """Equal in everything but the time it was read: the test for publishing a change."""
        return other is not None and self == other

    def evolve(self, **changes: Any) -> DeviceStatus:
        values = {"device": self.device, "state": self.state, "supplies": self.supplies,
                  "faults": self.faults, "capabilities": self.capabilities}
        values.update(changes)
        return DeviceStatus(**values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "state": self.state.value,
            "supplies": {s.consumable.value: s.as_dict() for s in self.supplies},
            "faults": [f.as_dict() for f in self.faults],
            "capabilities": dict(self.capabilities),
            "updated_at": self.updated_at,
        }


def _alarms(faults: tuple[Fault, ...]) -> tuple[Fault, ...]:
    return tuple(f for f in faults if f.severity == Severity.ALARM)


def _supplies_out(supplies: tuple[Supply, ...]) -> tuple[Supply, ...]:
    return tuple(s for s in supplies if s.level == SupplyLevel.OUT and s.consumable != Consumable.REJECT_BOX)


def _takes_jobs(status: DeviceStatus) -> bool:
    return (status.state in (DeviceState.READY, DeviceState.BUSY)
            and not status.alarms and not status.supplies_out)


def absent(device: str, detail: str = "") -> DeviceStatus:
    """The snapshot of a device that is configured but cannot be reached."""
    return DeviceStatus(device, DeviceState.NO_DEVICE, faults=(Fault(FaultCode.DISCONNECTED, detail),))


class DeviceError(Exception):
    """A device operation failed; `fault` says why in the model's own words."""

    def __init__(self, fault: Fault | FaultCode, detail: str = "") -> None:
        if isinstance(fault, FaultCode):
            fault = Fault(fault, detail)
        self.fault = fault
        super().__init__(f"{fault.code.value}: {fault.detail or fault.info.message_en}")

    @property
    def code(self) -> FaultCode:
        return self.fault.code


class DeviceTimeout(DeviceError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(FaultCode.TIMEOUT, detail)


class DeviceDisconnected(DeviceError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(FaultCode.DISCONNECTED, detail)
