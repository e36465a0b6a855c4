"""The citizen session engine: the state machine behind every screen.

    attract -> identify -> pin -> documents -> confirm -> printing -> done
    error, cancel and the idle timeout are reachable from every state;
    out_of_service replaces attract while no one can be served.

Threads: every state change runs on one "session" thread, so the state needs no locks and
the order of commands is kept; dinas calls, downloads, previews and prints run on one
"session-io" thread and post their results back. Each result carries the token of the
session that asked for it: a late answer for a session already ended is dropped (and a
dinas session it opened is ended). Commands return at once; views go out through
`devices.events.Publisher`.

Citizen data (identity, holder name, documents, their bytes and previews) lives only in
`_Session`; ending a session for any reason drops that object and publishes a fresh attract
view. The PIN lives only in the arguments of the one call that sends it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from devices.events import Publisher

from .gating import available_kinds, document_refusal, out_of_service
from .orchestrator import Outcome
from .session_model import DocumentView, Message, PrinterProgress, Screen, SessionCommands, SessionView, StepView
from .session_printing import PrintHandlers, PrintRun, lanes_of
from .session_support import PinSlowdown
from .session_steps import CitizenSteps
from .session_threads import EngineThreads

log = logging.getLogger(__name__)

# At least 30 s of warning before a session ends (WCAG 2.2.1 asks 20 s; a first-time user
# reading the words, or hearing them, needs more). Settings keep the timeout >= 60 s.
IDLE_WARNING_S = 30.0
TICK_S = 0.5


@dataclass
class _Session:
    """Everything known about the citizen at the kiosk: dropped as a whole at the end."""

    token: object = field(default_factory=object)
    identity_kind: str = ""            # nik | request_no
    identity: str = ""
    nik_masked: str = ""
    session_id: str = ""
    holder_name_masked: str = ""
    documents: tuple = ()              # RemoteDocument from the dinas
    selected: set[str] = field(default_factory=set)
    pdfs: dict[str, bytes] = field(default_factory=dict)       # touched on the I/O thread only
    previews: dict[str, bytes] = field(default_factory=dict)
    blurred: dict[str, bytes] = field(default_factory=dict)    # the same previews, unreadable from afar
    broken: dict[str, str] = field(default_factory=dict)      # document id -> reason it can't print
    steps: dict[str, StepView] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    assisted_by: str | None = None     # the operator's PIN slot in an assisted session
    receipt_printed: bool = False
    receipts_printed: int = 0              # slips that came out
    stop_printing: threading.Event = field(default_factory=threading.Event)
    printing: threading.Event = field(default_factory=threading.Event)   # Print tapped: the prefetch stops


class SessionEngine(CitizenSteps, SessionCommands):
    def __init__(self, client, orchestrator, devices, settings, *, kiosk_id: str = "",
                 place: str = "", clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 idle_timeout_s: float | None = None, idle_warning_s: float = IDLE_WARNING_S,
                 slowdown: PinSlowdown | None = None, previews: bool = True,
                 tick_s: float | None = TICK_S, storage=None) -> None:
        self._client = client
        self._orchestrator = orchestrator
        self._devices = devices
        self._settings = settings
        self._pending_settings = None
        self._on_settings_applied: Callable[[], None] | None = None
        self._clock, self._wall_clock = clock, wall_clock
        self._idle_timeout_override = idle_timeout_s
        self._idle_warning_s = idle_warning_s
        # The slowdown follows settings.pin_slowdown_* unless a test hands one in.
        self._slowdown_from_settings = slowdown is None
        self._slowdown = slowdown if slowdown is not None else PinSlowdown(
            base_s=settings.pin_slowdown_base_s, cap_s=settings.pin_slowdown_cap_s, clock=clock)
        self._previews = previews
        self._print_run = PrintRun(orchestrator, wall_clock, kiosk_id, place)
        self._events: Publisher[SessionView] = Publisher("session.view")
        self._threads = EngineThreads(on_state_error=lambda: self._fail(Message("error.internal")))
        self._post, self._io = self._threads.post, self._threads.io
        # state: touched on the session thread only
        self._screen = Screen.ATTRACT
        self._language = settings.language
        self._message: Message | None = None
        self._message_number = 0
        self._busy = False
        self._session: _Session | None = None
        self._idle_deadline: float | None = None
        self._idle_warning = False
        self._storage = storage            # kiosk.storage.StorageGuard: the state folder's health
        self._unsubscribe_devices = devices.status_events.subscribe(
            lambda _status: self._post(self._refresh), replay=False)
        self._unsubscribe_storage = storage.status_events.subscribe(
            lambda _status: self._post(self._refresh), replay=False) if storage is not None else (lambda: None)
        self._post(self._refresh)
        if tick_s:
            self._threads.every(tick_s, self.tick)

    # --- the SessionCommands the UI calls ----------------------------------------------------
    def subscribe(self, callback: Callable[[SessionView], None]) -> Callable[[], None]:
        return self._events.subscribe(callback)

    @property
    def view(self) -> SessionView:
        return self._events.last or self._build_view()

    def touch(self) -> None: self._post(self._do_touch)
    def start(self) -> None: self._post(self._do_start)
    def start_assisted(self, operator_slot: str) -> None: self._post(self._do_start, operator_slot)
    def set_language(self, language: str) -> None: self._post(self._do_set_language, language)
    def submit_nik(self, nik: str) -> None: self._post(self._do_submit_nik, nik)
    def submit_scan(self, text: str, complete: bool = True) -> None: self._post(self._do_submit_scan, text, complete)
    def submit_pin(self, pin: str) -> None: self._post(self._do_submit_pin, pin)
    def toggle_document(self, document_id: str) -> None: self._post(self._do_toggle, document_id)
    def review(self) -> None: self._post(self._do_review)
    def confirm(self) -> None: self._post(self._do_confirm)
    def back(self) -> None: self._post(self._do_back)
    def cancel(self) -> None: self._post(self._do_cancel)
    def finish(self) -> None: self._post(self._do_finish)

    # --- for the runtime, the CLI and tests --------------------------------------------------
    @property
    def in_session(self) -> bool:
        return self._screen not in (Screen.ATTRACT, Screen.OUT_OF_SERVICE)

    def apply_settings(self, settings, on_applied: Callable[[], None] | None = None) -> None:
        """New settings (remote config) take effect between sessions, never during one.
        `on_applied` runs on the session thread once they are in force."""
        self._post(self._do_apply_settings, settings, on_applied)

    @property
    def settings(self):
        """The settings in force now (pending ones wait for the session to end)."""
        return self._settings

    def tick(self) -> None:
        """Check the idle timer and the opening hours now (the ticker thread does this)."""
        self._post(self._do_tick)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no command, dinas call or print is queued or running."""
        return self._threads.wait_idle(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._unsubscribe_devices()
        self._unsubscribe_storage()
        self._threads.shutdown(timeout)

    # --- state changes (session thread) ------------------------------------------------------
    def _do_touch(self) -> None:
        if self._idle_deadline is not None:
            self._arm_idle()
            self._publish()

    def _do_start(self, assisted_by: str | None = None) -> None:
        if self._screen != Screen.ATTRACT:
            return
        self._session = _Session(assisted_by=assisted_by)
        self._go(Screen.IDENTIFY)

    def _do_set_language(self, language: str) -> None:
        if language in ("id", "en"):
            self._language = language
            if self._idle_deadline is not None:
                self._arm_idle()
            self._publish()

    def _do_toggle(self, document_id: str) -> None:
        session = self._session
        if self._screen != Screen.DOCUMENTS or session is None:
            return
        document = next((d for d in session.documents if d.id == document_id), None)
        if document is None or self._document_refusal(session, document) is not None:
            return
        session.selected ^= {document_id}
        self._go(Screen.DOCUMENTS)

    def _do_review(self) -> None:
        if self._screen != Screen.DOCUMENTS or self._session is None:
            return
        if not self._chosen(self._session):
            self._go(Screen.DOCUMENTS, Message("documents.none_selected"))
            return
        self._go(Screen.CONFIRM)

    def _do_confirm(self) -> None:
        session = self._session
        if self._screen != Screen.CONFIRM or session is None:
            return
        chosen = self._chosen(session)
        if not chosen:
            self._go(Screen.DOCUMENTS, Message("documents.none_selected"))
            return
        session.steps = {d.id: StepView(d.id, d.kind, "fetching", "pending") for d in chosen}
        session.printing.set()
        self._go(Screen.PRINTING)
        self._io(self._print_run.run, session, chosen, self._settings, self._language,
                 PrintHandlers(self._post, self._on_step, self._on_outcome, self._on_prints_done))

    def _on_step(self, token: object, document_id: str, kind: str, step: str, state: str) -> None:
        session = self._session
        if session is None or session.token is not token:
            return
        session.steps[document_id] = StepView(document_id, kind, step, state)
        self._publish()

    def _on_outcome(self, token: object, outcome: Outcome) -> None:
        session = self._session
        if session is None or session.token is not token:
            return
        session.outcomes[outcome.document_id] = outcome.result
        last = session.steps.get(outcome.document_id)
        message = Message(f"print.failed.{outcome.reason}") if outcome.reason else None
        session.steps[outcome.document_id] = StepView(
            outcome.document_id, outcome.kind, last.step if last else "done",
            "done" if outcome.printed else "failed", message)
        self._publish()

    def _on_prints_done(self, token: object, receipt_printed: bool, receipts_printed: int = 0) -> None:
        session = self._session
        if session is None or session.token is not token:
            return
        session.receipt_printed, session.receipts_printed = receipt_printed, receipts_printed
        # Stopped too ("stop after this document"): what was on its way came out, and the
        # done screen says so and what was left for later; Selesai or the idle time-out ends it.
        failed = [r for r in session.outcomes.values() if r != "printed"]
        self._go(Screen.DONE, Message("done.some_failed" if failed else "done.all_printed"))

    def _do_back(self) -> None:
        session = self._session
        if self._screen == Screen.IDENTIFY:
            self._end_session()
        elif self._screen == Screen.PIN and session is not None and not self._busy:
            # The identify screen still holds the digits typed: the citizen corrects the NIK.
            session.identity_kind = session.identity = session.nik_masked = ""
            self._go(Screen.IDENTIFY)
        elif self._screen == Screen.CONFIRM:
            self._go(Screen.DOCUMENTS)

    def _do_cancel(self) -> None:
        if self._screen == Screen.PRINTING and self._session is not None:
            # A print on the way cannot be pulled back: finish it, skip the rest, then end.
            self._session.stop_printing.set()
            self._message = Message("printing.cancel_after_current")
            self._publish()
        elif self.in_session:
            self._end_session()

    def _do_finish(self) -> None:
        if self._screen in (Screen.DONE, Screen.ERROR):
            self._end_session()

    def _do_apply_settings(self, settings, on_applied: Callable[[], None] | None = None) -> None:
        if self.in_session:
            self._pending_settings, self._on_settings_applied = settings, on_applied
        else:
            self._take_settings(settings, on_applied)
            self._refresh()

    def _take_settings(self, settings, on_applied: Callable[[], None] | None = None) -> None:
        self._settings, self._pending_settings, self._on_settings_applied = settings, None, None
        if self._slowdown_from_settings:
            self._slowdown.tune(settings.pin_slowdown_base_s, settings.pin_slowdown_cap_s)
        if on_applied is not None:
            on_applied()

    def _do_tick(self) -> None:
        now = self._clock()
        if self._idle_deadline is not None:
            if now >= self._idle_deadline:
                log.info("session ended: idle timeout on %s", self._screen.value)
                self._end_session()
                return
            if not self._idle_warning and now >= self._idle_deadline - self._idle_warning_s:
                self._idle_warning = True
                self._publish()
                return
        if not self.in_session:
            self._refresh()

    def _refresh(self) -> None:
        """Re-gate after a device or clock change; publishes only when the view changed."""
        if not self.in_session:
            reason = self._out_of_service()
            self._screen = Screen.OUT_OF_SERVICE if reason else Screen.ATTRACT
            self._message = reason
        self._publish(only_if_changed=True)

    # --- helpers (session thread) -------------------------------------------------------------
    def _go(self, screen: Screen, message: Message | None = None) -> None:
        self._screen, self._message = screen, message
        self._message_number += message is not None
        if screen == Screen.PRINTING:
            self._idle_deadline, self._idle_warning = None, False
        else:
            self._arm_idle()
        self._publish()

    def _fail(self, message: Message) -> None:
        self._busy = False
        if self._session is None:
            self._session = _Session()
        self._go(Screen.ERROR, message)

    def _end_session(self) -> None:
        """Drop everything about the citizen, end the dinas session in the background,
        and show a fresh attract screen."""
        session, self._session = self._session, None
        if session is not None:
            session.stop_printing.set()
            session.previews.clear()
            session.blurred.clear()
            self._io(session.pdfs.clear)           # after any prefetch still running
            if session.session_id:
                self._io(self._end_remote, session.session_id)
        self._busy, self._idle_deadline, self._idle_warning = False, None, False
        self._language = self._settings.language
        if self._pending_settings is not None:
            self._take_settings(self._pending_settings, self._on_settings_applied)
        reason = self._out_of_service()
        self._screen = Screen.OUT_OF_SERVICE if reason else Screen.ATTRACT
        self._message = reason
        self._publish()

    def _end_remote(self, session_id: str) -> None:
        try:
            self._client.end_session(session_id)
        except Exception as exc:  # noqa: BLE001 - the dinas also expires sessions on its own
            log.info("ending the dinas session failed: %s", type(exc).__name__)

    def _arm_idle(self) -> None:
        timeout = self._idle_timeout_override or self._settings.idle_timeout_s
        self._idle_deadline, self._idle_warning = self._clock() + timeout, False

    def _out_of_service(self) -> Message | None:
        if self._storage is not None and self._storage.status.faults:
            return Message("out_of_service.storage", {"fault": self._storage.status.faults[0].code.value})
        return out_of_service(self._devices.statuses(), self._settings, self._wall_clock(),
                              self._devices.required_roles)

    def _document_refusal(self, session: _Session, document) -> Message | None:
        if document.status == "printed":
            return Message("document.unavailable.already_printed")
        if document.status != "ready":
            return Message("document.unavailable.reserved")
        if document.id in session.broken:
            return Message(f"document.unavailable.{session.broken[document.id]}")
        return document_refusal(document.kind, self._devices.statuses(), self._settings, self._wall_clock())

    def _chosen(self, session: _Session) -> list:
        return [d for d in session.documents
                if d.id in session.selected and self._document_refusal(session, d) is None]

    def _build_view(self) -> SessionView:
        settings, session = self._settings, self._session
        common = dict(screen=self._screen, language=self._language, busy=self._busy, message=self._message,
                      message_number=self._message_number,
                      idle_deadline=self._idle_deadline, idle_warning=self._idle_warning,
                      dinas_contact=settings.dinas_contact, help_url=settings.help_url)
        if session is None or not self.in_session:
            return SessionView(**common, announcement=settings.announcement_for(self._language),
                               spoken_guidance=settings.spoken_guidance,
                               opening_hours=_hours_text(settings),
                               available_kinds=available_kinds(self._devices.statuses(), settings,
                                                               self._wall_clock()))
        documents = []
        for d in session.documents:
            refusal = self._document_refusal(session, d) if self._screen != Screen.PRINTING else None
            documents.append(DocumentView(id=d.id, kind=d.kind, media=d.media, title=d.title, pages=d.pages,
                                          available=refusal is None, unavailable=refusal,
                                          selected=d.id in session.selected and refusal is None,
                                          preview_png=session.previews.get(d.id),
                                          preview_blurred_png=session.blurred.get(d.id)))
        return SessionView(**common, holder_name_masked=session.holder_name_masked, nik_masked=session.nik_masked,
                           identified_by=session.identity_kind, documents=tuple(documents),
                           steps=tuple(session.steps.values()), printers=_printer_lines(session),
                           outcomes=dict(session.outcomes),
                           receipt_printed=session.receipt_printed, receipts_printed=session.receipts_printed,
                           assisted=session.assisted_by is not None)

    def _publish(self, only_if_changed: bool = False) -> None:
        view = self._build_view()
        if only_if_changed and view == self._events.last:
            return
        self._events.publish(view)


def _printer_lines(session: _Session) -> tuple[PrinterProgress, ...]:
    """Per printer: how far its documents are, and the one on it now."""
    chosen = [d for d in session.documents if d.id in session.steps]
    lines = []
    for role, documents in lanes_of(chosen).items():
        steps = [session.steps[d.id] for d in documents]
        ended = [d for d in documents if d.id in session.outcomes]
        failed = sum(1 for d in ended if session.outcomes[d.id] != "printed")
        current = next((s for s, d in zip(steps, documents) if d.id not in session.outcomes and s.state == "active"),
                       None)
        lines.append(PrinterProgress(role, len(documents), len(ended), failed, current))
    return tuple(lines)


def _hours_text(settings) -> str:
    hours = settings.opening_hours.as_dict()
    return "; ".join(f"{day} {text}" for day, text in hours.items())

