"""One worker thread per device: it owns all of that device's I/O.

After Home Assistant's update coordinator: the worker polls the driver's status when idle
and publishes a snapshot whenever it changes; jobs (a print, a test page) are submitted to
the same thread, so a status poll can never interleave with a print on the wire. Callers get
a `Future` and never block on the device themselves.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable, TypeVar

from .events import Publisher
from .status import DeviceError, DeviceState, DeviceStatus, FaultCode, absent

R = TypeVar("R")
log = logging.getLogger(__name__)


class DeviceWorker:
    def __init__(self, device: str, read_status: Callable[[], DeviceStatus],
                 poll_interval: float = 2.0) -> None:
        self.device = device
        self._read_status = read_status
        self._poll_interval = poll_interval
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future] | None] = queue.Queue()
        self.status_events: Publisher[DeviceStatus] = Publisher(f"{device}.status")
        self._thread = threading.Thread(target=self._run, name=f"device-{device}", daemon=True)
        self._stopping = threading.Event()

    @property
    def status(self) -> DeviceStatus:
        return self.status_events.last or absent(self.device, "not polled yet")

    def start(self) -> DeviceWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._jobs.put(None)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def submit(self, job: Callable[[], R]) -> Future[R]:
        """Run `job` on the device thread; its result or exception lands in the Future."""
        future: Future[R] = Future()
        if self._stopping.is_set():
            future.set_exception(RuntimeError(f"{self.device} worker is stopped"))
        else:
            self._jobs.put((job, future))
        return future

    def refresh(self) -> Future[DeviceStatus]:
        """Poll now (after any queued job) and publish; the Future holds the snapshot."""
        return self.submit(self._poll)

    def _poll(self) -> DeviceStatus:
        try:
            snapshot = self._read_status()
        except DeviceError as exc:
            snapshot = absent(self.device, str(exc)) if exc.code == FaultCode.DISCONNECTED \
                else self.status.evolve(state=DeviceState.UNKNOWN, faults=(exc.fault,))
        except Exception as exc:  # noqa: BLE001 - a driver bug must not kill the worker
            log.exception("%s: status poll failed", self.device)
            snapshot = absent(self.device, f"poll failed: {type(exc).__name__}")
        if not snapshot.same_as(self.status_events.last):
            self.status_events.publish(snapshot)
        return snapshot

    def _run(self) -> None:
        self._poll()
        while not self._stopping.is_set():
            try:
                item = self._jobs.get(timeout=self._poll_interval)
            except queue.Empty:
                self._poll()
                continue
            if item is None:
                break
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)
            refreshed = job == self._poll
            # Drop the job before waiting for the next: a print job holds a citizen's document
            # (a KIA's rasters, a KK) and must not outlive its print on this thread.
            del item, job, future
            if not refreshed:       # a refresh has just polled
                self._poll()        # a job changes supplies and state: publish them straight away
