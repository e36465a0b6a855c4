"""The technician at the screen (issue 12): the hidden gesture, the PIN, the maintenance
screens, and the way back to service. The kiosk's side is kiosk.staff_desk.StaffDesk; every
call to it (a PIN's scrypt, a device, the dinas) runs on this mode's own worker thread and
its answer comes back to the UI thread through the Kivy clock: the UI never waits.

While the technician is in, the engine's views are kept but not shown (the attract screen
stays behind the maintenance screens), and no citizen can start. Leaving shows the engine's
screen again after the devices are published anew: the attract screen when every required
device is ready, out of service with the reason otherwise. Without a desk (a UI test over an
engine double) the gesture does nothing.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp

from kiosk.diag_bundle import MEDIA_ROOTS, BundleRefused, RemovableDrives
from kiosk.staff_access import ANY, OPERATOR, TECHNICIAN, Outcome

from .i18n import _
from .screens.staff_cleaning import outcome_text
from .staff_gesture import CornerGesture
from .supplies_flow import SuppliesFlow

log = logging.getLogger(__name__)

CORNER_PX = dp(220)          # the header's left corner: the kiosk's name, which does nothing
USB_WAIT_S = 120.0           # how long the export waits for a stick to be plugged in
USB_POLL_S = 0.5


class StaffMode:
    def __init__(self, app, desk, clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.desk = app, desk
        self.active = False
        self.slot: str | None = None
        self.gesture = CornerGesture()
        self._clock = clock
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staff") if desk else None
        self.media_roots = MEDIA_ROOTS        # where the automounter puts USB sticks
        self._usb_deadline: float | None = None
        self.supplies = SuppliesFlow(self)     # the supplies screen's refills (ui/supplies_flow.py)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)

    # --- the gesture ---------------------------------------------------------------------------
    def in_corner(self, touch) -> bool:
        header = self.app.root.ids.header
        return touch.x <= CORNER_PX and touch.y >= Window.height - header.height

    def touch_down(self, touch) -> None:
        if self.desk is not None and not self.active:
            self.gesture.down(self.in_corner(touch), self._clock())

    def touch_up(self, touch) -> None:
        if self.desk is not None and not self.active and self.gesture.up(self.in_corner(touch), self._clock()):
            self.open()

    # --- in and out ----------------------------------------------------------------------------
    def _run(self, job: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """`job` on the worker thread, `then(result)` on the UI thread."""
        def done(future) -> None:
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - shown to the technician, logged, never fatal
                log.exception("maintenance action failed")
                result = exc
            Clock.schedule_once(lambda _dt: then(result), 0)
        self._worker.submit(job).add_done_callback(done)

    def open(self) -> None:
        refusal = self.desk.access.may_ask(ANY)
        if refusal is not None and refusal.outcome is Outcome.IN_SESSION:
            return                  # a citizen is being served: nothing shows, nothing is said
        self.active = True
        self.show_pin(refusal)

    def show_pin(self, refusal=None) -> None:
        screen = self.app.staff_screens["staff_pin"]
        screen.purpose, screen.digits, screen.checking = "pin", "", False
        screen.keypad_open = refusal is None
        screen.message = self.refusal_text(refusal) if refusal is not None else ""
        screen.message_is_error = True
        self._show("staff_pin")

    def refusal_text(self, answer) -> str:
        lang = self.app.lang
        if answer.outcome is Outcome.NONE_CONFIGURED:
            return _("staff.pin.none", lang)
        if answer.outcome is Outcome.LOCKED:
            return _("staff.pin.locked", lang, minutes=max(1, round(answer.locked_for_s / 60)))
        if answer.outcome is Outcome.WAIT:
            return _("staff.pin.wait", lang, seconds=answer.wait_s)
        if answer.outcome is Outcome.WRONG:
            return _("staff.pin.wrong", lang, seconds=answer.wait_s) if answer.wait_s else _("staff.pin.wrong_now", lang)
        return _("staff.pin.in_session", lang)

    def submit_pin(self, pin: str) -> None:
        screen = self.app.staff_screens["staff_pin"]
        screen.checking = True
        self._run(lambda: self.desk.access.try_pin(pin, ANY), self._pin_checked)

    def _pin_checked(self, answer) -> None:
        screen = self.app.staff_screens["staff_pin"]
        screen.checking = False
        if isinstance(answer, Exception):
            screen.message = _("staff.failed", self.app.lang)
            return
        if answer.granted and answer.role == OPERATOR:
            self._assist(answer.slot)
            return
        if answer.granted:
            self.slot = answer.slot
            self.show_maintenance()
            self.refresh()
            return
        screen.message = self.refusal_text(answer)
        screen.keypad_open = answer.outcome is not Outcome.LOCKED and answer.outcome is not Outcome.NONE_CONFIGURED

    def _assist(self, operator_slot: str) -> None:
        """The operator's PIN: a citizen's session guided by them, marked as assisted; the
        engine shows its screens again (with the operator's explanations) from identify on."""
        self.active, self.slot = False, None
        self.gesture.reset()
        self.app.commands.start_assisted(operator_slot)

    def show_maintenance(self) -> None:
        screen = self.app.staff_screens["maintenance"]
        screen.test_roles = list(self.desk.test_print_roles())
        screen.clean_roles = list(self.desk.cleaning_roles())
        self._show("maintenance")

    def leave(self) -> None:
        """Back to service: the engine's own screen, which says out of service (and why)
        when a required device is not ready."""
        if self.slot is not None:
            not_ready = self.desk.ready_to_serve()
            self.desk.access.record(self.slot, "staff_left", {"not_ready": not_ready})
        self.active, self.slot = False, None
        self.gesture.reset()
        self.app.staff_screens["maintenance"].report = {}
        self.desk.republish()
        if self.app.view is not None:
            self.app.apply_view(self.app.view)

    def _show(self, name: str) -> None:
        self.app.root.ids.screens.current = name

    # --- maintenance actions -------------------------------------------------------------------
    def refresh(self) -> None:
        screen = self.app.staff_screens["maintenance"]
        screen.loading = True
        self._run(self.desk.report, self._reported)

    def _reported(self, report) -> None:
        screen = self.app.staff_screens["maintenance"]
        screen.loading = False
        if isinstance(report, Exception):
            screen.result, screen.result_is_error = _("staff.failed", self.app.lang), True
            return
        screen.report = report
        cleaning = self.app.staff_screens["staff_cleaning"]
        cleaning.figures = report["devices"].get(cleaning.role, {}).get("cleaning") or {}

    def test_print(self, role: str) -> None:
        screen = self.app.staff_screens["maintenance"]
        screen.loading, slot = True, self.slot
        self._run(lambda: self.desk.test_print(slot, role), lambda outcome: self._printed(role, outcome))

    def _printed(self, role: str, outcome) -> None:
        screen = self.app.staff_screens["maintenance"]
        screen.loading = False
        lang = self.app.lang
        printed = outcome == "printed"
        screen.result = _("staff.test.printed" if printed else "staff.test.failed", lang,
                          device=_("role." + role, lang), why=str(outcome).removeprefix("failed: "))
        screen.result_is_error = not printed
        self.refresh()

    def show_cleaning(self, role: str) -> None:
        """The cleaning screen: what to do first, the counter, the button that starts it."""
        screen = self.app.staff_screens["staff_cleaning"]
        report = self.app.staff_screens["maintenance"].report
        screen.role, screen.result, screen.result_is_error = role, "", False
        screen.figures = (report.get("devices", {}).get(role) or {}).get("cleaning") or {}
        self._show("staff_cleaning")

    def run_cleaning(self, role: str) -> None:
        screen = self.app.staff_screens["staff_cleaning"]
        if screen.running:
            return
        screen.running, screen.result, slot = True, "", self.slot
        self._run(lambda: self.desk.clean_printer(slot, role), self._cleaned)

    def _cleaned(self, outcome) -> None:
        screen = self.app.staff_screens["staff_cleaning"]
        screen.running = False
        lang = self.app.lang
        if isinstance(outcome, Exception):
            screen.result, screen.result_is_error = _("staff.failed", lang), True
        else:
            screen.result, screen.result_is_error = outcome_text(outcome, lang), outcome != "cleaned"
        self.refresh()                     # the counter, from the one diagnostics module

    # --- the diagnostics bundle to a USB stick -------------------------------------------------
    def export_usb(self) -> None:
        """Wait for a stick mounted from now on, then write the redacted bundle to it."""
        screen = self.app.staff_screens["maintenance"]
        screen.result, screen.result_is_error = _("staff.usb.insert", self.app.lang), False
        screen.exporting = True
        self._usb_deadline = self._clock() + USB_WAIT_S
        self._run(lambda: RemovableDrives(self.media_roots), self._watch_for_drive)

    def _watch_for_drive(self, drives) -> None:
        screen = self.app.staff_screens["maintenance"]
        if isinstance(drives, Exception) or not self.active:
            screen.exporting = False
            return
        if self._clock() > self._usb_deadline:
            screen.exporting = False
            screen.result, screen.result_is_error = _("staff.usb.none", self.app.lang), True
            return

        def found(drive) -> None:
            if isinstance(drive, Exception) or drive is None:
                Clock.schedule_once(lambda _dt: self._watch_for_drive(drives), USB_POLL_S)
                return
            screen.result, screen.loading = "", True
            slot = self.slot
            self._run(lambda: self.desk.export_bundle(slot, drive), self._exported)
        self._run(drives.new_drive, found)

    def _exported(self, written) -> None:
        screen = self.app.staff_screens["maintenance"]
        screen.loading = screen.exporting = False
        lang = self.app.lang
        if isinstance(written, BundleRefused):
            screen.result, screen.result_is_error = _("staff.usb.refused", lang), True
        elif isinstance(written, Exception):
            screen.result, screen.result_is_error = _("staff.usb.failed", lang, why=type(written).__name__), True
        else:
            screen.result, screen.result_is_error = _("staff.usb.written", lang, file=written), False

    def restart_app(self) -> None:
        """The service manager starts the kiosk again (systemd Restart=always)."""
        self.desk.access.record(self.slot or TECHNICIAN, "restart_app", {})
        self.active = False
        self.app.stop()
