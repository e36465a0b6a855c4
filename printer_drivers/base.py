"""What every printer driver offers the kiosk core.

A driver is built from its connection URL, does blocking I/O with timeouts, and is only
ever called from its own `devices.worker.DeviceWorker` thread — except `prepare`, which does
no I/O and may run on any thread. Failures are raised as `devices.status.DeviceError`
carrying a fault code; nothing above a driver parses device replies.

A print is two steps: `prepare(job)` checks the document and renders it into what the device
takes (pure CPU; a document that cannot be printed raises `DocumentUnprintable` before any
paper or card moves), then `print_prepared(prepared, progress)` sends it and waits.
`print_document(job, progress)` does both, for callers with nothing to do in between.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from devices.status import DeviceError, DeviceStatus

# Progress steps a driver may report while printing; the UI shows them to the citizen.
STEP_SENDING = "sending"
STEP_PRINTING = "printing"
STEP_PRINTING_FRONT = "printing_front"
STEP_PRINTING_BACK = "printing_back"
STEP_EJECTING = "ejecting"
STEP_CUTTING = "cutting"

ProgressCallback = Callable[[str], None]

# Why a document cannot be printed (`DocumentUnprintable.reason`); the kiosk reports the
# code to the dinas and shows the citizen its message (`print.failed.<reason>`).
UNREADABLE = "unreadable"            # not a PDF, a PDF the renderer cannot open, or one with no pages
TOO_MANY_PAGES = "too_many_pages"    # more pages than the medium takes (a card has two sides)


# The lifetime counter a card printer keeps of cards taken from its feeder (`Printer.counters`).
CARDS_INSERTED = "cards_inserted"
# ... and of the cleaning cycles it has run (a printer with the CLEANING capability).
CLEANINGS_DONE = "cleanings_done"


def cards_taken(before: Mapping[str, int] | None, after: Mapping[str, int] | None) -> int | None:
    """Cards the printer took between two counter reads; None when either read lacks the count."""
    if not before or not after or CARDS_INSERTED not in before or CARDS_INSERTED not in after:
        return None
    return max(after[CARDS_INSERTED] - before[CARDS_INSERTED], 0)


# What a card printer's driver hands `PrintJob.on_sent` once the printer has taken the whole
# card (its last panel and the end of the sequence): from then on the printer finishes and
# ejects the card by itself, whether the kiosk lives or not (crash recovery waits for it).
CARD_WHOLE: Mapping[str, Any] = {"card": "whole"}


def card_whole(ref: Mapping[str, Any] | None) -> bool:
    """True when a journaled device reference says the printer had the whole card."""
    return bool(ref) and ref.get("card") == CARD_WHOLE["card"]


def tell_sent(on_sent: SentCallback | None, ref: Mapping[str, Any]) -> bool:
    """`on_sent(ref)` where the print is already under way and a failing callback must not
    stop it (a card being printed, a page already out): the failure is logged, and crash
    recovery falls back on what it can still ask the device. False when it failed, so the
    driver can leave the device what recovery will need to ask it."""
    if on_sent is None:
        return True
    try:
        on_sent(dict(ref))
    except Exception:  # noqa: BLE001 - a mark for recovery, not part of the print
        logging.getLogger(__name__).exception("the device's reference for a job could not be recorded")
        return False
    return True


class DocumentUnprintable(ValueError):
    """The document itself cannot be printed on this device: retrying will not help.
    `detail` describes the document's fault only (never its content) and is safe to log."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


SentCallback = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class PrintJob:
    job_id: str          # the kiosk's UUID for this print, also sent to the dinas
    kind: str            # KK, KIA, TEST, ...
    pdf: bytes           # verified document bytes; held in memory only
    title: str = ""      # shown in the printer's queue; never a name or a NIK
    # Called (on the device's thread) the moment the device holds the whole job, with a
    # reference to it (JSON-able): a print server's id once it accepts the job, or CARD_WHOLE
    # once a card printer has the whole card. The orchestrator journals it for crash
    # recovery. If the call raises, a queue's driver cancels the job (no job may wait in a
    # queue the kiosk lost); a card printer prints on (the card is already being printed).
    on_sent: SentCallback | None = None


@dataclass(frozen=True)
class InterruptedJob:
    """What a print server says became of a job the kiosk sent and did not see end.
    `outcome`: completed (it printed), canceled (it was still held: cancelled now, `was`
    says in which state), ended (aborted or canceled before) or not_found."""

    outcome: str
    was: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


class JobMayStillPrint(DeviceError):
    """The print failed, and the print server may still hold the job: it could not be
    cancelled (the server stopped answering), or the answer to the submission was lost. The
    document must not be released until the job is found and settled (QueuedJobs)."""


@runtime_checkable
class QueuedJobs(Protocol):
    """A printer behind a print server that keeps jobs (CUPS, an IPP printer): a job can sit
    in its queue after the kiosk died, and print later with no citizen there."""

    def settle_interrupted(self, job: PrintJob, ref: Mapping[str, Any] | None) -> InterruptedJob:
        """Find the job (by `ref`, what `on_sent` was given, else by its name), cancel it if
        it is still queued or printing, and say what became of it. Raises DeviceError when
        the server cannot be asked."""


@dataclass(frozen=True, eq=False)
class PreparedJob:
    """A job checked and rendered by `Printer.prepare`, ready for `Printer.print_prepared`.
    `payload` is what this driver's device takes (the validated PDF, the card's encoded
    panels, a raster stream); only the driver that made it reads it."""

    job: PrintJob
    payload: Any
    pages: int = 0

    @property
    def job_id(self) -> str:
        return self.job.job_id


@dataclass(frozen=True)
class PrintResult:
    """A finished print. `counters_after` lets crash recovery compare with the journal."""

    job_id: str
    counters_after: Mapping[str, int] = field(default_factory=dict)
    detail: Mapping[str, object] = field(default_factory=dict)


class Printer(ABC):
    role: str = "printer"
    # How long one print may take before the driver gives up on its own (and cancels what it
    # sent), or None when it sets no such limit. The kiosk never stops waiting sooner.
    deadline_s: float | None = None

    def __init__(self, url: str) -> None:
        cls = type(self)
        if cls.print_prepared is Printer.print_prepared and cls.print_document is Printer.print_document:
            raise TypeError(f"{cls.__name__} must implement print_prepared (or print_document)")
        from .registry import roles, device   # the registry names drivers lazily: no cycle at import
        if self.role in roles():
            problem = device(self.role).url_problem(url)
            if problem is not None:
                raise ValueError(f"{url.split('?')[0]}: {problem}")
        self.url = url

    @abstractmethod
    def status(self) -> DeviceStatus:
        """Ask the device now; never raises for a device that is merely unwell."""

    def prepare(self, job: PrintJob) -> PreparedJob:
        """Check the document and render it for this device. Pure CPU, no device I/O, so it
        may run on any thread. Raises DocumentUnprintable. This default hands the bytes over
        unchanged, for a device that takes the document as it comes."""
        return PreparedJob(job, job.pdf)

    def print_prepared(self, prepared: PreparedJob, progress: ProgressCallback | None = None) -> PrintResult:
        """Send a prepared job and wait until the device says it is done. Raises DeviceError
        on failure. A driver that predates `prepare` and overrides `print_document` only is
        served through it."""
        return self.print_document(prepared.job, progress)

    def print_document(self, job: PrintJob, progress: ProgressCallback | None = None) -> PrintResult:
        """Prepare and print in one call (test prints, tools). Raises DocumentUnprintable
        before touching the device, DeviceError on failure."""
        return self.print_prepared(self.prepare(job), progress)

    def counters(self) -> Mapping[str, int]:
        """Lifetime counters the device keeps (cards inserted, pages…); {} when it keeps none.
        Read just before sending, they let a crash mid-print be settled afterwards."""
        return {}

    def close(self) -> None:
        """Release the transport; the next call opens it again."""


# --- capabilities (registry.Capability): what a driver offers beyond status and printing ----------

@runtime_checkable
class TestPrinting(Protocol):
    """TEST_PRINT: a page or card with no personal data; `kiosk_id` is shown where it fits."""

    def print_test(self, kiosk_id: str, progress: ProgressCallback | None = None) -> PrintResult: ...


@runtime_checkable
class CardHandling(Protocol):
    """CARD_HANDLING: a card left in the printer can be seen and sent to the reject box."""

    def card_in_printer(self) -> bool: ...

    def reject_card(self, timeout: float | None = None) -> bool: ...


@runtime_checkable
class ReceiptPrinting(Protocol):
    """RECEIPTS: the citizen's receipt slip (printer_drivers.receipt.Receipt)."""

    def print_receipt(self, receipt: Any, progress: ProgressCallback | None = None) -> PrintResult: ...


@runtime_checkable
class Cleaning(Protocol):
    """CLEANING: the printer's own cleaning cycle (a cleaning card run through it), which
    also restarts the printer's cleaning counter. Blocking, on the device's thread; raises
    DeviceError when the printer refuses (a ribbon still fitted: ribbon_error; no card to
    take: feeder_empty; the cover open; a card already inside: media_jam) or takes longer
    than `timeout`. Returns the counters read after it: the kiosk's own count of cards since
    the last cleaning starts again from their `CARDS_INSERTED`."""

    cleaning_timeout_s: float          # the longest a cleaning may take: run_cleaning's default

    def run_cleaning(self, timeout: float | None = None) -> Mapping[str, int]: ...
