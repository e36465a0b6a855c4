"""One whole citizen session without a screen, through the same SessionEngine the UI drives.

Used by `adm-kiosk session`, the demo's headless run, the service tests and the benchmark:
it issues the commands a citizen's taps would and waits for the published views.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .session_model import Message, Screen, SessionView


class ViewWaiter:
    """Collects an engine's published views; `wait_for` blocks until the latest matches."""

    def __init__(self, engine) -> None:
        self.views: list[SessionView] = []
        self._cond = threading.Condition()
        self.unsubscribe = engine.subscribe(self._add)

    def _add(self, view: SessionView) -> None:
        with self._cond:
            self.views.append(view)
            self._cond.notify_all()

    @property
    def last(self) -> SessionView:
        with self._cond:
            return self.views[-1]

    def wait_for(self, test: Callable[[SessionView], bool], timeout: float = 10.0) -> SessionView:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self.views) and test(self.views[-1]), timeout):
                last = self.views[-1] if self.views else None
                raise TimeoutError(f"the session did not get there in {timeout}s; last view: "
                                   f"{last.screen.value if last else None} "
                                   f"{last.message.key if last and last.message else ''}")
            return self.views[-1]

    def wait_screen(self, *screens: Screen, timeout: float = 10.0) -> SessionView:
        return self.wait_for(lambda v: v.screen in screens and not v.busy, timeout)


@dataclass(frozen=True)
class DocumentOutcome:
    id: str
    kind: str
    title: str
    result: str                    # printed | failed | skipped | unavailable | not_chosen
    reason: str | None = None


@dataclass
class HeadlessResult:
    screen: str                                   # done, error, pin, identify, out_of_service
    message: Message | None
    documents: list[DocumentOutcome] = field(default_factory=list)
    receipt_printed: bool = False

    @property
    def ok(self) -> bool:
        chosen = [d for d in self.documents if d.result != "not_chosen"]
        return self.screen == Screen.DONE and bool(chosen) and all(d.result == "printed" for d in chosen)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "screen": self.screen,
                "message": {"key": self.message.key, "params": dict(self.message.params)} if self.message else None,
                "receipt_printed": self.receipt_printed,
                "documents": [d.__dict__ for d in self.documents]}


def run_headless_session(engine, *, pin: str, nik: str | None = None, request_no: str | None = None,
                         kinds: Iterable[str] | None = None, timeout: float = 30.0,
                         print_timeout: float = 600.0, on_confirm: Callable[[], None] | None = None
                         ) -> HeadlessResult:
    """Identify, enter the PIN, keep only `kinds` (all available when None), print, finish.
    `on_confirm` runs just before the Print tap (the benchmark starts its clock there)."""
    waiter = ViewWaiter(engine)
    try:
        return _run(engine, waiter, pin, nik, request_no, set(kinds) if kinds else None, timeout,
                    print_timeout, on_confirm)
    finally:
        waiter.unsubscribe()


def _run(engine, waiter: ViewWaiter, pin, nik, request_no, kinds, timeout, print_timeout,
         on_confirm) -> HeadlessResult:
    view = waiter.wait_screen(Screen.ATTRACT, Screen.OUT_OF_SERVICE, timeout=timeout)
    if view.screen == Screen.OUT_OF_SERVICE:
        return HeadlessResult(view.screen.value, view.message)
    engine.start()
    waiter.wait_screen(Screen.IDENTIFY, timeout=timeout)
    before = len(waiter.views)
    if nik is not None:
        engine.submit_nik(nik)
    else:
        engine.submit_scan(f"ADM1:{request_no}")
    view = waiter.wait_for(lambda v: len(waiter.views) > before and not v.busy
                           and (v.screen != Screen.IDENTIFY or v.message is not None), timeout)
    if view.screen != Screen.PIN:
        return _abandon(engine, waiter, view, timeout)
    before = len(waiter.views)
    engine.submit_pin(pin)
    view = waiter.wait_for(lambda v: len(waiter.views) > before and not v.busy
                           and (v.screen != Screen.PIN or v.message is not None), timeout)
    if view.screen != Screen.DOCUMENTS:
        return _abandon(engine, waiter, view, timeout)

    skipped: list = []
    for document in view.documents:
        wanted = kinds is None or document.kind in kinds
        if document.selected and not wanted:
            engine.toggle_document(document.id)
        if not wanted:
            skipped.append(DocumentOutcome(document.id, document.kind, document.title, "not_chosen"))
        elif not document.available:
            skipped.append(DocumentOutcome(document.id, document.kind, document.title, "unavailable",
                                           document.unavailable.key if document.unavailable else None))
    before = len(waiter.views)
    engine.review()
    view = waiter.wait_for(lambda v: len(waiter.views) > before and v.screen == Screen.CONFIRM
                           or (v.screen == Screen.DOCUMENTS and v.message is not None), timeout)
    if view.screen != Screen.CONFIRM:
        result = _abandon(engine, waiter, view, timeout)
        result.documents = skipped
        return result
    if on_confirm is not None:
        on_confirm()
    engine.confirm()
    view = waiter.wait_screen(Screen.DONE, Screen.ERROR, Screen.ATTRACT, timeout=print_timeout)
    reasons = {s.document_id: s.message.key.rsplit(".", 1)[-1] for s in view.steps if s.message}
    printed = [DocumentOutcome(d.id, d.kind, d.title, view.outcomes[d.id], reasons.get(d.id))
               for d in view.documents if d.id in view.outcomes]
    result = HeadlessResult(view.screen.value, view.message, printed + skipped, view.receipt_printed)
    engine.finish()
    waiter.wait_screen(Screen.ATTRACT, Screen.OUT_OF_SERVICE, timeout=timeout)
    return result


def _abandon(engine, waiter: ViewWaiter, view: SessionView, timeout: float) -> HeadlessResult:
    result = HeadlessResult(view.screen.value, view.message)
    if view.screen == Screen.ERROR:
        engine.finish()
    else:
        engine.cancel()
    waiter.wait_screen(Screen.ATTRACT, Screen.OUT_OF_SERVICE, timeout=timeout)
    return result
