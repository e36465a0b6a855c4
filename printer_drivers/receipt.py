"""The ESC/POS thermal receipt printer, through python-escpos's own printer classes.

    printer = ReceiptPrinter("usb://04b8:0e28")            # or serial://, socket://, sim:
    printer.status()                                       # DLE EOT 1..4 -> DeviceStatus
    printer.print_receipt(Receipt(...))                    # header, lines, QR, cut
    printer.print_test_page()                              # adm-kiosk test-print receipt

URL forms and options (query parameters); the links are in printer_drivers/escpos_links.py:
    usb://VID:PID[?serial=SN&interface=N]    escpos.printer.Usb (pass `backend=` for tests)
    serial:///dev/ttyUSB0?baudrate=38400     escpos.printer.Serial (dsrdtr=0 to turn off DSR/DTR)
    socket://10.0.0.5:9100                   escpos.printer.Network
    sim:receipt_printer[?faults=paper_near_end&speed=realistic]   the ESC/POS simulator on a pty
  (every URL is opened by devices.links.open_link; profile, timeout and status_timeout are also
  options of [devices.receipt_printer])
  all: profile=TM-T20II (python-escpos printer profile), timeout=5 (seconds for a write),
       status_timeout=1 (seconds for each status reply)

The receipt is composed into bytes first (python-escpos `Dummy` with the same profile), so
nothing reaches the paper unless the whole layout could be made; then it is sent in chunks,
each write bounded by the timeout (python-escpos's own default is none, which hangs on a
printer whose cover is open). The QR code is made with the qrcode library and sent as a
raster image (GS v 0): every ESC/POS printer prints raster images, while native QR
(GS ( k) is missing on many cheap kiosk mechanisms.

Status comes from the four real-time queries, read with a timeout and checked for the fixed
bits every ESC/POS status byte carries: no answer is a TIMEOUT fault and a garbled reply (not
one byte) is PROTOCOL_ERROR, both link faults. One byte without the fixed bits (clones answer
some queries that way) is read as `unknown` for what that query reports, logged once with
the byte: the printer stays usable, and a print still stops on the faults the other queries
(and the status after the print) do report. A query that timed out may still be answered:
the next query first waits out `devices.transport.ReplyResync`'s quiet time and drops the late
byte, so no byte is read as the answer to the query after its own. The printer is checked before a print (a receipt is
never sent to a printer that cannot print it) and after (paper out or cover opened during
the print is reported as the print's failure).
"""

from __future__ import annotations

import logging
import re
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import serial
import usb.core
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy

from devices.links import open_link
from devices.status import (Consumable, DeviceDisconnected, DeviceError, DeviceState, DeviceStatus,
                            DeviceTimeout, Fault, FaultCode, Severity, Supply, SupplyLevel, absent)
from devices.transport import ReplyResync, SerialTransport, Transport, parse_device_url
from devices.unreadable import UnreadableAnswers
from devices.usb import UsbTransport, usb_failure

from . import registry
from .base import (STEP_CUTTING, STEP_SENDING, PreparedJob,
                   Printer, PrintJob, PrintResult, ProgressCallback)
from .pdf import open_pdf
from .escpos_links import EscposLink, NetworkLink, SerialLink, UsbLink

log = logging.getLogger(__name__)

ROLE = "receipt_printer"
DEFAULT_PROFILE = "TM-T20II"       # 80 mm paper, 576 dots: the common kiosk mechanism size
CHUNK = 4096
DLE_EOT = b"\x10\x04"
STATUS_FIXED_MASK, STATUS_FIXED_BITS = 0x93, 0x12   # bits 0 and 7 clear, 1 and 4 set


# --- the receipt -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    kiosk_id: str
    place: str
    printed_at: datetime
    document_kind: str        # KK, KIA, ...
    nik_masked: str           # e.g. 320101******0003: never the whole NIK
    job_id: str
    verify_url: str           # the QR payload: verification and help
    language: str = "id"

    def check(self) -> None:
        """Refuse a receipt that would put personal data or nonsense on paper."""
        if len(re.sub(r"\D", "", self.nik_masked)) > 10 or re.search(r"\d{7}", self.nik_masked):
            raise ValueError("receipt refused: nik_masked must be masked (at most the first 6 "
                             "and last 4 digits), e.g. 320101******0003")
        if not self.verify_url or len(self.verify_url) > 300:
            raise ValueError("receipt refused: verify_url must be 1 to 300 characters")
        if self.language not in _LABELS:
            raise ValueError(f"receipt refused: language must be one of {', '.join(_LABELS)}")


_LABELS = {
    "id": {"subtitle": "Bukti Cetak Dokumen", "kiosk": "Kios", "place": "Lokasi", "time": "Waktu",
           "document": "Dokumen", "nik": "NIK", "job": "No. cetak",
           "scan": "Pindai untuk verifikasi dan bantuan", "thanks": "Simpan bukti ini. Terima kasih.",
           "test": "HALAMAN UJI PRINTER STRUK", "test_ok": "Jika halaman ini terbaca, printer siap."},
    "en": {"subtitle": "Document Print Receipt", "kiosk": "Kiosk", "place": "Place", "time": "Time",
           "document": "Document", "nik": "NIK", "job": "Print no.",
           "scan": "Scan to verify and get help", "thanks": "Keep this receipt. Thank you.",
           "test": "RECEIPT PRINTER TEST PAGE", "test_ok": "If you can read this, the printer is ready."},
}


def _field(label: str, value: str) -> str:
    return f"{label:<10}: {value}"


def compose_receipt(receipt: Receipt, profile: str = DEFAULT_PROFILE) -> bytes:
    """The receipt's complete ESC/POS byte stream."""
    receipt.check()
    words = _LABELS[receipt.language]
    entry = registry.kind(receipt.document_kind)
    document = (f"{entry.short} ({entry.name(receipt.language)})" if entry.short else entry.name(receipt.language)) \
        if entry else receipt.document_kind
    page = _start(profile, "ANJUNGAN DUKCAPIL MANDIRI", words["subtitle"])
    page.set_with_default(align="left")
    for label, value in (("kiosk", receipt.kiosk_id), ("place", receipt.place),
                         ("time", _when(receipt.printed_at)),
                         ("document", document),
                         ("nik", receipt.nik_masked), ("job", receipt.job_id)):
        if value:
            page.textln(_field(words[label], value))
    _finish(page, receipt.verify_url, words["scan"], words["thanks"])
    return page.output


def compose_test_page(url: str, profile: str = DEFAULT_PROFILE, now: datetime | None = None) -> bytes:
    """A page that exercises text, sizes, an image QR and the cutter; no personal data."""
    page = _start(profile, _LABELS["id"]["test"], _LABELS["en"]["test"])
    page.set_with_default(align="left")
    page.textln(_field("Waktu/Time", _when(now or datetime.now().astimezone())))
    page.textln(_field("Profil", profile))
    page.textln(_field("Sambungan", url.split("?")[0]))
    page.textln("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789")
    page.set(bold=True)
    page.textln("Tebal / Bold")
    page.set_with_default(align="left")
    _finish(page, "ADM-TEST-PAGE", _LABELS["id"]["test_ok"], _LABELS["en"]["test_ok"])
    return page.output


def _start(profile: str, title: str, subtitle: str) -> Dummy:
    page = Dummy(profile=profile)
    page.hw("INIT")
    # Double height only: at double width an 80 mm roll holds 24 characters, too few for a title.
    page.set(align="center", bold=True, double_height=True)
    page.textln(title)
    page.set_with_default(align="center", bold=True)
    page.textln(subtitle)
    page.set_with_default(align="left")
    page.textln("-" * 42)
    return page


def _finish(page: Dummy, qr_payload: str, caption: str, footer: str) -> None:
    page.textln("-" * 42)
    page.set_with_default(align="center")
    page.qr(qr_payload, size=6, native=False, center=True)
    page.textln(caption)
    page.textln(footer)
    page.cut()


def _when(moment: datetime) -> str:
    zone = moment.tzname() or ""
    return f"{moment:%d-%m-%Y %H:%M} {zone}".strip()


# --- status ----------------------------------------------------------------------------------

def status_byte(n: int, reply: bytes, unreadable: UnreadableAnswers) -> int | None:
    """The status byte a printer answered to DLE EOT `n` (`reply` is what arrived, not empty):
    None when the byte lacks the fixed bits (noted once in `unreadable`); DeviceError
    PROTOCOL_ERROR when the reply is not one byte."""
    if len(reply) != 1:
        raise DeviceError(FaultCode.PROTOCOL_ERROR,
                          f"DLE EOT {n} answered {reply[:8].hex(' ')}, not a status byte")
    if reply[0] & STATUS_FIXED_MASK != STATUS_FIXED_BITS:
        unreadable.note(f"DLE EOT {n}", reply.hex(), "what it reports is unknown")
        return None
    unreadable.readable(f"DLE EOT {n}")
    return reply[0]


def decode_status(printer: int | None, offline_cause: int | None, error_cause: int | None, paper: int | None,
                  capabilities: dict[str, Any] | None = None) -> DeviceStatus:
    """The four DLE EOT status bytes (n = 1, 2, 3, 4) as the status model; None for a byte
    that could not be read: what it would have said is unknown (no fault from it)."""
    unknown = [f"DLE EOT {n}" for n, byte in enumerate((printer, offline_cause, error_cause, paper), 1)
               if byte is None]
    paper_known = paper is not None
    printer, offline_cause, error_cause, paper = (byte or 0 for byte in (printer, offline_cause, error_cause, paper))
    faults: list[Fault] = []
    if offline_cause & 0x04:
        faults.append(Fault(FaultCode.COVER_OPEN))
    paper_out = bool(paper & 0x60 or offline_cause & 0x20)
    if paper_out:
        faults.append(Fault(FaultCode.PAPER_OUT))
    elif paper & 0x0C:
        faults.append(Fault(FaultCode.PAPER_LOW, "paper roll near end"))
    if error_cause & 0x08:
        faults.append(Fault(FaultCode.MEDIA_JAM, "autocutter error"))
    if error_cause & 0x20:
        faults.append(Fault(FaultCode.HARDWARE, "unrecoverable printer error"))
    if error_cause & 0x40:
        faults.append(Fault(FaultCode.OFFLINE, "recoverable error (e.g. print head too hot)"))
    offline = bool(printer & 0x08)
    alarms = [f for f in faults if f.severity == Severity.ALARM]
    if offline and not alarms:
        faults.append(Fault(FaultCode.OFFLINE, "printer reports offline"))
    level = SupplyLevel.OUT if paper_out else SupplyLevel.LOW if paper & 0x0C else \
        SupplyLevel.FULL if paper_known else SupplyLevel.UNKNOWN
    codes = {f.code for f in faults}
    if FaultCode.HARDWARE in codes:
        state = DeviceState.HARDWARE_ERROR
    elif codes & {FaultCode.COVER_OPEN, FaultCode.PAPER_OUT, FaultCode.MEDIA_JAM}:
        state = DeviceState.USER_ERROR
    elif offline or FaultCode.OFFLINE in codes:
        state = DeviceState.OFFLINE
    else:
        state = DeviceState.READY
    capabilities = {**(capabilities or {}), **({"status_unknown": unknown} if unknown else {})}
    return DeviceStatus(ROLE, state, supplies=(Supply(Consumable.RECEIPT_PAPER, level),),
                        faults=tuple(faults), capabilities=capabilities)


# --- the driver --------------------------------------------------------------------------------

class ReceiptPrinter(Printer):
    role = ROLE

    def __init__(self, url: str, *, profile: str | None = None, timeout: float | None = None,
                 status_timeout: float | None = None, backend: Any = None) -> None:
        super().__init__(url)
        self._parsed = parse_device_url(url)
        params = self._parsed.params
        self.profile = profile or params.get("profile", DEFAULT_PROFILE)
        try:
            self.write_timeout = float(timeout if timeout is not None else params.get("timeout", 5.0))
            self.status_timeout = float(status_timeout if status_timeout is not None
                                        else params.get("status_timeout", 1.0))
        except ValueError:
            raise ValueError(f"{url}: timeout and status_timeout are seconds, e.g. timeout=5") from None
        self._unreadable = UnreadableAnswers(log, ROLE)
        self._resync = ReplyResync()        # status replies kept in step after a timed-out query
        # Where the printer is; python-escpos's own printer class for that transport talks to it.
        self._wire_link: Transport = open_link(url, expect=Transport, backend=backend)
        self.simulator = self._wire_link.simulator
        self._link: EscposLink | None = None

    # --- connection --------------------------------------------------------------------
    def _connect(self) -> EscposLink:
        if self._link is not None:
            return self._link
        wire, params = self._wire_link, self._parsed.params
        if isinstance(wire, UsbTransport):
            link: Any = UsbLink(wire.address, wire.backend, self.write_timeout, self.profile)
        elif isinstance(wire, SerialTransport) and wire.is_socket:
            host, _, port = wire.device_path().removeprefix("socket://").partition(":")
            link = NetworkLink(host=host, port=int(port or 9100), timeout=self.write_timeout,
                               profile=self.profile)
        else:
            # A serial port, or the simulator's pty (served afresh after a hang-up, like a
            # replugged adapter; the simulator and its state stay).
            link = SerialLink(wire.device_path(), int(params.get("baudrate", 38400)),
                              params.get("dsrdtr", "1") not in ("0", "false", "no"),
                              self.write_timeout, self.profile)
        with self._wire("open"):
            link.open()
        self._link = link
        return link

    def close(self) -> None:
        """Release the link (and the built-in simulator's pty, which the next call makes
        afresh; the simulator and its state stay)."""
        link, self._link = self._link, None
        if link is not None:
            try:
                link.close()
            except (usb.core.USBError, serial.SerialException, OSError):
                pass
        self._wire_link.close()

    @contextmanager
    def _wire(self, what: str) -> Iterator[None]:
        """Every failure of python-escpos, pyusb, pyserial or a socket as the status model's."""
        try:
            yield
        except DeviceDisconnected:
            self.close()
            raise
        except DeviceError:
            raise
        except usb.core.USBError as exc:
            failure = usb_failure(exc, f"{self.url}: {what}")
            if not isinstance(failure, DeviceTimeout):
                self.close()
            raise failure from exc
        except (serial.SerialTimeoutException, socket.timeout, TimeoutError) as exc:
            raise DeviceTimeout(f"{self.url}: {what} timed out") from exc
        except (DeviceNotFoundError, usb.core.NoBackendError, serial.SerialException, OSError) as exc:
            self.close()
            raise DeviceDisconnected(f"{self.url}: {what}: {str(exc).splitlines()[0]}") from exc

    # --- status ------------------------------------------------------------------------
    def _query(self, link: Any, n: int) -> int | None:
        with self._wire(f"status query {n}"):
            stale = self._resync.before_request(link.discard_input)
            link._raw(DLE_EOT + bytes((n,)))
            reply = link.read_reply(self.status_timeout)
        if stale:
            log.debug("dropped %d stale bytes before DLE EOT %d", len(stale), n)
        if not reply:
            # Its byte may come yet: the next query waits it out, else it would read this one's.
            self._resync.missed()
            raise DeviceTimeout(f"no answer to status query DLE EOT {n} within {self.status_timeout:g}s")
        return status_byte(n, reply, self._unreadable)

    def _read_status(self) -> DeviceStatus:
        link = self._connect()
        replies = [self._query(link, n) for n in (1, 2, 3, 4)]
        capabilities = {"profile": self.profile, "connection": self._parsed.scheme,
                        "qr": "raster image", "cutter": True}
        with self._wire("identify"):
            capabilities.update({k: v for k, v in link.identity().items() if v})
        return decode_status(*replies, capabilities=capabilities)

    def status(self) -> DeviceStatus:
        try:
            return self._read_status()
        except DeviceDisconnected as exc:
            return absent(ROLE, str(exc))
        except DeviceError as exc:
            state = DeviceState.UNKNOWN
            return DeviceStatus(ROLE, state, supplies=(Supply(Consumable.RECEIPT_PAPER, SupplyLevel.UNKNOWN),),
                                faults=(exc.fault,))

    # --- printing ----------------------------------------------------------------------
    def print_receipt(self, receipt: Receipt, progress: ProgressCallback | None = None) -> PrintResult:
        return self._print(receipt.job_id, compose_receipt(receipt, self.profile), progress)

    def print_test_page(self) -> PrintResult:
        return self.print_test()

    def print_test(self, kiosk_id: str = "", progress: ProgressCallback | None = None) -> PrintResult:
        """The test page (TestPrinting); it shows the connection, not the kiosk id."""
        return self._print(f"test-{int(time.time())}", compose_test_page(self.url, self.profile), progress)

    def prepare(self, job: PrintJob) -> PreparedJob:
        """A PDF (a receipt-sized slip from the dinas, say) as ESC/POS: each page rasterised to
        the paper's width as an image, then a cut. DocumentUnprintable for a bad PDF."""
        return PreparedJob(job, compose_pdf(job.pdf, self.profile))

    def print_prepared(self, prepared: PreparedJob, progress: ProgressCallback | None = None) -> PrintResult:
        return self._print(prepared.job_id, prepared.payload, progress)

    def _print(self, job_id: str, data: bytes, progress: ProgressCallback | None) -> PrintResult:
        before = self._read_status_or_raise()
        _raise_unless_usable(before)
        link = self._connect()
        if progress:
            progress(STEP_SENDING)
        with self._wire("print"):
            for start in range(0, len(data), CHUNK):
                link._raw(data[start:start + CHUNK])
        if progress:
            progress(STEP_CUTTING)
        after = self._read_status_or_raise()
        _raise_unless_usable(after, "printing stopped: ")
        return PrintResult(job_id, detail={"bytes": len(data), "state": after.state.value})

    def _read_status_or_raise(self) -> DeviceStatus:
        try:
            return self._read_status()
        except DeviceDisconnected:
            raise
        except DeviceError:
            self.close()   # a confused link is reopened on the next try
            raise


def _raise_unless_usable(status: DeviceStatus, prefix: str = "") -> None:
    fault = status.unusable_reason()
    if fault is not None:
        raise DeviceError(Fault(fault.code, prefix + (fault.detail or fault.info.message_en)))


def compose_pdf(pdf: bytes, profile: str = DEFAULT_PROFILE, max_pages: int = 4) -> bytes:
    """PDF pages as raster images at the paper's width, then a cut."""
    page_stream = Dummy(profile=profile)
    width = int(page_stream.profile.profile_data["media"]["width"]["pixels"])
    with open_pdf(pdf, max_pages=max_pages, what="a receipt PDF") as document:
        page_stream.hw("INIT")
        for page in document:
            bitmap = page.render(scale=width / page.get_width()).to_pil()
            page_stream.image(bitmap.convert("L").convert("1"), impl="bitImageRaster")
            page.close()
    page_stream.cut()
    return page_stream.output
