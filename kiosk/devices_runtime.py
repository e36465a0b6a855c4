"""The kiosk's printers at run time: one driver and one `DeviceWorker` thread per role.

The board is what the session engine and the orchestrator see: current snapshots per role,
a `submit(role, fn)` that runs on that device's own thread, and status changes as events.
A role with no configured device simply is not on the board (gating treats it as absent).
A device that runs its own reader thread (the serial scanner, kiosk/scanner_runtime.py) is
attached with its status only: there is nothing to submit to it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any, Callable, Mapping

from devices.events import Publisher
from devices.status import DeviceStatus, absent
from devices.worker import DeviceWorker
from printer_drivers import registry
from printer_drivers.base import Printer

log = logging.getLogger(__name__)

COUNTER_TIMEOUT_S = 15.0


class DeviceBoard:
    def __init__(self, printers: Mapping[str, Printer], *, required: tuple[str, ...] = (),
                 poll_interval: float = 2.0) -> None:
        self._printers = dict(printers)
        self.required_roles = tuple(required)
        self.status_events: Publisher[DeviceStatus] = Publisher("devices.status")
        self._adjust: Callable[[DeviceStatus], DeviceStatus] = lambda status: status
        self._workers = {role: DeviceWorker(role, printer.status, poll_interval)
                         for role, printer in self._printers.items()}
        for worker in self._workers.values():
            worker.status_events.subscribe(self._publish, replay=False)
        self._attached: dict[str, Callable[[], DeviceStatus]] = {}

    @classmethod
    def from_config(cls, cfg, poll_interval: float = 2.0) -> DeviceBoard:
        from printer_drivers.factory import open_printer

        printers = {role: open_printer(role, device.url, **device.options)
                    for role, device in cfg.devices.items() if role in registry.printer_roles()}
        required = tuple(role for role, device in cfg.devices.items() if device.required)
        return cls(printers, required=required, poll_interval=poll_interval)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self._workers)

    def start(self) -> DeviceBoard:
        for worker in self._workers.values():
            worker.start()
        return self

    def stop(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        for role, printer in self._printers.items():
            try:
                printer.close()
            except Exception:  # noqa: BLE001 - closing must go on for the others
                log.exception("%s: close failed", role)

    def refresh(self, timeout: float = 10.0) -> dict[str, DeviceStatus]:
        """Poll every device now and wait for the snapshots (start-up, tests)."""
        futures = {role: worker.refresh() for role, worker in self._workers.items()}
        result = {}
        for role, future in futures.items():
            try:
                result[role] = future.result(timeout)
            except Exception as exc:  # noqa: BLE001 - a device that does not answer is absent
                result[role] = absent(role, f"refresh failed: {type(exc).__name__}")
        return result

    def attach(self, role: str, status: Callable[[], DeviceStatus], events: Publisher[DeviceStatus]) -> None:
        """A device with a reader thread of its own (the serial scanner): its snapshots on the board."""
        self._attached[role] = status
        events.subscribe(self._publish, replay=False)

    def _publish(self, status: DeviceStatus) -> None:
        self.status_events.publish(self._adjust(status))

    def count_supplies(self, adjust: Callable[[DeviceStatus], DeviceStatus]) -> None:
        """What the kiosk counts itself (kiosk/supplies.py) on every snapshot handed out."""
        self._adjust = adjust

    def republish(self) -> None:
        """Publish every snapshot again: what the kiosk counts itself changed (a refill)."""
        for status in self.statuses().values():
            self.status_events.publish(status)

    def statuses(self) -> dict[str, DeviceStatus]:
        snapshots = {role: worker.status for role, worker in self._workers.items()}
        snapshots.update({role: status() for role, status in self._attached.items()})
        return {role: self._adjust(status) for role, status in snapshots.items()}

    def printer(self, role: str) -> Printer:
        return self._printers[role]

    def submit(self, role: str, job: Callable[[], Any]) -> Future:
        worker = self._workers.get(role)
        if worker is None:
            future: Future = Future()
            future.set_exception(RuntimeError(f"no {role} configured"))
            return future
        return worker.submit(job)

    def counters(self, role: str, timeout: float = COUNTER_TIMEOUT_S) -> Mapping[str, int]:
        """The printer's counters, read on its own thread; raises what the read raised, or
        concurrent.futures.TimeoutError when it has not answered within `timeout`."""
        return self.submit(role, lambda: self._printers[role].counters()).result(timeout)
