"""The citizen session as the UI sees it: immutable views published by the session engine.

This module is the contract between `kiosk.session` (the engine) and `ui/` (the view). The
UI renders a `SessionView` and sends commands back; it never reaches further into the core.
All text is carried as message keys with parameters; the UI translates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Mapping


class Screen(StrEnum):
    ATTRACT = "attract"
    IDENTIFY = "identify"
    PIN = "pin"
    DOCUMENTS = "documents"
    CONFIRM = "confirm"
    PRINTING = "printing"
    DONE = "done"
    ERROR = "error"
    OUT_OF_SERVICE = "out_of_service"


@dataclass(frozen=True)
class Message:
    """Something to tell the citizen: a translation key and its parameters."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentView:
    id: str
    kind: str                        # KK, KIA
    media: str                       # a4, card
    title: str
    pages: int
    available: bool                  # can be printed now
    unavailable: Message | None = None   # why not, when not
    selected: bool = True
    preview_png: bytes | None = None     # first page, rendered off the UI thread
    preview_blurred_png: bytes | None = None   # the same, blurred: what shows until the citizen holds "see"


@dataclass(frozen=True)
class StepView:
    document_id: str
    kind: str
    step: str                        # fetching, reserving, sending, printing_front, ... receipt
    state: str                       # pending, active, done, failed
    message: Message | None = None


@dataclass(frozen=True)
class PrinterProgress:
    """One printer's line on the printing screen: its documents go one after another while
    the other printers work at the same time (kiosk.session_printing)."""

    role: str                        # a4_printer, card_printer (printer_drivers.registry)
    total: int                       # documents for this printer in this session
    ended: int                       # of them printed, failed or skipped
    failed: int
    current: StepView | None = None  # the document on this printer now, None before and after

    @property
    def finished(self) -> bool:
        return self.ended >= self.total


@dataclass(frozen=True)
class SessionView:
    screen: Screen
    language: str = "id"
    busy: bool = False                    # a request is in flight: show a spinner, not a freeze
    message: Message | None = None        # the one thing to tell the citizen on this screen
    # A new number each time the engine gives a message, the same one again too (a second
    # unreadable scan): the UI says it again, where an equal view is only a repaint.
    message_number: int = 0
    holder_name_masked: str = ""
    nik_masked: str = ""                  # the NIK typed (first 6 + last 4 digits), for "is this yours?"
    identified_by: str = ""               # nik | request_no (a scanned WhatsApp QR)
    documents: tuple[DocumentView, ...] = ()
    steps: tuple[StepView, ...] = ()
    printers: tuple[PrinterProgress, ...] = ()   # while printing: one line per printer in use
    outcomes: Mapping[str, str] = field(default_factory=dict)   # document id -> printed | failed
    receipt_printed: bool = False         # a slip for every printed document
    receipts_printed: int = 0             # how many slips came out (some, when not all did)
    help_url: str = ""                    # for the on-screen QR when there is no receipt
    idle_deadline: float | None = None    # time.monotonic() at which the session is dropped
    idle_warning: bool = False            # show the countdown
    available_kinds: tuple[str, ...] = ()  # on the attract screen: what can be printed now
    announcement: str = ""
    spoken_guidance: bool = True          # the default of the audio toggle for a new citizen
    opening_hours: str = ""
    dinas_contact: str = ""
    assisted: bool = False                # the kecamatan operator guides this session (issue 12)


class SessionCommands:
    """What the UI may ask of the session engine. Every call returns at once: the work runs
    on the engine's own thread and its result arrives as a new `SessionView` through
    `subscribe`. Callbacks run on an engine thread; a Kivy view re-schedules them with
    `Clock.schedule_once` before touching widgets."""

    def subscribe(self, callback: Callable[[SessionView], None]) -> Callable[[], None]:
        """Returns the unsubscribe function; the current view is delivered at once."""
        raise TypeError("implemented by kiosk.session.SessionEngine")

    @property
    def view(self) -> SessionView:
        raise TypeError("implemented by kiosk.session.SessionEngine")

    def touch(self) -> None: ...                   # any citizen activity: restarts the idle timer
    def start(self) -> None: ...                   # attract -> identify
    # attract -> identify with the operator guiding (their PIN slot, checked by the UI's
    # kiosk.staff_access); the mark ends with the session
    def start_assisted(self, operator_slot: str) -> None: ...
    def set_language(self, language: str) -> None: ...   # "id" or "en", on any screen
    def submit_nik(self, nik: str) -> None: ...    # identify -> pin, or a message why not
    # A scanned WhatsApp QR: identify -> pin. `complete=False`: the scanner's line stopped
    # before the code's terminator (a serial scanner unplugged or a bad read mid-code).
    def submit_scan(self, text: str, complete: bool = True) -> None: ...
    def submit_pin(self, pin: str) -> None: ...    # pin -> documents, or a message
    def toggle_document(self, document_id: str) -> None: ...
    def review(self) -> None: ...                  # documents -> confirm
    def confirm(self) -> None: ...                 # confirm -> printing -> done
    def back(self) -> None: ...                    # one screen back where that is safe
    def cancel(self) -> None: ...                  # anywhere -> attract, everything dropped
    def finish(self) -> None: ...                  # done / error -> attract
