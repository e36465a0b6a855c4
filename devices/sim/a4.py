"""A simulated A4 printer that speaks IPP over real HTTP on loopback.

`make demo` runs where there is no CUPS: `sim:a4_printer?out=DIR` makes the A4 driver start
this printer in-process and talk the same IPP to it as to CUPS. The printer accepts
Print-Job with a PDF, checks it really is one (pypdfium2 opens it), "prints" it by writing
DIR/<job-name>.pdf, and answers Get-Job-Attributes, Get-Jobs, Get-Printer-Attributes and Cancel-Job
(with purge-job). Faults are injected by URL or at run time:

    sim:a4_printer?out=/tmp/kk&fault=media-empty      printer reports media-empty-error
    sim:a4_printer?slow=2                             each page takes 2 s
    sim:a4_printer?job_fault=media-jam                the next job jams halfway through
    printer.simulator.inject("door-open"); printer.simulator.clear()
    printer.simulator.fail_next_job("aborted")

Faults: media-empty, media-low, media-jam, door-open, toner-low, toner-empty, offline; a
job fault is one of those or "aborted" (the printer gives up on the job).
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Mapping

import pypdfium2

from devices import ipp
from devices.ipp import Attr

from .mechanics import A4_PAGE_S, A4_TIMING, Mechanism

log = logging.getLogger(__name__)

# Injectable fault -> the printer-state-reasons keyword a real printer reports for it.
FAULT_REASONS = {
    "media-empty": "media-empty-error",
    "media-low": "media-low-warning",
    "media-jam": "media-jam-error",
    "door-open": "door-open-error",
    "toner-low": "toner-low-warning",
    "toner-empty": "toner-empty-error",
    "offline": "offline-report",
    # Firmware that reports what we do not know while it prints on: a vendor keyword with the
    # -error suffix and one without any, printer-state staying idle/processing.
    "odd_status": "com.example-tray-sensor-error",
}
_NOT_HALTING = {"com.example-tray-sensor-error"}
JOB_FAULTS = (set(FAULT_REASONS) - {"odd_status"}) | {"aborted"}
QUEUE_NAME = "sim-a4"


@dataclass
class SimJob:
    job_id: int
    name: str
    document: bytes
    state: int = ipp.JOB_PENDING
    reasons: list[str] = field(default_factory=lambda: ["job-incoming"])
    message: str = ""
    pages: int = 0
    impressions: int = 0
    output: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class SimulatedA4Printer:
    def __init__(self, out_dir: str | Path, page_seconds: float = 0.0, host: str = "127.0.0.1",
                 port: int = 0, faults: tuple[str, ...] = (), job_fault: str | None = None,
                 mechanism: Mechanism | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.page_seconds = page_seconds
        # speed=realistic: 6 s a page, the first page of a job after power-on or a long idle
        # later by the fuser's warm-up (devices.sim.mechanics)
        self.mechanism = mechanism or Mechanism(A4_TIMING)
        self.toner_percent = 80
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.jobs: dict[int, SimJob] = {}
        self._next_job_id = 1
        self._reasons: set[str] = set()
        self._job_fault: str | None = None
        self._stopping = False
        for fault in faults:
            self.inject(fault)
        if job_fault:
            self.fail_next_job(job_fault)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.printer_uri = f"ipp://{host}:{self.port}/printers/{QUEUE_NAME}"
        self._serve_thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                              name="sim-a4-ipp", daemon=True)
        self._serve_thread.start()
        self._print_thread = threading.Thread(target=self._print_loop, name="sim-a4-engine", daemon=True)
        self._print_thread.start()

    # --- fault injection -------------------------------------------------------------------------
    def inject(self, fault: str) -> None:
        if fault not in FAULT_REASONS:
            raise ValueError(f"unknown A4 simulator fault {fault!r}; one of {sorted(FAULT_REASONS)}")
        with self.changed:
            self._reasons.add(FAULT_REASONS[fault])
            self.changed.notify_all()

    def clear(self, fault: str | None = None) -> None:
        """Clear one fault, or all of them (a technician loaded paper, closed the door…)."""
        with self.changed:
            if fault is None:
                self._reasons.clear()
            else:
                self._reasons.discard(FAULT_REASONS[fault])
            self.changed.notify_all()

    def fail_next_job(self, fault: str) -> None:
        if fault not in JOB_FAULTS:
            raise ValueError(f"unknown A4 job fault {fault!r}; one of {sorted(JOB_FAULTS)}")
        with self.lock:
            self._job_fault = fault

    @property
    def jobs_received(self) -> int:
        """Print-Job requests accepted since power-on (purged jobs included)."""
        with self.lock:
            return self._next_job_id - 1

    # --- what the printer reports ----------------------------------------------------------------
    @property
    def reasons(self) -> list[str]:
        with self.lock:
            return sorted(self._reasons) or ["none"]

    def _halted(self) -> bool:
        return any((r.endswith("-error") or r.startswith("offline")) and r not in _NOT_HALTING
                   for r in self._reasons)

    def printer_state(self) -> int:
        with self.lock:
            if self._halted():
                return ipp.PRINTER_STOPPED
            busy = any(j.state in (ipp.JOB_PENDING, ipp.JOB_PROCESSING) for j in self.jobs.values())
            return ipp.PRINTER_PROCESSING if busy else ipp.PRINTER_IDLE

    def printer_attributes(self) -> dict[str, Attr]:
        with self.lock:
            return {
                "printer-uri-supported": Attr.of(ipp.URI, self.printer_uri),
                "printer-name": Attr.of(ipp.NAME, QUEUE_NAME),
                "printer-make-and-model": Attr.of(ipp.TEXT, "ADM simulated A4 printer"),
                "printer-state": Attr.of(ipp.ENUM, self.printer_state()),
                "printer-state-reasons": Attr.of(ipp.KEYWORD, *self.reasons),
                "printer-state-message": Attr.of(ipp.TEXT, "" if not self._reasons else ", ".join(self.reasons)),
                "printer-is-accepting-jobs": Attr.of(ipp.BOOLEAN, True),
                "document-format-supported": Attr.of(ipp.MIME_TYPE, "application/pdf"),
                "sides-supported": Attr.of(ipp.KEYWORD, "one-sided"),
                "color-supported": Attr.of(ipp.BOOLEAN, False),
                "marker-names": Attr.of(ipp.NAME, "Black toner"),
                "marker-types": Attr.of(ipp.KEYWORD, "toner"),
                "marker-levels": Attr.of(ipp.INTEGER, self.toner_percent),
                "marker-low-levels": Attr.of(ipp.INTEGER, 10),
                "queued-job-count": Attr.of(ipp.INTEGER, sum(
                    j.state in (ipp.JOB_PENDING, ipp.JOB_PROCESSING) for j in self.jobs.values())),
                "operations-supported": Attr.of(ipp.ENUM, ipp.PRINT_JOB, ipp.CANCEL_JOB,
                                                ipp.GET_JOB_ATTRIBUTES, ipp.GET_JOBS, ipp.GET_PRINTER_ATTRIBUTES),
            }

    def job_attributes(self, job: SimJob) -> dict[str, Attr]:
        return {
            "job-id": Attr.of(ipp.INTEGER, job.job_id),
            "job-uri": Attr.of(ipp.URI, f"{self.printer_uri}/{job.job_id}"),
            "job-name": Attr.of(ipp.NAME, job.name),
            "job-state": Attr.of(ipp.ENUM, job.state),
            "job-state-reasons": Attr.of(ipp.KEYWORD, *(job.reasons or ["none"])),
            "job-state-message": Attr.of(ipp.TEXT, job.message),
            "job-impressions-completed": Attr.of(ipp.INTEGER, job.impressions),
        }

    # --- jobs ------------------------------------------------------------------------------------
    def submit(self, name: str, document: bytes) -> SimJob:
        with self.changed:
            job = SimJob(self._next_job_id, name, document)
            self._next_job_id += 1
            self.jobs[job.job_id] = job
            self.changed.notify_all()
            return job

    def cancel(self, job_id: int, purge: bool) -> int:
        """IPP status for Cancel-Job."""
        with self.changed:
            job = self.jobs.get(job_id)
            if job is None:
                return ipp.NOT_FOUND
            ended = job.state in (ipp.JOB_CANCELED, ipp.JOB_ABORTED, ipp.JOB_COMPLETED)
            if ended and not purge:
                return ipp.NOT_POSSIBLE
            if not ended:
                job.cancel.set()
                job.state, job.reasons = ipp.JOB_CANCELED, ["job-canceled-by-user"]
            if purge:
                job.document = b""
                del self.jobs[job_id]
            self.changed.notify_all()
            return ipp.OK

    def _print_loop(self) -> None:
        while True:
            with self.changed:
                job = None
                while not self._stopping:
                    job = next((j for j in self.jobs.values() if j.state == ipp.JOB_PENDING), None)
                    if job is not None and not self._halted():
                        break
                    self.changed.wait(0.1)
                if self._stopping:
                    return
                job.state, job.reasons = ipp.JOB_PROCESSING, ["job-printing"]
                job_fault, self._job_fault = self._job_fault, None
            self._print(job, job_fault)

    def _print(self, job: SimJob, job_fault: str | None) -> None:
        try:
            pdf = pypdfium2.PdfDocument(job.document)
            job.pages = len(pdf)
            pdf.close()
        except pypdfium2.PdfiumError as exc:
            self._end(job, ipp.JOB_ABORTED, "document-format-error", f"not a readable PDF: {exc}")
            return
        began, warm_up = self.mechanism.clock(), self.mechanism.warm_up() * self.mechanism.scale
        for page in range(job.pages):
            mechanical = A4_PAGE_S * self.mechanism.scale + (warm_up if page == 0 else 0.0)
            if not self._wait(job, self.page_seconds + mechanical):
                return
            if page == job.pages // 2 and job_fault:
                if job_fault == "aborted":
                    self._end(job, ipp.JOB_ABORTED, "aborted-by-system", "the printer gave up on the job")
                    return
                self.inject(job_fault)          # halfway through: a jam, the door, the tray…
                with self.changed:
                    job.state, job.reasons = ipp.JOB_STOPPED, ["printer-stopped"]
                    while self._halted() and not job.cancel.is_set() and not self._stopping:
                        self.changed.wait(0.1)
                    if job.cancel.is_set() or self._stopping:
                        return
                    job.state, job.reasons = ipp.JOB_PROCESSING, ["job-printing"]
                job_fault = None
            job.impressions = page + 1
        output = self.out_dir / f"{_safe_name(job.name) or 'job'}.pdf"
        if output.exists():
            output = self.out_dir / f"{output.stem}-{job.job_id}.pdf"
        output.write_bytes(job.document)
        job.output = output
        self.mechanism.finished(began=began, seconds=job.pages * A4_PAGE_S * self.mechanism.scale + warm_up)
        self._end(job, ipp.JOB_COMPLETED, "job-completed-successfully", "")

    def _wait(self, job: SimJob, seconds: float) -> bool:
        """Sleep through one page; False when the job was canceled meanwhile."""
        return not job.cancel.wait(seconds) if seconds > 0 else not job.cancel.is_set()

    def _end(self, job: SimJob, state: int, reason: str, message: str) -> None:
        with self.changed:
            if job.state == ipp.JOB_CANCELED:
                return
            job.state, job.reasons, job.message = state, [reason], message
            job.document = b""          # the printer keeps no copy once the job ends
            self.changed.notify_all()

    def stop(self) -> None:
        with self.changed:
            self._stopping = True
            self.changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._print_thread.join(2)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120].lstrip(".")


# --- the IPP endpoint ----------------------------------------------------------------------------

def _handler_for(printer: SimulatedA4Printer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"      # keep-alive, as CUPS and requests' Session expect

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/ipp":
                self._reply_http(415, b"IPP requests are application/ipp")
                return
            try:
                request = ipp.decode(body)
            except ipp.IppError as exc:
                self._reply(ipp.IppMessage(ipp.BAD_REQUEST, 0, [(ipp.OPERATION_GROUP, _status_attrs(str(exc)))]))
                return
            if self.path.rstrip("/") not in (f"/printers/{QUEUE_NAME}", "/ipp/print"):
                self._reply(_response(request, ipp.NOT_FOUND, f"no printer at {self.path}"))
                return
            self._reply(answer(printer, request))

        def _reply(self, message: ipp.IppMessage) -> None:
            body = ipp.encode(message)
            self.send_response(200)
            self.send_header("Content-Type", "application/ipp")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reply_http(self, code: int, text: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("sim-a4: " + format, *args)

    return Handler


def _status_attrs(message: str = "") -> dict[str, Attr]:
    attrs = {"attributes-charset": Attr.of(ipp.CHARSET, "utf-8"),
             "attributes-natural-language": Attr.of(ipp.LANGUAGE, "en")}
    if message:
        attrs["status-message"] = Attr.of(ipp.TEXT, message)
    return attrs


def _response(request: ipp.IppMessage, status: int, message: str = "",
              groups: list[tuple[int, dict[str, Attr]]] = ()) -> ipp.IppMessage:
    return ipp.IppMessage(status, request.request_id,
                          [(ipp.OPERATION_GROUP, _status_attrs(message)), *groups])


def _only(attrs: dict[str, Attr], requested: list[Any] | None) -> dict[str, Attr]:
    if not requested or "all" in requested:
        return attrs
    return {name: attr for name, attr in attrs.items() if name in requested}


def answer(printer: SimulatedA4Printer, request: ipp.IppMessage) -> ipp.IppMessage:
    """The printer's reply to one decoded request."""
    op = request.group(ipp.OPERATION_GROUP)
    requested = op.get("requested-attributes")
    if request.code == ipp.GET_PRINTER_ATTRIBUTES:
        return _response(request, ipp.OK, groups=[(ipp.PRINTER_GROUP, _only(printer.printer_attributes(), requested))])
    if request.code == ipp.PRINT_JOB:
        document_format = (op.get("document-format") or ["application/octet-stream"])[0]
        if document_format != "application/pdf":
            return _response(request, ipp.DOCUMENT_FORMAT_NOT_SUPPORTED,
                             f"document-format {document_format} not supported; send application/pdf")
        if not request.data:
            return _response(request, ipp.BAD_REQUEST, "Print-Job without a document")
        job = printer.submit(str((op.get("job-name") or ["untitled"])[0]), request.data)
        return _response(request, ipp.OK, groups=[(ipp.JOB_GROUP, _only(printer.job_attributes(job), [
            "job-id", "job-uri", "job-state", "job-state-reasons"]))])
    if request.code == ipp.GET_JOBS:
        completed = (op.get("which-jobs") or ["not-completed"])[0] == "completed"
        with printer.lock:
            groups = [(ipp.JOB_GROUP, _only(printer.job_attributes(job), requested or ["job-id", "job-uri"]))
                      for job in printer.jobs.values() if (job.state >= ipp.JOB_CANCELED) == completed]
        return _response(request, ipp.OK, groups=groups)
    job_id = (op.get("job-id") or [None])[0]
    if request.code in (ipp.GET_JOB_ATTRIBUTES, ipp.CANCEL_JOB) and not isinstance(job_id, int):
        return _response(request, ipp.BAD_REQUEST, "job-id is required")
    if request.code == ipp.GET_JOB_ATTRIBUTES:
        with printer.lock:
            job = printer.jobs.get(job_id)
            if job is None:
                return _response(request, ipp.NOT_FOUND, f"job {job_id} not found")
            return _response(request, ipp.OK, groups=[(ipp.JOB_GROUP, _only(printer.job_attributes(job), requested))])
    if request.code == ipp.CANCEL_JOB:
        purge = bool((op.get("purge-job") or [False])[0])
        status = printer.cancel(job_id, purge)
        return _response(request, status, "" if status == ipp.OK else f"cannot cancel job {job_id}")
    return _response(request, ipp.OPERATION_NOT_SUPPORTED, f"operation 0x{request.code:04x} not supported")


# --- as a sim: URL (devices/sim/catalogue.py) ----------------------------------------------------

SIM_NAMES = ("a4_printer", "a4")


def simulated_link(url: str, params: Mapping[str, str]) -> ipp.IppEndpoint:
    """`sim:a4_printer?out=DIR&fault=…&slow=…&job_fault=…`: an IPP endpoint that powers a
    simulated printer on when first used. The options are checked now, at configuration."""
    name = url[4:].lstrip("/").split("?", 1)[0]
    _options(name, params)
    return ipp.IppEndpoint(url, start=lambda: start_simulator(name, params))


def _options(name: str, params: Mapping[str, str]) -> dict[str, Any]:
    out_dir = params.get("out") or str(Path(tempfile.gettempdir()) / "adm-kiosk-a4-sim")
    faults = tuple(f for f in params.get("fault", "").split(",") if f)
    try:
        page_seconds = float(params.get("slow", 0.0))
    except ValueError:
        raise ValueError(f"sim:{name}: slow= takes seconds per page, got {params['slow']!r}") from None
    try:
        mechanism = Mechanism.from_params(params, A4_TIMING)
    except ValueError as exc:
        raise ValueError(f"sim:{name}: {exc}") from None
    return {"out_dir": out_dir, "page_seconds": page_seconds, "faults": faults,
            "job_fault": params.get("job_fault") or None, "mechanism": mechanism}


def start_simulator(name: str, params: Mapping[str, str]) -> SimulatedA4Printer:
    """A running simulated printer for
    `sim:a4_printer?out=DIR&fault=…&slow=…&job_fault=…&speed=realistic&time_scale=…`."""
    if name not in SIM_NAMES:
        raise ValueError(f"sim:{name}: the A4 simulator is sim:a4_printer")
    options = _options(name, params)
    printer = SimulatedA4Printer(options.pop("out_dir"), **options)
    log.info("simulated A4 printer at %s writing to %s", printer.printer_uri, printer.out_dir)
    return printer
