"""A small session engine for UI tests that need screens the real engine reaches only through
slow or rare paths (every screen in both languages for the screenshots). It keeps the
contract of `SessionCommands`: calls return at once, views are published from a worker
thread, the current view is delivered on subscribe. It records every command it receives.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from typing import Callable

from kiosk.session_model import (DocumentView, Message, PrinterProgress, Screen, SessionCommands, SessionView,
                                 StepView)

ATTRACT = SessionView(screen=Screen.ATTRACT, available_kinds=("KK", "KIA"),
                      opening_hours="; ".join([f"{d} 08:00-15:00" for d in ("mon", "tue", "wed", "thu", "fri")]
                                              + ["sat closed", "sun closed"]),
                      announcement="Layanan ADM buka setiap hari kerja.",
                      dinas_contact="Disdukcapil Kab. Contoh — 0800-1-234-567",
                      help_url="https://dukcapil.example.go.id/bantuan")


class RecordingEngine(SessionCommands):
    def __init__(self, initial: SessionView = ATTRACT):
        self._view = initial
        self._subscribers: list[Callable[[SessionView], None]] = []
        self._lock = threading.Lock()
        self._outbox: queue.Queue[SessionView | None] = queue.Queue()
        self.calls: list[tuple[str, tuple]] = []
        self._thread = threading.Thread(target=self._deliver, name="engine-double", daemon=True)
        self._thread.start()

    # -- the contract ----------------------------------------------------------------------
    def subscribe(self, callback):
        with self._lock:
            self._subscribers.append(callback)
            current = self._view
        callback(current)

        def unsubscribe():
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    @property
    def view(self) -> SessionView:
        return self._view

    def _record(name):
        def command(self, *args):
            self.calls.append((name, args))
        command.__name__ = name
        return command

    touch = _record("touch")
    start = _record("start")
    submit_nik = _record("submit_nik")
    submit_scan = _record("submit_scan")
    submit_pin = _record("submit_pin")
    toggle_document = _record("toggle_document")
    review = _record("review")
    confirm = _record("confirm")
    back = _record("back")
    cancel = _record("cancel")
    finish = _record("finish")
    del _record

    def set_language(self, language: str) -> None:
        self.calls.append(("set_language", (language,)))
        self.publish(dataclasses.replace(self._view, language=language))

    # -- test side -------------------------------------------------------------------------
    def publish(self, view: SessionView) -> None:
        """As the real engine does: from its own thread."""
        self._view = view
        self._outbox.put(view)

    def commands(self, name: str) -> list[tuple]:
        return [args for called, args in self.calls if called == name]

    def close(self) -> None:
        self._outbox.put(None)

    def _deliver(self) -> None:
        while True:
            view = self._outbox.get()
            if view is None:
                return
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                callback(view)


NIK_MASKED = "320101******0001"


def sample_views(preview_png: bytes | None, language: str = "id") -> dict[str, SessionView | tuple]:
    """One realistic view per screen (and the idle countdown), for screenshots and checks."""
    from kiosk.session_support import blur_preview
    blurred = blur_preview(preview_png) if preview_png else None
    # Titles as a dinas may send them (a KK number, a child's name): never shown on the glass.
    kk = DocumentView(id="d-kk", kind="KK", media="a4", title="Kartu Keluarga 3201010101010001",
                      pages=1, available=True, selected=True, preview_png=preview_png, preview_blurred_png=blurred)
    kia = DocumentView(id="d-kia", kind="KIA", media="card", title="Kartu Identitas Anak (Putri)",
                       pages=2, available=True, selected=True, preview_png=preview_png, preview_blurred_png=blurred)
    kia_out = dataclasses.replace(kia, available=False, selected=False, unavailable=Message(
        "document.unavailable.printer", {"kind": "KIA", "role": "card_printer", "fault": "ribbon_out"}))
    base = dataclasses.replace(ATTRACT, language=language)
    session = dataclasses.replace(base, holder_name_masked="SI** RA****", documents=(kk, kia))
    steps = (
        StepView("d-kk", "KK", "fetching", "done"), StepView("d-kk", "KK", "reserving", "done"),
        StepView("d-kk", "KK", "printing", "done"),
        StepView("d-kia", "KIA", "fetching", "done"), StepView("d-kia", "KIA", "printing_front", "done"),
        StepView("d-kia", "KIA", "printing_back", "active"), StepView("d-kia", "KIA", "ejecting", "pending"),
        StepView("d-kia", "KIA", "printing_front", "failed", Message("print.failed.ribbon_out")),
    )
    return {
        "attract": base,
        "identify": dataclasses.replace(base, screen=Screen.IDENTIFY,
                                        message=Message("nik.invalid.province")),
        "pin": dataclasses.replace(base, screen=Screen.PIN, nik_masked=NIK_MASKED, identified_by="nik",
                                   message=Message("pin.no_match", {"attempts_left": 3, "nik": NIK_MASKED})),
        "documents": dataclasses.replace(session, screen=Screen.DOCUMENTS, documents=(kk, kia_out)),
        "confirm": dataclasses.replace(session, screen=Screen.CONFIRM),
        "printing": dataclasses.replace(session, screen=Screen.PRINTING, busy=True, steps=steps, printers=(
            PrinterProgress("a4_printer", total=1, ended=1, failed=0),
            PrinterProgress("card_printer", total=2, ended=0, failed=0, current=steps[5]))),
        "done": dataclasses.replace(session, screen=Screen.DONE, outcomes={"d-kk": "printed", "d-kia": "printed"},
                                    receipt_printed=False),
        "error": dataclasses.replace(base, screen=Screen.ERROR, message=Message("error.network")),
        "error-expired": dataclasses.replace(base, screen=Screen.ERROR, message=Message("pin.expired")),
        "closed": dataclasses.replace(base, screen=Screen.OUT_OF_SERVICE,
                                      message=Message("out_of_service.closed", {"day": "tomorrow", "time": "08:00"})),
        "out_of_service": dataclasses.replace(base, screen=Screen.OUT_OF_SERVICE,
                                              message=Message("out_of_service.device",
                                                              {"role": "a4_printer", "fault": "paper_out"})),
        "idle": dataclasses.replace(base, screen=Screen.PIN, idle_warning=True,
                                    idle_deadline=time.monotonic() + 25),
    }
