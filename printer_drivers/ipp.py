"""An IPP client over HTTP (requests), and what an IPP printer's state means in the status model.

Every request has a timeout. Transport failures become the status model's exceptions
(`DeviceDisconnected` when nothing answers, `DeviceTimeout` when it answers too slowly,
`DeviceError(PROTOCOL_ERROR)` for a reply that is not IPP), so the driver above never sees
`requests` exceptions.
"""

from __future__ import annotations

import getpass
import itertools
import threading
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests

from devices import ipp
from devices.ipp import Attr, IppMessage
from devices.status import (Consumable, DeviceDisconnected, DeviceError, DeviceState, DeviceStatus,
                            DeviceTimeout, Fault, FaultCode, Supply, SupplyLevel)
from devices.unreadable import UnreadableAnswers

DEFAULT_PORT = 631


def http_url(printer_uri: str) -> str:
    """ipp://host[:port]/path -> http://host:port/path (IPP's own scheme rides on HTTP)."""
    parts = urlsplit(printer_uri)
    scheme = {"ipp": "http", "ipps": "https"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise ValueError(f"{printer_uri}: not an ipp:// or ipps:// printer URI")
    netloc = parts.netloc if parts.port else f"{parts.netloc}:{DEFAULT_PORT}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def _requesting_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "adm-kiosk"


class IppClient:
    def __init__(self, printer_uri: str, timeout: float = 10.0, user: str | None = None,
                 verify: bool | str = True) -> None:
        self.printer_uri = printer_uri
        self.endpoint = http_url(printer_uri)
        self.timeout = timeout
        self.user = user or _requesting_user()
        self._verify = verify
        self._session = requests.Session()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._session.close()

    # --- operations ---------------------------------------------------------------------------
    def printer_attributes(self, names: Iterable[str]) -> dict[str, list[Any]]:
        reply = self.call(ipp.GET_PRINTER_ATTRIBUTES, {
            "requesting-user-name": Attr.of(ipp.NAME, self.user),
            "requested-attributes": Attr.of(ipp.KEYWORD, *names)}, check=True)
        return reply.group(ipp.PRINTER_GROUP)

    def print_job(self, document: bytes, job_name: str, document_format: str = "application/pdf",
                  timeout: float | None = None) -> IppMessage:
        """Submit `document`; the reply (checked by the caller) holds job-id and job-state."""
        return self.call(ipp.PRINT_JOB, {
            "requesting-user-name": Attr.of(ipp.NAME, self.user),
            "job-name": Attr.of(ipp.NAME, job_name),
            "document-format": Attr.of(ipp.MIME_TYPE, document_format)},
            data=document, timeout=timeout)

    def job_attributes(self, job_id: int, names: Iterable[str]) -> dict[str, list[Any]]:
        reply = self.call(ipp.GET_JOB_ATTRIBUTES, {
            "job-id": Attr.of(ipp.INTEGER, job_id),
            "requesting-user-name": Attr.of(ipp.NAME, self.user),
            "requested-attributes": Attr.of(ipp.KEYWORD, *names)}, check=True)
        return reply.group(ipp.JOB_GROUP)

    def jobs(self, which: str, names: Iterable[str]) -> list[dict[str, list[Any]]]:
        """Get-Jobs of every user (`which`: not-completed or completed): one dict per job."""
        reply = self.call(ipp.GET_JOBS, {
            "requesting-user-name": Attr.of(ipp.NAME, self.user),
            "which-jobs": Attr.of(ipp.KEYWORD, which),
            "requested-attributes": Attr.of(ipp.KEYWORD, *names)}, check=True)
        return [attrs for tag, attrs in reply.groups if tag == ipp.JOB_GROUP]

    def cancel_job(self, job_id: int, purge: bool = False) -> IppMessage:
        """Cancel-Job; with `purge` CUPS also drops the ended job and its files (CUPS 1.6+)."""
        attrs = {"job-id": Attr.of(ipp.INTEGER, job_id),
                 "requesting-user-name": Attr.of(ipp.NAME, self.user)}
        if purge:
            attrs["purge-job"] = Attr.of(ipp.BOOLEAN, True)
        return self.call(ipp.CANCEL_JOB, attrs)

    # --- the wire -----------------------------------------------------------------------------
    def call(self, operation: int, operation_attrs: dict[str, Attr] | None = None,
             data: bytes = b"", check: bool = False, timeout: float | None = None) -> IppMessage:
        with self._lock:
            request_id = next(self._ids)
        message = ipp.request(operation, request_id, self.printer_uri, operation_attrs, data=data)
        timeout = timeout or self.timeout
        try:
            response = self._session.post(
                self.endpoint, data=ipp.encode(message), timeout=timeout,
                headers={"Content-Type": "application/ipp"}, verify=self._verify)
        except requests.Timeout as exc:
            raise DeviceTimeout(f"{self.printer_uri}: no IPP reply within {timeout:.1f}s") from exc
        except requests.ConnectionError as exc:
            raise DeviceDisconnected(f"{self.printer_uri}: cannot connect ({_short(exc)})") from exc
        except requests.RequestException as exc:
            raise DeviceError(FaultCode.PROTOCOL_ERROR, f"{self.printer_uri}: {_short(exc)}") from exc
        if response.status_code != 200:
            raise DeviceError(FaultCode.PROTOCOL_ERROR,
                              f"{self.printer_uri}: HTTP {response.status_code} to an IPP request")
        try:
            reply = ipp.decode(response.content)
        except ipp.IppError as exc:
            raise DeviceError(FaultCode.PROTOCOL_ERROR, f"{self.printer_uri}: bad IPP reply: {exc}") from exc
        if check and not reply.ok:
            raise IppStatusError(reply)
        return reply


class IppStatusError(DeviceError):
    """The printer answered an operation with an error status."""

    def __init__(self, reply: IppMessage) -> None:
        self.status = reply.code
        message = reply.value(ipp.OPERATION_GROUP, "status-message", "")
        code = FaultCode.DISCONNECTED if reply.code == ipp.NOT_FOUND else FaultCode.COMMAND_REJECTED
        super().__init__(code, f"{reply.status_name}{': ' + message if message else ''}")


def _short(exc: BaseException) -> str:
    """The innermost cause ("[Errno 111] Connection refused"), not urllib3's wrapping."""
    while (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


# --- printer-state and printer-state-reasons -> the status model ---------------------------------

# printer-state-reasons keywords (RFC 8011, PWG 5100.9, CUPS) -> fault, with the suffix
# (-error / -warning / -report) stripped: CUPS's own backends use "-report" for real faults
# such as offline-report, so every suffix counts.
REASON_FAULTS: Mapping[str, FaultCode] = {
    "media-empty": FaultCode.PAPER_OUT, "media-needed": FaultCode.PAPER_OUT,
    "input-tray-missing": FaultCode.PAPER_OUT,
    "media-low": FaultCode.PAPER_LOW,
    "media-jam": FaultCode.MEDIA_JAM, "jam": FaultCode.MEDIA_JAM,
    "door-open": FaultCode.COVER_OPEN, "cover-open": FaultCode.COVER_OPEN,
    "interlock-open": FaultCode.COVER_OPEN,
    "toner-empty": FaultCode.TONER_OUT, "marker-supply-empty": FaultCode.TONER_OUT,
    "toner-low": FaultCode.TONER_LOW, "marker-supply-low": FaultCode.TONER_LOW,
    "offline": FaultCode.OFFLINE, "paused": FaultCode.OFFLINE, "shutdown": FaultCode.OFFLINE,
    "timed-out": FaultCode.OFFLINE, "connecting-to-device": FaultCode.OFFLINE,
    "cups-missing-filter": FaultCode.HARDWARE, "other": FaultCode.HARDWARE,
    "fuser-over-temp": FaultCode.HARDWARE, "fuser-under-temp": FaultCode.HARDWARE,
}
_PERSON_MUST_ACT = {FaultCode.PAPER_OUT, FaultCode.MEDIA_JAM, FaultCode.COVER_OPEN,
                    FaultCode.TONER_OUT}
_SUPPLY_OF = {FaultCode.PAPER_OUT: (Consumable.PAPER_A4, SupplyLevel.OUT),
              FaultCode.PAPER_LOW: (Consumable.PAPER_A4, SupplyLevel.LOW),
              FaultCode.TONER_OUT: (Consumable.TONER, SupplyLevel.OUT),
              FaultCode.TONER_LOW: (Consumable.TONER, SupplyLevel.LOW)}
# Reasons that only say what the printer is doing, never a fault.
_INFORMATIONAL = {"none", "moving-to-paused", "cups-waiting-for-job-completed",
                  "cups-remote-pending", "cups-remote-pending-held", "printer-restarted",
                  "printer-ready-to-print"}


def strip_suffix(reason: str) -> str:
    for suffix in ("-error", "-warning", "-report"):
        if reason.endswith(suffix):
            return reason[: -len(suffix)]
    return reason


def faults_from_reasons(reasons: list[str]) -> list[Fault]:
    """The model's faults for a printer-state-reasons list. A reason we do not know (vendor
    keywords such as ``com.hp-…``, newer PWG ones) is no fault, whatever its suffix: it is
    listed by `unknown_reasons`, and a printer it really stops says so in printer-state
    (stopped), which `status_from_attributes` reports as offline."""
    faults: dict[FaultCode, Fault] = {}
    for reason in reasons:
        code = REASON_FAULTS.get(strip_suffix(reason)) if reason and reason not in _INFORMATIONAL else None
        if code is not None and code not in faults:
            faults[code] = Fault(code, reason)
    return list(faults.values())


def unknown_reasons(reasons: list[str]) -> list[str]:
    return [r for r in reasons if r and r not in _INFORMATIONAL and strip_suffix(r) not in REASON_FAULTS]


def status_from_attributes(attrs: Mapping[str, list[Any]], device: str = "a4_printer",
                           uri: str = "", unreadable: UnreadableAnswers | None = None) -> DeviceStatus:
    """Get-Printer-Attributes -> the status model. What we cannot read (a printer-state
    outside idle/processing/stopped, reasons we do not know) is noted once per device in
    `unreadable` and listed in the capabilities, and takes the printer out of service only
    when printer-state says stopped."""
    printer_state = first(attrs, "printer-state", ipp.PRINTER_IDLE)
    if printer_state not in (ipp.PRINTER_IDLE, ipp.PRINTER_PROCESSING, ipp.PRINTER_STOPPED):
        if unreadable is not None:
            unreadable.note("printer-state", printer_state, "read as idle")
        printer_state = ipp.PRINTER_IDLE
    elif unreadable is not None:
        unreadable.readable("printer-state")
    reasons = [str(r) for r in attrs.get("printer-state-reasons", []) if r and r != "none"]
    faults = faults_from_reasons(reasons)
    odd = unknown_reasons(reasons)
    if unreadable is not None:
        for reason in odd:
            unreadable.note(f"printer-state-reasons {reason}", reason, "no fault of its own")
    if printer_state == ipp.PRINTER_STOPPED and not faults:
        message = first(attrs, "printer-state-message", "") or "printer-state stopped"
        faults.append(Fault(FaultCode.OFFLINE, str(message)))
    if first(attrs, "printer-is-accepting-jobs", True) is False:
        faults.append(Fault(FaultCode.OFFLINE, "printer is not accepting jobs"))
    codes = {f.code for f in faults}
    if FaultCode.OFFLINE in codes:
        state = DeviceState.OFFLINE
    elif FaultCode.HARDWARE in codes:
        state = DeviceState.HARDWARE_ERROR
    elif codes & _PERSON_MUST_ACT:
        state = DeviceState.USER_ERROR
    elif printer_state == ipp.PRINTER_PROCESSING:
        state = DeviceState.BUSY
    else:
        state = DeviceState.READY
    formats = [str(f) for f in attrs.get("document-format-supported", [])]
    capabilities = {
        "model": first(attrs, "printer-make-and-model", ""),
        "queue": first(attrs, "printer-name", ""),
        "uri": uri,
        "pdf": "application/pdf" in formats,
        "duplex": any(str(s).startswith("two-sided") for s in attrs.get("sides-supported", [])),
        "color": bool(first(attrs, "color-supported", False)),
        "reasons": reasons,
        "unknown_reasons": odd,
        "message": str(first(attrs, "printer-state-message", "") or ""),
    }
    return DeviceStatus(device, state, _supplies(codes, attrs), faults, capabilities)


def _supplies(codes: set[FaultCode], attrs: Mapping[str, list[Any]]) -> tuple[Supply, ...]:
    levels = {Consumable.PAPER_A4: SupplyLevel.FULL, Consumable.TONER: SupplyLevel.UNKNOWN}
    counts: dict[Consumable, int | None] = {}
    toner = _toner_percent(attrs)
    if toner is not None:
        percent, low = toner
        counts[Consumable.TONER] = percent
        levels[Consumable.TONER] = (SupplyLevel.OUT if percent == 0 else
                                    SupplyLevel.LOW if percent <= low else SupplyLevel.FULL)
    for code in (FaultCode.PAPER_LOW, FaultCode.TONER_LOW, FaultCode.PAPER_OUT, FaultCode.TONER_OUT):
        if code in codes:          # the printer's own words win over the marker level
            consumable, level = _SUPPLY_OF[code]
            levels[consumable] = level
    return tuple(Supply(c, level, counts.get(c)) for c, level in levels.items())


def _toner_percent(attrs: Mapping[str, list[Any]]) -> tuple[int, int] | None:
    """The lowest known toner level in percent and its low mark, from CUPS's marker-* attributes."""
    levels = attrs.get("marker-levels") or []
    types = attrs.get("marker-types") or ["toner"] * len(levels)
    lows = attrs.get("marker-low-levels") or [10] * len(levels)
    known = [(int(level), int(low)) for level, kind, low in zip(levels, types, lows)
             if isinstance(level, int) and level >= 0 and str(kind) in ("toner", "ink", "ink-cartridge")]
    return min(known) if known else None


def first(attrs: Mapping[str, list[Any]], name: str, default: Any) -> Any:
    values = attrs.get(name)
    return values[0] if values else default
