"""What the technician's screens ask of the running kiosk (issue 12): the way in by PIN
slot, every diagnostic figure, test prints, recording a refill. No Kivy here: the UI calls
these off its own thread (each may wait on a device or the network, each with a timeout)
and shows the answers.

    desk = StaffDesk(runtime)
    desk.access.may_ask(TECHNICIAN)          # kiosk/staff_access.py
    desk.report()                            # kiosk/diagnostics.py: devices, outbox, dinas, config
    desk.test_print(slot, "card_printer")    # "printed" | "failed: <fault>"; audited, a card counted
    desk.replenish(slot, "cards", 100)       # the kiosk's own count restarts there; audited
    desk.replenish(slot, "ribbon", None)     # a sensed supply: the refill is recorded; audited
    desk.clean_printer(slot, "card_printer") # "cleaned" | "refused: printing" | "failed: <fault>"; audited

Every action is audited as the PIN slot that got in; none takes or returns a citizen's data.
"""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from devices.status import DeviceError
from printer_drivers import registry
from printer_drivers.base import Cleaning, TestPrinting

from .commands.test_print import test_print_record
from .diagnostics import CLEANED, CLEANING_ACTION, config_figures, probe_dinas
from .staff_access import StaffAccess

COUNTERS_TIMEOUT_S = 5.0
TEST_PRINT_MARGIN_S = 30.0       # on top of the role's print deadline
CLEANING_MARGIN_S = 15.0         # on top of the driver's own cleaning timeout: a job queued before it


class StaffDesk:
    def __init__(self, runtime) -> None:
        self._runtime = runtime
        self.access = StaffAccess(
            runtime.journal, lambda: runtime.config_sync.settings,
            emergency_hash=runtime.cfg.kiosk.emergency_technician_pin_hash,
            in_session=lambda: runtime.engine is not None and runtime.engine.in_session)

    # --- reading --------------------------------------------------------------------------------
    def counters(self) -> dict[str, dict[str, int] | None]:
        found: dict[str, dict[str, int] | None] = {}
        for role in self._runtime.devices.roles:
            if registry.device(role).has(registry.COUNTERS):
                try:
                    found[role] = dict(self._runtime.devices.counters(role, COUNTERS_TIMEOUT_S))
                except (DeviceError, OSError, FutureTimeout):
                    found[role] = None
        return found

    def report(self) -> dict[str, Any]:
        """Every figure, the dinas probed now. Blocking: call it off the UI thread."""
        runtime = self._runtime
        return runtime.diagnostics.report(
            counters=self.counters(), last_faults=runtime.heartbeat.last_faults(),
            dinas=probe_dinas(runtime.client, runtime.cfg.dinas.url),
            config=config_figures(runtime.cfg.kiosk.state_dir, runtime.cfg.settings),
            kiosk_id=runtime.cfg.kiosk.id)

    def cleaning_roles(self) -> tuple[str, ...]:
        """The printers whose driver runs a cleaning cycle (the maintenance screen's button)."""
        return tuple(role for role in self._runtime.devices.roles
                     if registry.device(role).has(registry.CLEANING) and isinstance(self._runtime.devices.printer(role),
                                                                                     Cleaning))

    def supplies(self) -> dict[str, dict[str, Any]]:
        """Each supply of the configured printers with its record (kiosk/diagnostics.py)."""
        return self._runtime.diagnostics.supplies()

    def test_print_roles(self) -> tuple[str, ...]:
        return tuple(role for role in self._runtime.devices.roles if registry.device(role).has(registry.TEST_PRINT))

    def ready_to_serve(self) -> dict[str, str]:
        """The required devices not ready now, with why (empty: the kiosk may serve)."""
        return self._runtime.diagnostics.not_ready()

    def export_bundle(self, slot: str, folder) -> str:
        """The redacted diagnostics bundle written to `folder` (a USB stick); audited.
        Raises BundleRefused or OSError."""
        from .commands.maintenance import export_document
        from .diag_bundle import bundle_document, write_bundle

        runtime = self._runtime
        document = bundle_document(self.report(), export_document(runtime.cfg, runtime.journal))
        try:
            path = write_bundle(folder, document, kiosk_id=runtime.cfg.kiosk.id)
        except Exception as exc:
            self.access.record(slot, "export_bundle", {"outcome": f"failed: {type(exc).__name__}"})
            raise
        self.access.record(slot, "export_bundle", {"outcome": "written", "file": path.name})
        return path.name

    def republish(self) -> None:
        """Leaving maintenance: the engine hears every device again and gates on them now."""
        self._runtime.devices.republish()

    # --- acting ---------------------------------------------------------------------------------
    def test_print(self, slot: str, role: str) -> str:
        """A test page or card with no personal data, on the device's own thread; audited."""
        devices = self._runtime.devices
        printer = devices.printer(role)
        if not isinstance(printer, TestPrinting):
            return "failed: no test print"
        counts = registry.device(role).has(registry.COUNTERS)
        deadline = (registry.device(role).print_deadline_s or 60.0) + TEST_PRINT_MARGIN_S

        def run() -> tuple[str, Any, Any]:
            before = _counters(printer) if counts else None
            try:
                printer.print_test(self._runtime.cfg.kiosk.id)
                outcome = "printed"
            except DeviceError as exc:
                outcome = f"failed: {exc.fault.code.value}"
            except OSError as exc:
                outcome = f"failed: {type(exc).__name__}"
            return outcome, before, _counters(printer) if counts else None
        try:
            outcome, before, after = devices.submit(role, run).result(deadline)
        except FutureTimeout:
            outcome, before, after = "failed: timeout", None, None
        detail, count = test_print_record(role, outcome, before, after)
        self.access.record(slot, "test_print", detail, **(count or {}))
        return outcome

    def printing(self, role: str) -> bool:
        """A print is running on `role`, or about to: a citizen's session is open (maintenance
        cannot be entered then, but it may start after), or the journal has a job on it not
        yet final (a print, a between-sessions retry)."""
        engine = self._runtime.engine
        return (engine is not None and engine.in_session) or any(
            job.role == role for job in self._runtime.journal.open_jobs())

    def clean_printer(self, slot: str, role: str) -> str:
        """The printer's cleaning cycle, on its own thread, refused while a print is running.
        Once done, the kiosk's cleaning counter starts again (the audit row records the
        printer's card count: kiosk.diagnostics.cleaning_figures). Every outcome is audited."""
        printer = self._runtime.devices.printer(role)
        if not isinstance(printer, Cleaning):
            outcome, after = "failed: no cleaning", None
        elif self.printing(role):
            outcome, after = "refused: printing", None
        else:
            outcome, after = self._run_cleaning(printer, role, printer.cleaning_timeout_s)
        self.access.record(slot, CLEANING_ACTION, {"role": role, "outcome": outcome, **(after or {})})
        self._runtime.devices.republish()
        return outcome

    def _run_cleaning(self, printer, role: str, timeout: float) -> tuple[str, dict[str, int] | None]:
        def run():
            if self.printing(role):          # checked again on the device's thread, right before
                return "refused: printing", None
            try:
                return CLEANED, dict(printer.run_cleaning(timeout))
            except DeviceError as exc:
                return f"failed: {exc.fault.code.value}", None
            except OSError as exc:
                return f"failed: {type(exc).__name__}", None
        try:
            return self._runtime.devices.submit(role, run).result(timeout + CLEANING_MARGIN_S)
        except FutureTimeout:
            return "failed: timeout", None

    def replenish(self, slot: str, supply: str, loaded: int | None) -> dict[str, Any]:
        """A refill recorded under the PIN slot that got in (kiosk/supplies.py: a counted
        supply takes how many are in it now, a sensed one None). Raises ValueError."""
        stock = self._runtime.journal.replenish(supply, loaded, slot, {"slot": slot})
        self._runtime.devices.republish()         # gating and the receipt lane see the new count now
        return stock


def _counters(printer) -> dict[str, int] | None:
    try:
        return dict(printer.counters())
    except (DeviceError, OSError):
        return None
