"""The state folder's health: free space, writability, and a reserve for the last writes.

    guard = StorageGuard(state_dir, min_free_mb=64, reserve=journal.reserve)
    guard.check()            # at start and between sessions (kiosk/housekeeping.py)
    guard.status             # a DeviceStatus for the role "storage": ready, or hardware_error
                             # with storage_full / storage_unwritable
    guard.status_events      # its changes (the session engine and the heartbeat subscribe)

Below `kiosk.state_min_free_mb`, or when a probe write fails (a read-only remount after a
disk error, a full disk, an I/O error), the kiosk goes out of service with its own screen
(`out_of_service.storage`) and reports the fault in its heartbeat, until a check finds the
folder healthy again.

What if the folder fills up in the middle of a print? The journal keeps a `Reserve`: a
preallocated file (4 MiB) in the same folder, released the moment free space drops below its
size, just before a journal write, so the writes of the session in progress still fit and
land on disk. The guard recreates it once there is room again. A folder that cannot be
written at all (read-only) is handled by the journal's callers: see docs/CORE.md, "A full or
read-only state folder".
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path
from typing import Callable

from devices.events import Publisher
from devices.status import DeviceState, DeviceStatus, Fault, FaultCode

log = logging.getLogger(__name__)

ROLE = "storage"
MB = 1024 * 1024
RESERVE_FILE = "journal.reserve"
RESERVE_BYTES = 4 * MB
PROBE_FILE = ".write-probe"
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def free_bytes(directory: Path) -> int:
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


class Reserve:
    """A preallocated file that gives its space back when the folder runs out."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = Path(path)
        self.size = size
        self.on_spent: Callable[[], None] | None = None     # the runtime checks the folder at once
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self.path.exists()

    def ensure(self) -> bool:
        """Create the reserve if it is missing and there is room for it and as much again."""
        with self._lock:
            if self.path.exists():
                return True
            try:
                if free_bytes(self.path.parent) < 2 * self.size:
                    return False
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.posix_fallocate(fd, 0, self.size)     # real blocks, not a sparse file
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except FileExistsError:
                return True
            except OSError as exc:
                log.warning("storage: journal reserve not created: %s", exc.strerror or exc)
                try:
                    self.path.unlink(missing_ok=True)       # no half-made reserve
                except OSError:
                    pass
                return False
            return True

    def spend_if_low(self) -> bool:
        """Before a journal write: free the reserve if the folder has less than its size
        left. True when it was released now."""
        with self._lock:
            try:
                if not self.path.exists() or free_bytes(self.path.parent) >= self.size:
                    return False
                self.path.unlink()
            except OSError:
                return False
        log.warning("storage: the state folder is full; journal reserve released for the writes in progress")
        if self.on_spent is not None:
            self.on_spent()
        return True


class StorageGuard:
    def __init__(self, directory: str | Path, min_free_mb: int, reserve: Reserve | None = None,
                 journal_unavailable: str | None = None) -> None:
        self.directory = Path(directory)
        self._journal_unavailable = journal_unavailable     # the kiosk runs on a stand-in journal
        self.min_free_mb = min_free_mb
        self._reserve = reserve
        self.status_events: Publisher[DeviceStatus] = Publisher("storage.status")
        self._status = DeviceStatus(ROLE, DeviceState.UNKNOWN)
        self._lock = threading.Lock()

    @property
    def status(self) -> DeviceStatus:
        return self._status

    def check(self) -> DeviceStatus:
        """Look at the folder now; publishes when its state changed."""
        with self._lock:
            fault, free = self._problem()
            caps = {"path": str(self.directory), "min_free_mb": self.min_free_mb,
                    "free_mb": None if free is None else round(free / MB, 1),
                    "reserve": bool(self._reserve and self._reserve.held)}
            if fault is None:
                status = DeviceStatus(ROLE, DeviceState.READY, capabilities=caps)
            else:
                status = DeviceStatus(ROLE, DeviceState.HARDWARE_ERROR, faults=(fault,), capabilities=caps)
            changed = (status.state, status.faults) != (self._status.state, self._status.faults)
            self._status = status
        if changed:
            if fault is None:
                log.info("storage: %s is healthy again (%.1f MB free)", self.directory, (free or 0) / MB)
            else:
                log.error("storage: %s: %s", fault.code.value, fault.detail)
            self.status_events.publish(status)
        return status

    def _problem(self) -> tuple[Fault | None, int | None]:
        if self._journal_unavailable:           # stays until a restart opens the real journal
            return Fault(FaultCode.STORAGE_UNWRITABLE, f"the journal could not be opened "
                         f"({self._journal_unavailable}); restart the kiosk once {self.directory} "
                         "can be written"), _free_or_none(self.directory)
        try:
            self._probe()
        except OSError as exc:
            code = FaultCode.STORAGE_FULL if exc.errno in _FULL_ERRNOS else FaultCode.STORAGE_UNWRITABLE
            detail = f"{self.directory} cannot be written: {exc.strerror or exc}"
            return Fault(code, detail), _free_or_none(self.directory)
        free = free_bytes(self.directory)
        if free < self.min_free_mb * MB:
            return Fault(FaultCode.STORAGE_FULL, f"{free / MB:.1f} MB free in {self.directory}, below the "
                                                 f"{self.min_free_mb} MB kept free (kiosk.state_min_free_mb)"), free
        if self._reserve is not None:
            self._reserve.ensure()
        return None, free

    def _probe(self) -> None:
        """Write, sync and remove a small file: what the journal's next write will need."""
        path = self.directory / PROBE_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            try:
                path.unlink()
            except OSError:
                pass


def _free_or_none(directory: Path) -> int | None:
    try:
        return free_bytes(directory)
    except OSError:
        return None
