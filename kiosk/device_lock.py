"""One owner of the kiosk's devices at a time: an exclusive `flock` on `<state_dir>/kiosk.lock`.

The kiosk service (`adm-kiosk run`), `config sync --once`, `session`, `diag`, `maintenance
status` and `reject-card`, and `test-print` with a configuration each open the card printer's
serial or USB link, the A4 printer's CUPS queue, the receipt printer and the scanner. Two
processes on one serial port interleave their commands and read each other's answers, so
each of them takes this lock before it opens anything, and holds it for as long as it owns
the devices. A second owner is refused at once, before any device, journal or configuration
is touched, with the holder's pid and what to do (`DevicesInUse`, exit `EXIT_DEVICES_IN_USE`).

The kernel drops an `flock` when its process ends however it ends (SIGKILL, a power cut), so
there is never a stale lock to clean by hand: the file's content (the holder's pid, what it
is, since when) only says who holds it, it is not the lock. Commands that open no device
(`config show`, `devices`, `maintenance audit`, `replenish`, …) take no lock and keep working
while the kiosk runs.

This is not `remote-config.lock` (kiosk/remote_config/store.py), which serialises the handling
of one envelope by whoever handles it, and blocks.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "kiosk.lock"
SERVICE = "adm-kiosk run"        # what the systemd unit starts (systemd/adm-kiosk.service)
SERVICE_UNIT = "adm-kiosk"
# sysexits' EX_TEMPFAIL: nothing was done, try again once the holder is gone. Distinct from
# every command's own 0-3.
EXIT_DEVICES_IN_USE = 75
EXIT_CANNOT_LOCK = 2             # the state folder cannot hold the lock: as a configuration that does not load


class DeviceLockError(Exception):
    exit_status = EXIT_CANNOT_LOCK


@dataclass(frozen=True)
class Holder:
    pid: int | None
    owner: str | None
    since: str | None


class DevicesInUse(DeviceLockError):
    """Another process owns the kiosk's devices; nothing was opened or changed."""

    exit_status = EXIT_DEVICES_IN_USE

    def __init__(self, path: Path, holder: Holder) -> None:
        self.path = path
        self.holder = holder
        who = f"pid {holder.pid}" if holder.pid is not None else "another process (its pid is not noted)"
        what = f" ({holder.owner}, since {holder.since})" if holder.owner else ""
        if holder.owner == SERVICE:
            todo = (f"hentikan layanan kiosk dulu / stop the kiosk service first: "
                    f"sudo systemctl stop {SERVICE_UNIT}, then try again")
        else:
            todo = "tunggu sampai selesai / wait for it to finish, then try again"
        super().__init__(f"perangkat kiosk sedang dipakai / the kiosk's devices are in use by {who}{what}: "
                         f"{todo}. Nothing was changed ({path}).")


class CannotLock(DeviceLockError):
    """The lock file cannot be opened (the state folder missing, not ours, read-only)."""


class DeviceLock:
    """`DeviceLock(state_dir, "adm-kiosk config sync").acquire()` … `.release()`, or a `with`
    block. The owner is the command line's words, shown to whoever is refused."""

    def __init__(self, state_dir: str | Path, owner: str) -> None:
        self.path = Path(state_dir) / LOCK_FILE
        self.owner = owner
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DeviceLock:
        """Raise DevicesInUse when another process holds it, CannotLock when the state folder
        cannot hold it. The service is the exception to the second: it starts anyway,
        unguarded and out of service (its screen and heartbeat say why), as it does when its
        journal cannot be opened."""
        try:
            fd = self._open()
        except OSError as exc:
            if self.owner == SERVICE:
                log.error("the device lock %s cannot be opened, running unguarded: %s", self.path, exc)
                return self
            raise CannotLock(f"{self.path} cannot be opened ({type(exc).__name__}: {exc.strerror or exc}): "
                             f"run as the kiosk's user or root") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = read_holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise DevicesInUse(self.path, holder) from None
            raise CannotLock(f"{self.path} cannot be locked: {exc}") from exc
        self._fd = fd
        self._write_holder()
        return self

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise
            # flock needs no write access: an existing file still locks on a read-only folder.
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        if os.geteuid() == 0:
            # root (a technician's sudo) must not leave a file the service's user cannot open
            folder = os.stat(self.path.parent)
            os.fchown(fd, folder.st_uid, folder.st_gid)
        return fd

    def _write_holder(self) -> None:
        since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = json.dumps({"pid": os.getpid(), "owner": self.owner, "since": since}) + "\n"
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, record.encode(), 0)
        except OSError as exc:               # opened read-only: the lock holds, the note is old
            log.warning("cannot note the device lock's holder in %s: %s", self.path, exc)

    def release(self) -> None:
        """Safe to call twice, or when never acquired."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)                         # closing the last descriptor drops the flock

    def __enter__(self) -> DeviceLock:
        return self.acquire()

    def __exit__(self, *_exc) -> None:
        self.release()


def read_holder(fd: int) -> Holder:
    """Who noted themselves in the lock file (empty while a new holder is writing)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        pid = data.get("pid")
        return Holder(pid if isinstance(pid, int) else None, str(data.get("owner") or "") or None,
                      str(data.get("since") or "") or None)
    except (OSError, ValueError, AttributeError):
        return Holder(None, None, None)
