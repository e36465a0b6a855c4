"""The A4 printer: a PDF to CUPS (or any IPP printer) over IPP, followed to its end.

    ipp://localhost:631/printers/KK-A4     a CUPS queue, or an IPP Everywhere printer
    ipps://host/printers/KK-A4             the same over TLS
    KK-A4                                  a queue on the local CUPS ($CUPS_SERVER or localhost:631)
    sim:a4_printer?out=DIR                 the built-in simulated printer (devices.sim.a4)

A print checks the printer first, submits the PDF (job-name is the kind and the kiosk's job
id, never a name or a NIK), polls job-state until completed, aborted or canceled within a
deadline, and then purges the ended job so no copy of the document stays in the spool.
Options (keyword arguments or URL query): timeout (one request, s), job_timeout (the whole
job, s), poll_interval (s), user (requesting-user-name).
"""

from __future__ import annotations

import io
import logging
import os
import time
import uuid
from datetime import datetime
from typing import Any, Mapping

from PIL import Image, ImageDraw, ImageFont

from devices import ipp
from devices.status import (DeviceDisconnected, DeviceError, DeviceState, DeviceStatus,
                            DeviceTimeout, FaultCode, absent)
from devices.ipp import IppEndpoint
from devices.links import open_link
from devices.transport import parse_device_url
from devices.unreadable import UnreadableAnswers

from .base import (STEP_PRINTING, STEP_SENDING, UNREADABLE, DocumentUnprintable, InterruptedJob, JobMayStillPrint,
                   PreparedJob, Printer, PrintJob, PrintResult, ProgressCallback, tell_sent)
from .pdf import open_pdf
from .ipp import IppClient, IppStatusError, first, status_from_attributes

log = logging.getLogger(__name__)

ROLE = "a4_printer"
# In a journaled device reference: the job completed on the print server (before the purge).
COMPLETED = "completed"
PRINTER_ATTRIBUTES = ("printer-state", "printer-state-reasons", "printer-state-message",
                      "printer-is-accepting-jobs", "printer-make-and-model", "printer-name",
                      "document-format-supported", "sides-supported", "color-supported",
                      "marker-levels", "marker-low-levels", "marker-types", "marker-names")
JOB_ATTRIBUTES = ("job-state", "job-state-reasons", "job-state-message",
                  "job-impressions-completed", "job-name")

class DocumentRejected(DocumentUnprintable, DeviceError):
    """The document itself cannot be printed (not a PDF, corrupt, refused by the printer).
    Found by `prepare`, it is a DocumentUnprintable; refused by the printer after sending, it
    is also a DeviceError (command_rejected) like any other failure of the device."""

    def __init__(self, detail: str, reason: str = UNREADABLE) -> None:
        DeviceError.__init__(self, FaultCode.COMMAND_REJECTED, detail)
        self.reason, self.detail = reason, detail


def pdf_page_count(document: bytes) -> int:
    """Pages in `document`; DocumentRejected when it is not a readable PDF."""
    with open_pdf(document, error=lambda reason, detail: DocumentRejected(detail, reason)) as pdf:
        return len(pdf)


def ipp_job_name(job: PrintJob) -> str:
    """The job-name the server shows: the kind and the kiosk's job id, never a name or NIK.
    Recovery finds a job by it when the crash came before its IPP id was journaled."""
    return f"{job.kind}-{job.job_id}"


def resolve_printer_uri(url: str) -> str:
    """The printer-uri for an ipp(s):// URL or a bare CUPS queue name."""
    return open_link(url, expect=IppEndpoint).printer_uri()


class A4Printer(Printer):
    role = ROLE

    def __init__(self, url: str, *, timeout: float | None = None, job_timeout: float | None = None,
                 poll_interval: float | None = None, user: str | None = None) -> None:
        super().__init__(url)
        parsed = parse_device_url(url)
        params = parsed.params
        try:
            self.timeout = float(timeout if timeout is not None else params.get("timeout", 10.0))
            self.job_timeout = float(job_timeout if job_timeout is not None
                                     else params.get("job_timeout", 180.0))
            self.poll_interval = float(poll_interval if poll_interval is not None
                                       else params.get("poll_interval", 0.5))
        except ValueError:
            raise ValueError(f"{url}: timeout, job_timeout and poll_interval are seconds") from None
        # The status check, the upload (up to 20 MB at 1 MB/s), the follow with its last poll,
        # and the purge: each request is bounded by `timeout`.
        self.deadline_s = self.job_timeout + 4 * self.timeout + 20.0
        self._user = user or params.get("user")
        self._unreadable = UnreadableAnswers(log, ROLE)
        self._endpoint: IppEndpoint = open_link(url, expect=IppEndpoint)   # a bad URL fails here
        self.printer_uri = self._endpoint.printer_uri()
        self._client: IppClient | None = None

    @property
    def simulator(self):
        """The simulated printer answering a sim: URL (None on a real one)."""
        return self._endpoint.simulator

    def _connect(self) -> IppClient:
        """The IPP client; after close() the next call opens it again (and powers the
        built-in simulator on again, on a new port)."""
        if self._client is None:
            self.printer_uri = self._endpoint.printer_uri()
            self._client = IppClient(self.printer_uri, timeout=self.timeout, user=self._user)
        return self._client

    # --- status ---------------------------------------------------------------------------------
    def status(self) -> DeviceStatus:
        try:
            return self._read_status()
        except DeviceDisconnected as exc:
            return absent(self.role, exc.fault.detail)
        except DeviceError as exc:
            return DeviceStatus(self.role, DeviceState.OFFLINE if exc.code == FaultCode.TIMEOUT
                                else DeviceState.UNKNOWN, faults=(exc.fault,),
                                capabilities={"uri": self.printer_uri})

    def _read_status(self) -> DeviceStatus:
        try:
            attrs = self._connect().printer_attributes(PRINTER_ATTRIBUTES)
        except IppStatusError as exc:
            if exc.code == FaultCode.DISCONNECTED:   # CUPS has no such queue
                raise DeviceDisconnected(f"{self.printer_uri}: {exc.fault.detail}") from None
            raise
        return status_from_attributes(attrs, self.role, self.printer_uri, self._unreadable)

    # --- printing -------------------------------------------------------------------------------
    def prepare(self, job: PrintJob) -> PreparedJob:
        """The PDF as it is, once it is known to open and have pages (the printer or CUPS
        renders it). DocumentRejected otherwise."""
        return PreparedJob(job, job.pdf, pdf_page_count(job.pdf))

    def print_prepared(self, prepared: PreparedJob, progress: ProgressCallback | None = None) -> PrintResult:
        report = progress or (lambda step: None)
        job, pages = prepared.job, prepared.pages
        before = self._read_status()
        reason = before.unusable_reason()
        if reason is not None:
            raise DeviceError(reason)
        job_name = ipp_job_name(job)
        report(STEP_SENDING)
        # The upload may take longer than one status request: allow at least 1 MB/s on top.
        try:
            reply = self._connect().print_job(job.pdf, job_name, timeout=self.timeout + len(job.pdf) / 1_000_000)
        except DeviceTimeout as exc:
            # The server may have queued it and only its answer was lost.
            raise JobMayStillPrint(FaultCode.TIMEOUT, f"{exc.fault.detail}; the job may be queued") from exc
        if not reply.ok:
            message = reply.value(ipp.OPERATION_GROUP, "status-message", "")
            detail = f"printer refused the job: {reply.status_name}{': ' + message if message else ''}"
            if reply.code in (ipp.DOCUMENT_FORMAT_NOT_SUPPORTED, 0x0411):
                raise DocumentRejected(detail)
            raise DeviceError(FaultCode.COMMAND_REJECTED, detail)
        ipp_job_id = reply.value(ipp.JOB_GROUP, "job-id")
        if not isinstance(ipp_job_id, int):
            raise DeviceError(FaultCode.PROTOCOL_ERROR, "Print-Job reply has no job-id")
        log.info("a4 job %s sent as IPP job %d (%d pages)", job_name, ipp_job_id, pages)
        try:
            if job.on_sent is not None:       # journaled before the wait; if it fails, the purge cancels
                job.on_sent({"ipp_job_id": ipp_job_id, "printer_uri": self.printer_uri})
            final = self._follow(ipp_job_id, report)
        except Exception as exc:
            if not self._purge(ipp_job_id):
                code = exc.code if isinstance(exc, DeviceError) else FaultCode.HARDWARE
                raise JobMayStillPrint(code, f"{exc}; IPP job {ipp_job_id} could not be cancelled") from exc
            raise
        # The page is out: journaled before the purge takes the job from the server's
        # history, so a crash between the two still settles it printed, never printed again.
        # If that mark could not be written (a state folder gone read-only), the completed job
        # is left in the server's history: recovery after the repair finds it completed,
        # settles it printed and purges it then (the spool's copy lives until that start).
        if tell_sent(job.on_sent, {"ipp_job_id": ipp_job_id, "printer_uri": self.printer_uri, COMPLETED: True}):
            self._purge(ipp_job_id)
        else:
            log.warning("a4: IPP job %d completed but could not be journaled; kept for recovery", ipp_job_id)
        return PrintResult(job.job_id, detail={"ipp_job_id": ipp_job_id, "pages": pages,
                                               "printer_uri": self.printer_uri,
                                               "impressions": first(final, "job-impressions-completed", None)})

    def _follow(self, ipp_job_id: int, report: ProgressCallback) -> Mapping[str, list[Any]]:
        """Poll until the job ends. A printer fault or the deadline ends the wait, and the
        caller's purge cancels the job: a KK that prints an hour later, with no citizen in
        front of the kiosk, must not happen."""
        deadline = time.monotonic() + self.job_timeout
        printing_reported = False
        while True:
            job = self._connect().job_attributes(ipp_job_id, JOB_ATTRIBUTES)
            state = first(job, "job-state", ipp.JOB_PENDING)
            if state == ipp.JOB_COMPLETED:
                if not printing_reported:
                    report(STEP_PRINTING)
                return job
            if state in (ipp.JOB_ABORTED, ipp.JOB_CANCELED):
                raise self._ended_badly(ipp_job_id, state, job)
            if state == ipp.JOB_PROCESSING and not printing_reported:
                report(STEP_PRINTING)
                printing_reported = True
            printer = self._read_status()
            stopper = _job_stopper(printer, state, job)
            if stopper is not None:
                raise stopper
            if time.monotonic() >= deadline:
                said = printer.capabilities.get("message")
                raise DeviceTimeout(f"IPP job {ipp_job_id} still {ipp.JOB_STATE_NAMES.get(state, state)} "
                                    f"after {self.job_timeout:.0f}s; canceled"
                                    f"{'; printer says: ' + said if said else ''}")
            time.sleep(self.poll_interval)

    def _ended_badly(self, ipp_job_id: int, state: int, job: Mapping[str, list[Any]]) -> DeviceError:
        reasons = [str(r) for r in job.get("job-state-reasons", [])]
        message = first(job, "job-state-message", "")
        detail = (f"IPP job {ipp_job_id} {ipp.JOB_STATE_NAMES[state]} "
                  f"({', '.join(reasons) or 'no reason'}){': ' + message if message else ''}")
        if any(r.startswith(("document-format-error", "document-unprintable", "unsupported-document-format",
                             "document-corrupt"))
               for r in reasons):
            return DocumentRejected(detail)
        try:
            printer_faults = self._read_status().alarms
        except DeviceError:
            printer_faults = ()
        if printer_faults:
            return DeviceError(printer_faults[0].code, f"{detail}; printer: {printer_faults[0].detail}")
        code = FaultCode.COMMAND_REJECTED if state == ipp.JOB_CANCELED else FaultCode.HARDWARE
        return DeviceError(code, detail)

    def _purge(self, ipp_job_id: int) -> bool:
        """Cancel-Job with purge-job: stops a job still running (after a fault, the deadline
        or a lost reply) and drops an ended one from the server's history and spool (CUPS
        keeps both by default: PreserveJobFiles/PreserveJobHistory). A printer that keeps no
        history (ippeveprinter, a bare IPP printer) answers not-possible for an ended job,
        which is fine. False when the job may still be there (no answer, or refused)."""
        try:
            reply = self._connect().cancel_job(ipp_job_id, purge=True)
        except DeviceError as exc:
            log.warning("a4: purge of IPP job %d failed: %s", ipp_job_id, exc)
            return False
        if not reply.ok:
            log.debug("a4: purge of IPP job %d: %s", ipp_job_id, reply.status_name)
        return reply.ok or reply.code in (ipp.NOT_POSSIBLE, ipp.NOT_FOUND)

    # --- after a crash ----------------------------------------------------------------------------
    def settle_interrupted(self, job: PrintJob, ref: Mapping[str, Any] | None) -> InterruptedJob:
        """What became of `job`, sent before the kiosk died (base.QueuedJobs). A job still
        pending, held, printing or stopped is cancelled and purged now: once the kiosk
        releases the document for another try, this copy must never come out. A completed
        job is purged too. The journaled IPP id is trusted only when the job-name matches
        (a print server that lost its history may have given the id to another job);
        otherwise, or with no id journaled, the job is looked for by its name."""
        name = ipp_job_name(job)
        ipp_job_id = (ref or {}).get("ipp_job_id")
        attrs = self._job_named(ipp_job_id, name) if isinstance(ipp_job_id, int) else None
        if attrs is None:
            ipp_job_id = self._find_job(name)
            attrs = self._job_named(ipp_job_id, name) if ipp_job_id is not None else None
        if attrs is None:
            if (ref or {}).get(COMPLETED) is True:       # it completed, then the driver purged it
                return InterruptedJob("completed", "completed", {"ipp_job_id": ipp_job_id, "purged": True})
            return InterruptedJob("not_found", detail={"job_name": name})
        state = first(attrs, "job-state", ipp.JOB_PENDING)
        detail = {"ipp_job_id": ipp_job_id, "printer_uri": self.printer_uri}
        if state < ipp.JOB_CANCELED:
            if self._connect().cancel_job(ipp_job_id, purge=True).ok:
                log.warning("a4: IPP job %d (%s) was still %s after a restart: cancelled", ipp_job_id, name,
                            ipp.JOB_STATE_NAMES.get(state, state))
                return InterruptedJob("canceled", ipp.JOB_STATE_NAMES.get(state, str(state)), detail)
            attrs = self._job_named(ipp_job_id, name) or {}       # it ended between the two requests
            state = first(attrs, "job-state", ipp.JOB_PENDING)
            if state < ipp.JOB_CANCELED:
                raise DeviceError(FaultCode.COMMAND_REJECTED, f"IPP job {ipp_job_id} could not be cancelled")
        self._purge(ipp_job_id)
        was = ipp.JOB_STATE_NAMES.get(state, str(state))
        return InterruptedJob("completed" if state == ipp.JOB_COMPLETED else "ended", was, detail)

    def _job_named(self, ipp_job_id: int, name: str) -> Mapping[str, list[Any]] | None:
        """The job's attributes, or None when the server has no such job or it is another's."""
        try:
            attrs = self._connect().job_attributes(ipp_job_id, JOB_ATTRIBUTES)
        except IppStatusError as exc:
            if exc.status == ipp.NOT_FOUND:
                return None
            raise
        return attrs if first(attrs, "job-name", name) == name else None

    def _find_job(self, name: str) -> int | None:
        """The newest job called `name`, queued or ended, or None."""
        for which in ("not-completed", "completed"):
            ids = [first(attrs, "job-id", None) for attrs in self._connect().jobs(which, ("job-id", "job-name"))
                   if first(attrs, "job-name", "") == name]
            ids = [i for i in ids if isinstance(i, int)]
            if ids:
                return max(ids)
        return None

    def print_test_page(self, kiosk_id: str = "", progress: ProgressCallback | None = None) -> PrintResult:
        """A page with no personal data: title, kiosk, time, a grey ramp and alignment marks."""
        return self.print_document(PrintJob(str(uuid.uuid4()), "TEST", render_test_page(kiosk_id, self.printer_uri)),
                                   progress)

    print_test = print_test_page      # TestPrinting

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._endpoint.close()


def _job_stopper(printer: DeviceStatus, job_state: int,
                 job: Mapping[str, list[Any]]) -> DeviceError | None:
    """Why a running job must be stopped now, or None. A printer alarm that needs a person
    or takes it offline stops it; `connecting-to-device` alone is left to the deadline, since
    CUPS shows it at the start of every job while its backend opens the printer. A job that
    CUPS stopped on its own with the printer fine means its filters failed on the document."""
    for fault in printer.alarms:
        if fault.code == FaultCode.OFFLINE and fault.detail.startswith("connecting-to-device"):
            continue
        return DeviceError(fault.code, f"printer reports {fault.detail or fault.code.value}")
    if job_state == ipp.JOB_STOPPED and printer.state != DeviceState.BUSY:
        reasons = ", ".join(str(r) for r in job.get("job-state-reasons", [])) or "no reason"
        said = printer.capabilities.get("message") or first(job, "job-state-message", "")
        detail = f"the printer stopped the job ({reasons}){': ' + said if said else ''}"
        if "job-completed-with-errors" in reasons or "document-" in reasons:
            return DocumentRejected(detail)
        return DeviceError(FaultCode.HARDWARE, detail)
    return None


# --- the test page ----------------------------------------------------------------------------

TEST_PAGE_DPI = 150
_MM = TEST_PAGE_DPI / 25.4


def render_test_page(kiosk_id: str, printer_uri: str = "", now: datetime | None = None) -> bytes:
    """An A4 test page as PDF. Drawn with Pillow (a kiosk dependency) at 150 dpi, which is
    plenty for checking alignment, the grey ramp and that the printer prints at all."""
    width, height = round(210 * _MM), round(297 * _MM)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    when = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    big, small = _font(64), _font(32)
    dash = "\u2014" if _HAS_SYSTEM_FONT else "-"
    lines = [(f"ADM {dash} Halaman Uji / Test page", big),
             (f"Kiosk: {kiosk_id or '-'}", small),
             (f"Waktu / Time: {when}", small),
             (f"Printer: {printer_uri.split('?')[0] or '-'}", small),
             ("Tidak ada data pribadi / No personal data", small)]
    y = round(40 * _MM)
    for text, font in lines:
        draw.text((round(25 * _MM), y), text, fill=0, font=font)
        y += round((28 if font is big else 14) * _MM)
    _grey_ramp(draw, top=round(185 * _MM), left=round(25 * _MM), width=round(160 * _MM), font=small)
    _alignment_marks(draw, width, height)
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=TEST_PAGE_DPI, title="ADM test page")
    return out.getvalue()


# DejaVu (fonts-dejavu-core, on every Debian with a desktop or Ghostscript) has the em dash;
# Pillow's built-in font, the fallback, does not.
_SYSTEM_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_HAS_SYSTEM_FONT = os.path.exists(_SYSTEM_FONT)


def _font(size: int) -> ImageFont.FreeTypeFont:
    if _HAS_SYSTEM_FONT:
        return ImageFont.truetype(_SYSTEM_FONT, size)
    return ImageFont.load_default(size=size)


def _grey_ramp(draw: ImageDraw.ImageDraw, top: int, left: int, width: int, font) -> None:
    """Eleven patches from white to black (0 % to 100 % ink), each labelled."""
    steps, patch_height = 11, round(20 * _MM)
    patch = width / steps
    for index in range(steps):
        x0 = left + round(index * patch)
        draw.rectangle((x0, top, left + round((index + 1) * patch), top + patch_height),
                       fill=round(255 * (1 - index / (steps - 1))), outline=0)
        draw.text((x0 + 4, top + patch_height + 8), f"{index * 10}%", fill=0, font=font)


def _alignment_marks(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    """Corner marks 10 mm from each edge, a centre cross and a 5 mm frame: what a technician
    measures to see that the paper is fed straight and the margins are right."""
    inset, arm, line = round(10 * _MM), round(15 * _MM), 3
    for x, dx in ((inset, 1), (width - inset, -1)):
        for y, dy in ((inset, 1), (height - inset, -1)):
            draw.line((x, y, x + dx * arm, y), fill=0, width=line)
            draw.line((x, y, x, y + dy * arm), fill=0, width=line)
    cx, cy = width // 2, height // 2
    draw.line((cx - arm, cy, cx + arm, cy), fill=0, width=line)
    draw.line((cx, cy - arm, cx, cy + arm), fill=0, width=line)
    frame = round(5 * _MM)
    draw.rectangle((frame, frame, width - frame, height - frame), outline=128, width=1)
