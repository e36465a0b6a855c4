"""The citizen's steps from who they are to their documents on the screen: the NIK or the
scanned request number, the PIN and the dinas session it opens (or the refusal, said as
what happened and what to do next), then the prefetch of each document while the citizen
looks. A part of `kiosk.session.SessionEngine`, kept apart to be read in one sitting: the
`_do_*` and `_on_*` methods run on the engine's session thread and use its state, the
others on its I/O thread, exactly as the rest of the engine does."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from . import dinas_errors as de
from .nik import InvalidNik, check_nik
from .session_model import Message, Screen
from .session_support import blur_preview, render_preview

if TYPE_CHECKING:
    from .session import _Session       # the engine's state for the citizen at the kiosk

log = logging.getLogger("kiosk.session")

# Scan rejections (devices.scanner reason codes) that are a bad read rather than a wrong code.
UNREADABLE_SCANS = ("incomplete", "garbage", "empty")


class CitizenSteps:
    """Identification and the documents' arrival, for SessionEngine (see the module)."""

    def _do_submit_nik(self, nik: str) -> None:
        if self._screen != Screen.IDENTIFY or self._session is None:
            return
        try:
            info = check_nik(nik, today=self._wall_clock().date())
        except InvalidNik as exc:
            self._go(Screen.IDENTIFY, Message(exc.message_key))
            return
        self._session.identity_kind, self._session.identity = "nik", info.nik
        self._session.nik_masked = info.masked
        self._go(Screen.PIN)

    def _do_submit_scan(self, text: str, complete: bool = True) -> None:
        from devices.scanner import ScanEvent, ScanRejected, parse_scan

        if self._screen == Screen.ATTRACT:
            self._do_start()
        if self._screen != Screen.IDENTIFY or self._session is None:
            return
        try:
            request_no = parse_scan(ScanEvent(text, "session", complete))
        except ScanRejected as rejected:
            # A bad read is the scanner's doing: say "scan again", not "this is not our code".
            unreadable = rejected.reason_code in UNREADABLE_SCANS
            self._go(Screen.IDENTIFY, Message("scan.unreadable" if unreadable else "scan.invalid"))
            return
        self._session.identity_kind, self._session.identity = "request_no", request_no
        self._go(Screen.PIN)

    def _do_submit_pin(self, pin: str) -> None:
        session = self._session
        if self._screen != Screen.PIN or session is None or self._busy:
            return
        if not (isinstance(pin, str) and len(pin) == 6 and pin.isascii() and pin.isdigit()):
            self._go(Screen.PIN, Message("pin.invalid_format"))
            return
        wait = self._slowdown.wait_s(session.identity)
        if wait:
            self._go(Screen.PIN, Message("pin.wait", {"seconds": wait}))
            return
        self._busy = True
        self._go(Screen.PIN)
        self._io(self._open_session, session.token, session.identity_kind, session.identity, pin)

    def _open_session(self, token: object, kind: str, identity: str, pin: str) -> None:
        """I/O thread. The PIN is in this frame only and goes when it returns."""
        try:
            result: Any = self._client.open_session(pin=pin, **{kind: identity})
        except Exception as exc:  # noqa: BLE001 - every failure is shown to the citizen
            result = exc
        del pin
        self._post(self._on_session_opened, token, result)

    def _on_session_opened(self, token: object, result: Any) -> None:
        session = self._session
        if session is None or session.token is not token:
            if not isinstance(result, BaseException):
                self._io(self._end_remote, result.session_id)
            return
        self._busy = False
        if isinstance(result, BaseException):
            self._session_refused(session, result)
            return
        self._slowdown.succeeded(session.identity)
        session.session_id = result.session_id
        session.holder_name_masked = result.holder_name_masked
        session.nik_masked = result.nik_masked or session.nik_masked
        session.documents = tuple(result.documents)
        session.selected = {d.id for d in session.documents if self._document_refusal(session, d) is None}
        self._go(Screen.DOCUMENTS)
        wanted = [d for d in session.documents if d.status == "ready"]
        if wanted:
            self._io(self._prefetch, session, wanted)

    def _session_refused(self, session: _Session, exc: BaseException) -> None:
        if isinstance(exc, de.InvalidCredentials):
            self._slowdown.failed(session.identity)
            # The dinas cannot say which of the two was wrong: show the NIK (masked) that was
            # typed, so a mistyped NIK is seen and corrected instead of retyping a right PIN.
            by_nik = session.identity_kind == "nik"
            params = {"attempts_left": exc.attempts_left, "nik": session.nik_masked}
            if exc.attempts_left == 0:
                # That wrong try began the dinas's lock, for this NIK only: "0 tries left" over
                # a PIN pad would only invite a refused try. A mistyped NIK can still be fixed.
                self._fail(Message("pin.no_tries_left" if by_nik else "pin.no_tries_left_qr", params))
            else:
                self._go(Screen.PIN, Message("pin.no_match" if by_nik else "pin.no_match_qr", params))
        elif isinstance(exc, de.Locked):
            self._slowdown.failed(session.identity)
            self._fail(Message("pin.locked", {"minutes": max(1, math.ceil(exc.retry_after / 60))}))
        elif isinstance(exc, de.PinBlocked):
            self._fail(Message("pin.blocked"))
        elif isinstance(exc, (de.PinExpired, de.PinUsed)):
            self._fail(Message(f"pin.{exc.code.split('_', 1)[1]}"))     # pin.expired, pin.used
        elif isinstance(exc, de.RateLimited):
            self._fail(Message("error.busy", {"seconds": exc.retry_after}))
        elif isinstance(exc, de.DinasUnavailable):
            self._fail(Message("error.network"))
        elif isinstance(exc, de.InvalidRequest):
            self._fail(Message("error.invalid_request"))
        elif isinstance(exc, de.DinasError):
            log.warning("dinas refused the session: %s", exc.code)
            self._fail(Message("error.dinas", {"code": exc.code}))
        else:
            log.error("opening a session failed: %s", type(exc).__name__)
            self._fail(Message("error.internal"))

    def _prefetch(self, session: _Session, documents: list) -> None:
        """I/O thread: download, verify and preview each document while the citizen looks.
        The bytes stay in `session.pdfs`, which only this thread touches. Once Print is
        tapped the print run, queued behind this on the same thread, needs no more previews:
        the prefetch ends, and each print lane downloads what is left, all at the same time
        (a citizen who taps Print at once does not wait for every preview first)."""
        token, session_id = session.token, session.session_id
        for document in documents:
            if session.stop_printing.is_set() or session.printing.is_set():
                return
            try:
                pdf = self._orchestrator.fetch(session_id, document)
            except de.DocumentIntegrityError:
                self._post(self._on_fetched, token, document.id, None, "integrity")
                continue
            except de.DinasError as exc:
                # Not fatal: the print fetches again. Say nothing yet.
                log.info("prefetch of a %s failed: %s", document.kind, exc.code)
                continue
            if session.printing.is_set():
                session.pdfs[document.id] = pdf         # verified; the print renders it
                return
            preview = blurred = None
            if self._previews:
                try:
                    preview = render_preview(pdf)
                    blurred = blur_preview(preview)
                except Exception as exc:  # noqa: BLE001 - verified but unreadable: do not offer it
                    log.warning("preview of a %s failed: %s", document.kind, type(exc).__name__)
                    self._post(self._on_fetched, token, document.id, None, "unreadable")
                    continue
            session.pdfs[document.id] = pdf
            self._post(self._on_fetched, token, document.id, preview, None, blurred)

    def _on_fetched(self, token: object, document_id: str, preview: bytes | None, broken: str | None,
                    blurred: bytes | None = None) -> None:
        session = self._session
        if session is None or session.token is not token:
            return
        if broken:
            session.broken[document_id] = broken
            session.selected.discard(document_id)
        if preview is not None:
            session.previews[document_id] = preview
        if blurred is not None:
            session.blurred[document_id] = blurred
        self._publish()
