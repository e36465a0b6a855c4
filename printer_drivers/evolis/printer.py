"""`EvolisPrinter`: the KIA card printer driver (role ``card_printer``).

    printer = EvolisPrinter("usb://0f49:5c07")          # or serial://, socket://, sim:card_printer?…
    prepared = printer.prepare(PrintJob(job_id, "KIA", pdf))     # CardImageError for a bad PDF
    result = printer.print_prepared(prepared, progress=print)    # or print_document(job) for both

A print: `prepare` rasterises the PDF and separates it into panels for the ribbon last seen
(pure CPU, any thread; a document that cannot become a card raises `CardImageError`, a
`DocumentUnprintable`). `print_prepared` asks the ribbon loaded (``Rr``; panels are made again
only if it changed), reads the counters, then ``Pr``, ``Ss`` (a card is taken), ``Sr`` + the front's panels,
``Sv`` + the back's, ``Se`` (then the job's `on_sent` hears `CARD_WHOLE`: the printer has
the whole card and finishes it by itself), and wait (polling ``Rlr;p``, with a deadline) until
the card is out. A failure after ``Ss`` spoils the card: the driver asks the printer to move it to the
reject box (``Ser``) — the printer refuses when it cannot (a jam, the cover open) — and
raises `DeviceError` with the fault. It never feeds another card for the same job.

A card in the printer while this driver runs no print is nobody's: a crash or power cut of
the PC mid-card, or a reject the printer refused. `status()` reports it as a fault (nothing
will take it out by itself) and `reject_card()` sends it to the reject box; crash recovery
uses `card_in_printer()` and `reject_card()` to settle the job it belonged to.

The link comes from `devices.links.open_link`: serial://, socket://, usb:// or
``sim:card_printer?faults=…&out=DIR`` (`devices.sim.evolis.EvolisSimulator` in-process on a
pty, through pyserial, the same path as a real serial port).
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from devices.status import DeviceError, DeviceState, DeviceStatus, Fault, FaultCode, absent
from devices.links import open_link
from devices.transport import Transport
from devices.unreadable import UnreadableAnswers

from ..base import (CARD_WHOLE, CARDS_INSERTED, CLEANINGS_DONE, STEP_EJECTING, STEP_PRINTING_BACK,
                    STEP_PRINTING_FRONT, STEP_SENDING, PreparedJob, PrintJob, Printer, PrintResult, ProgressCallback,
                    SentCallback, tell_sent)
from .imaging import (BLACK_POLICIES, CARD_HEIGHT, CARD_WIDTH, RIBBON_PANELS, CardPanels, PanelImage, card_panels,
                      overlay_mask, rasterize_pdf)
from ..registry import COLOUR_LEVELS
from .protocol import EvolisLink
from .print_settings import DEFAULT_CONTRAST, INSERTION, contrast_problem
from .sensors import parse_thresholds
from .status import ROLE, STATUS_READS, build_status, card_inside, card_position

log = logging.getLogger(__name__)
EVOLIS_VENDOR_ID = 0x0F49
REJECT_TIMEOUT_S = 20.0     # Ser until the card is in the reject box: a few seconds on a real printer
# Scp until the cleaning card is out again. The guide gives no duration; five passes under
# the rollers and the head plus a magnetic head take well under a minute: twice that, to spare.
CLEANING_TIMEOUT_S = 120.0


@dataclass(frozen=True, eq=False)
class CardImage:
    """A prepared card: its sides at 300 dpi, and their panels for the ribbon seen last
    (None when no ribbon has been read yet)."""

    pages: tuple[np.ndarray, ...]
    panels: CardPanels | None


class EvolisPrinter(Printer):
    role = ROLE
    cleaning_timeout_s = CLEANING_TIMEOUT_S

    def __init__(self, url: str, *, levels: int = 32, black_policy: str = "text", compressed: bool = True,
                 timeout: float = 5.0, card_timeout: float = 120.0, poll_interval: float = 0.5,
                 overlay_holes: tuple[tuple[int, int, int, int], ...] = (),
                 sensor_thresholds: Mapping[str, Any] | None = None, contrast: Mapping[str, int] | None = None,
                 backend: Any = None) -> None:
        super().__init__(url)
        # Bad imaging options are a configuration error, found here rather than blamed on a document.
        if levels not in COLOUR_LEVELS or black_policy not in BLACK_POLICIES:
            raise ValueError(f"{url}: levels is one of {COLOUR_LEVELS}, black_policy one of {BLACK_POLICIES}")
        overlay_mask(overlay_holes)
        try:
            self.sensor_thresholds = parse_thresholds(sensor_thresholds)
        except ValueError as exc:
            raise ValueError(f"{url}: {exc}") from None
        contrast = DEFAULT_CONTRAST if contrast is None else contrast
        if (problem := contrast_problem(contrast)) is not None:
            raise ValueError(f"{url}: {problem}")
        self.contrast = dict(contrast)
        self._unreadable = UnreadableAnswers(log, ROLE)
        self.levels, self.black_policy, self.compressed = levels, black_policy, compressed
        self.card_timeout, self.poll_interval = card_timeout, poll_interval
        self.overlay_holes = tuple(overlay_holes)
        self._ribbon_seen: str | None = None  # read by prepare() on another thread: a plain str
        transport = open_link(url, expect=Transport, backend=backend)
        self.simulator = transport.simulator
        self.link = EvolisLink(transport, timeout)
        self._identity: dict[str, str] | None = None
        self._card_in_hand = False          # True from `Ss` until this driver's card is out

    # --- identification, status, counters ---------------------------------------------------------
    def identify(self) -> dict[str, str]:
        """Model, firmware and serial number (read once), and the ribbon loaded (read now)."""
        if self._identity is None:
            self._identity = {key: self._identity_read(cmd)
                              for key, cmd in (("model", "Rtp"), ("firmware", "Rfv"), ("serial_number", "Rsn"))}
        return {**self._identity, "ribbon": self.ribbon()}

    def _identity_read(self, command: str) -> str:
        """An identification read; firmware that refuses it leaves it empty (noted once)."""
        answer = self.link.ask(command)
        if answer.fault is not None and answer.fault.code != FaultCode.COMMAND_REJECTED:
            answer.raise_for_fault()
        if answer.fault is not None:
            self._unreadable.note(command, answer.fault.detail, "left empty")
            return ""
        return answer.text

    def ribbon(self) -> str:
        # The one read that is never `unknown`: the ribbon decides the panels sent.
        answer = self.link.command("Rr").text
        ribbon = answer.strip().lower()
        if ribbon not in RIBBON_PANELS:
            raise DeviceError(FaultCode.RIBBON_ERROR, f"Rr answered {answer!r}: not a ribbon this kiosk can print with")
        self._ribbon_seen = ribbon
        return ribbon

    def capabilities(self, identity: Mapping[str, str]) -> dict[str, object]:
        front, back = RIBBON_PANELS.get(identity.get("ribbon", ""), ((), ()))
        return {**identity, "duplex": True, "panels_front": list(front), "panels_back": list(back),
                "levels": self.levels, "black_policy": self.black_policy, "compressed": self.compressed,
                "card_size": [CARD_WIDTH, CARD_HEIGHT]}

    def status(self) -> DeviceStatus:
        try:
            identity = self.identify()
            answers = {key: self.link.ask(*command) for key, command in STATUS_READS}
        except DeviceError as exc:
            if exc.code == FaultCode.DISCONNECTED:
                self._identity = None          # it may be another printer when it comes back
                return absent(ROLE, str(exc))
            return DeviceStatus(ROLE, _state_for(exc.fault), faults=(exc.fault,),
                                capabilities=self._identity or {})
        thresholds = self.sensor_thresholds.get(identity.get("model", "").strip().upper())
        status = build_status(answers, self.capabilities(identity), card_expected=self._card_in_hand,
                              thresholds=thresholds, unreadable=self._unreadable)
        noted = self._unreadable.noted      # the raw answers, for the technician's status page
        return status.evolve(capabilities={**status.capabilities, "unreadable": noted}) if noted else status

    def counters(self) -> dict[str, int]:
        """The counters the printer answers as integers. One it cannot give is left out
        (noted once): crash recovery then knows it cannot tell from the counters alone."""
        values = {}
        for key, which in ((CARDS_INSERTED, "c"), ("panels_printed", "p"), (CLEANINGS_DONE, "n")):
            answer = self.link.ask("Rco", which)
            text = answer.text.strip()
            if answer.ok and text.isdigit():
                values[key] = int(text)
                self._unreadable.readable(answer.command)
            elif answer.fault is None or answer.fault.code == FaultCode.COMMAND_REJECTED:
                self._unreadable.note(answer.command, text or answer.fault, f"counter {key} unknown")
            else:
                answer.raise_for_fault()
        return values

    def card_in_printer(self) -> bool:
        """True while a card is in the printer; raises DeviceError (media_jam) when it is stuck."""
        return card_inside(self.link.ask("Rlr", "p"))

    def reject_card(self, timeout: float | None = None) -> bool:
        """Move a card that is in the printer to the reject box (``Ser``) and wait until the
        printer reports no card, within `timeout` seconds (default 20, at most `card_timeout`).
        Returns False when there was no card. Raises DeviceError when the printer refuses (a
        jam, the cover open) or the card is still inside at the deadline."""
        if not self.card_in_printer():
            return False
        self._reject(timeout)
        log.warning("card left in the printer sent to the reject box")
        return True

    # --- cleaning (base.Cleaning) -----------------------------------------------------------------
    def run_cleaning(self, timeout: float | None = None) -> dict[str, int]:
        """The printer's cleaning cycle, ``Scp`` (guide: it checks no ribbon is fitted, runs
        the cleaning card from the feeder five times under the rollers and the head, and
        ejects it). The guide does not say whether ``Scp`` is answered at the start of the
        cycle or at its end, so the driver allows for both: it waits up to `timeout` (default
        `cleaning_timeout_s`) for the answer, then, within what is left, until ``Rlr;p`` says
        the cleaning card is out. Refused before ``Scp`` when a card is already inside (it
        would be a citizen's or a spoiled one). Returns the counters read after it."""
        timeout = self.cleaning_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self.card_in_printer():
            raise DeviceError(FaultCode.MEDIA_JAM, "a card is in the printer: take it out before a cleaning")
        self.link.command("Scp", timeout=timeout)
        self._wait_until_card_out(max(deadline - time.monotonic(), self.poll_interval))
        counters = self.counters()
        log.info("cleaning cycle done (cleanings %s, cards %s)", counters.get(CLEANINGS_DONE, "?"),
                 counters.get(CARDS_INSERTED, "?"))
        return counters

    # --- printing -----------------------------------------------------------------------------------
    def prepare(self, job: PrintJob) -> PreparedJob:
        """Rasterise a card PDF (page 1 front, page 2 back) and separate it into panels for the
        ribbon seen last. Raises `imaging.CardImageError` (a DocumentUnprintable) for a
        document that cannot become a card. No device I/O."""
        pages = tuple(rasterize_pdf(job.pdf))
        return PreparedJob(job, self._card_image(pages, self._ribbon_seen), len(pages))

    def print_prepared(self, prepared: PreparedJob, progress: ProgressCallback | None = None) -> PrintResult:
        """Print a prepared card; DeviceError on failure. It never feeds a second card."""
        return self._print_card_image(prepared.job_id, prepared.payload, progress, prepared.job.on_sent)

    def print_test_card(self, progress: ProgressCallback | None = None) -> PrintResult:
        """A test card with no personal data: title, colour bars, grey ramp and the date."""
        card = self._card_image(tuple(test_card_pages()), self._ribbon_seen)
        return self._print_card_image(f"test-{uuid.uuid4()}", card, progress)

    def print_test(self, kiosk_id: str = "", progress: ProgressCallback | None = None) -> PrintResult:
        """The test card (TestPrinting); the card carries no kiosk id."""
        return self.print_test_card(progress)

    def _card_image(self, pages: tuple[np.ndarray, ...], ribbon: str | None) -> CardImage:
        panels = None if ribbon is None else \
            card_panels(pages, ribbon, self.levels, self.black_policy, self.overlay_holes)
        return CardImage(pages, panels)

    def _print_card_image(self, job_id: str, card: CardImage, progress: ProgressCallback | None,
                          on_whole: SentCallback | None = None) -> PrintResult:
        report: Callable[[str], None] = progress or (lambda step: None)
        ribbon = self.ribbon()
        panels = card.panels if card.panels is not None and card.panels.ribbon == ribbon \
            else self._card_image(card.pages, ribbon).panels
        before = self.counters()
        report(STEP_SENDING)
        sent = self._print_card(panels, report, on_whole)
        after = self.counters()
        log.info("card printed (job %s, %d bytes sent, cards %s -> %s)", job_id, sent,
                 before.get("cards_inserted", "?"), after.get("cards_inserted", "?"))
        return PrintResult(job_id, counters_after=after,
                           detail={"counters_before": before, "ribbon": ribbon, "bytes_sent": sent,
                                   "compressed": self.compressed, "levels": self.levels})

    def _print_card(self, panels: CardPanels, report: Callable[[str], None], on_whole: SentCallback | None) -> int:
        self._card_in_hand = True
        try:
            return self._feed_and_print(panels, report, on_whole)
        finally:
            self._card_in_hand = False

    def _feed_and_print(self, panels: CardPanels, report: Callable[[str], None], on_whole: SentCallback | None) -> int:
        try:
            for command in self.job_settings(panels):
                self.link.command(*command)
            self.link.command("Ss")                 # the printer takes a card from the feeder
        except DeviceError as exc:
            raise self._explained(exc) from exc
        try:
            sent = self._send_side("Sr", panels.front, STEP_PRINTING_FRONT, report)
            if panels.back:
                sent += self._send_side("Sv", panels.back, STEP_PRINTING_BACK, report)
            report(STEP_EJECTING)
            self.link.command("Se")
            tell_sent(on_whole, CARD_WHOLE)     # recovery waits for this card rather than reject it
            self._wait_until_card_out()
            return sent
        except DeviceError as exc:
            raise self._spoiled(exc) from exc

    def job_settings(self, panels: CardPanels) -> list[tuple[str, ...]]:
        """The commands before ``Ss``: ribbon, insertion mode, per-panel contrast."""
        printed = {panel.name for panel in (*panels.front, *panels.back)}
        return [("Pr", panels.ribbon), ("Pmi", *INSERTION),
                *(("Pc", panel, "=", str(value)) for panel, value in self.contrast.items() if panel in printed)]

    def _send_side(self, side: str, panels: tuple[PanelImage, ...], step: str,
                   report: Callable[[str], None]) -> int:
        self.link.command(side)
        report(step)
        sent = 0
        for panel in panels:
            payload = panel.payload(self.compressed)
            self.link.download(panel.name, panel.levels, payload, self.compressed,
                               timeout=self.link.timeout + len(payload) / 10_000)
            sent += len(payload)
        return sent

    def _wait_until_card_out(self, timeout: float | None = None) -> None:
        timeout = self.card_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            answer = self.link.ask("Rlr", "p")
            inside = card_position(answer)
            if inside is None:
                # `Se` was taken; a position we cannot read must not hold the citizen for
                # minutes: the card is taken as out (a card still inside makes the next `Ss`
                # answer ERR CARD, which is authoritative).
                self._unreadable.note(answer.command, answer.text, "card position unknown; taken as out")
                return
            if not inside:
                return
            if time.monotonic() >= deadline:
                raise DeviceError(FaultCode.TIMEOUT, f"card still in the printer after {timeout:.1f}s")
            time.sleep(self.poll_interval)

    def _reject(self, timeout: float | None = None) -> None:
        """``Ser``, then wait until the card has left; DeviceError when refused or too slow."""
        self.link.command("Ser", timeout=min(self.link.timeout, 2.0))
        self._wait_until_card_out(min(self.card_timeout, REJECT_TIMEOUT_S) if timeout is None else timeout)

    def _explained(self, exc: DeviceError) -> DeviceError:
        """A NACK's code is coarse (T is any mechanical error, R any ribbon trouble): where the
        status read names the cause (cleaning due, cover, feeder, ribbon out, jam), report it."""
        if not exc.fault.detail.startswith("NACK"):
            return exc
        try:
            status = self.status()
        except DeviceError:
            return exc
        cause = next((f for f in status.faults if f.code in _SPECIFIC), None)
        return DeviceError(Fault(cause.code, f"{exc.fault.detail}; status: {cause.detail}")) if cause else exc

    def _spoiled(self, exc: DeviceError) -> DeviceError:
        """After a failure mid-card: ask once for the card to go to the reject box."""
        exc = self._explained(exc)
        try:
            if exc.code == FaultCode.DISCONNECTED:
                self.link.transport.close()
            self._reject()
            outcome = "spoiled card sent to the reject box"
        except DeviceError as reject_error:
            outcome = f"spoiled card left in the printer ({reject_error.fault.detail or reject_error.code.value})"
        log.warning("card print failed: %s; %s", exc.fault.code.value, outcome)
        detail = "; ".join(part for part in (exc.fault.detail, outcome) if part)
        return DeviceError(Fault(exc.fault.code, detail))

    def close(self) -> None:
        self.link.transport.close()


_SPECIFIC = (FaultCode.COVER_OPEN, FaultCode.FEEDER_EMPTY, FaultCode.RIBBON_OUT, FaultCode.NEEDS_CLEANING,
             FaultCode.MEDIA_JAM)


def _state_for(fault: Fault) -> DeviceState:
    if fault.code == FaultCode.RIBBON_ERROR:       # a person must change the ribbon
        return DeviceState.USER_ERROR
    return DeviceState.OFFLINE if fault.code == FaultCode.TIMEOUT else DeviceState.UNKNOWN


def test_card_pages(today: _dt.date | None = None) -> list[np.ndarray]:
    """Front and back of the test card, as 648 x 1016 RGB arrays. No personal data."""
    today = today or _dt.date.today()
    front = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), "white")
    draw = ImageDraw.Draw(front)
    title, small = ImageFont.load_default(64), ImageFont.load_default(32)
    draw.text((60, 50), "KARTU UJI / TEST CARD", fill="black", font=title)
    bars = ["#00ffff", "#ff00ff", "#ffff00", "#ff0000", "#00ff00", "#0000ff", "#000000"]
    bar_width = (CARD_WIDTH - 120) // len(bars)
    for index, colour in enumerate(bars):
        draw.rectangle((60 + index * bar_width, 180, 60 + (index + 1) * bar_width - 8, 380), fill=colour)
    ramp = np.linspace(255, 0, CARD_WIDTH - 120).astype(np.uint8)
    front.paste(Image.fromarray(np.repeat(np.stack([ramp] * 3, axis=-1)[None], 80, axis=0)), (60, 410))
    draw.text((60, 530), f"Tanggal / Date: {today.isoformat()}", fill="black", font=small)
    back = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), "white")
    draw = ImageDraw.Draw(back)
    draw.text((60, 60), "Sisi belakang / Back side", fill="black", font=title)
    draw.rectangle((60, 200, CARD_WIDTH - 60, 400), outline="black", width=6)
    back.paste(Image.fromarray(np.repeat(np.stack([ramp] * 3, axis=-1)[None], 80, axis=0)), (60, 450))
    return [np.asarray(front), np.asarray(back)]
