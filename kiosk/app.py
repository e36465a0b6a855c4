"""`KioskRuntime`: the kiosk core assembled from its configuration.

    runtime = KioskRuntime.from_config(load_config(path))
    runtime.start()          # devices (and the serial scanner) up, crash recovery, outbox running,
                             # engine accepting, heartbeats
    runtime.engine           # the SessionEngine the UI (or the headless command) drives
    runtime.stop()

Used by `adm-kiosk session`, `config sync --once`, the demo and the UI, so all of them run the
same core. `from_config` first takes the device lock (kiosk/device_lock.py): one owner of the
kiosk's devices at a time.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from .device_lock import DeviceLock
from .devices_runtime import DeviceBoard
from .housekeeping import Housekeeping
from .journal import Journal, journal_path
from .malloc_tuning import fix_malloc_thresholds, give_back_free_memory
from .orchestrator import PrintOrchestrator
from .outbox import Outbox, post_with
from .recovery import Settlement, left_open, recover, retry_left_open
from .scanner_runtime import ScannerInput
from .remote_config.runtime import config_sync_for
from .session import SessionEngine
from .settings import unset_for_citizens
from .session_model import Screen
from .storage import StorageGuard
from .supplies import SupplyCount
from .telemetry import Heartbeat

log = logging.getLogger(__name__)


class KioskRuntime:
    def __init__(self, cfg, client, devices: DeviceBoard, journal: Journal, *,
                 outbox_base_delay: float = 1.0, heartbeat_s: float | None = None,
                 scanner: ScannerInput | None = None) -> None:
        self.cfg = cfg
        self.client = client
        self.devices = devices
        self.scanner = scanner
        if scanner is not None:
            devices.attach(scanner.role, scanner.status, scanner.status_events)
            scanner.deliver_to(lambda: self.engine)
        self.journal = journal
        self.outbox = Outbox(journal, post_with(client), base_delay=outbox_base_delay)
        # A full or read-only state folder: out of service between sessions, a fault in the
        # heartbeat, and an event the journal cannot write is delivered from memory.
        self.storage = StorageGuard(journal.path.parent, cfg.kiosk.state_min_free_mb, reserve=journal.reserve,
                                    journal_unavailable=journal.unavailable)
        journal.on_unwritten_event = self.outbox.hold
        journal.on_write_failed = lambda _error: self.storage.check()
        journal.reserve.on_spent = self.storage.check
        self.orchestrator = PrintOrchestrator(client, journal, self.outbox, devices, keep_open=self._keep_open)
        self.config_sync = config_sync_for(self)      # the running settings: remote ones once applied
        # A feeder or a roll that cannot sense its level: the kiosk's own count stands in (gating, receipts).
        devices.count_supplies(SupplyCount(journal, lambda: self.config_sync.settings).apply)
        self.heartbeat = Heartbeat(cfg.kiosk.id, client, devices, journal, self.outbox,
                                   interval_s=heartbeat_s or self.config_sync.settings.heartbeat_s,
                                   config_version=lambda: self.config_sync.version,
                                   config_stale=lambda: self.config_sync.stale,
                                   config_etag=lambda: self.config_sync.etag,
                                   on_reply=self.config_sync.on_heartbeat_reply, storage=self.storage,
                                   settings=lambda: self.config_sync.settings)
        self.diagnostics = self.heartbeat.diagnostics
        self.engine: SessionEngine | None = None
        self.housekeeping = Housekeeping(
            journal, in_session=lambda: self.engine is not None and self.engine.in_session,
            retention_days=cfg.kiosk.retention_days,
            chores=(self.storage.check, self._settle_left_open, give_back_free_memory))
        self.recovered: list[Settlement] = []
        self.left_open: list[str] = []           # jobs to settle from their print server, retried
        self._left_open_lock = threading.Lock()
        self.final_outbox_depth: int | None = None
        self.device_lock: DeviceLock | None = None     # from_config's, released last by stop()
        self._stopped = False

    @classmethod
    def from_config(cls, cfg, *, owner: str = "kiosk runtime", **options) -> KioskRuntime:
        """`owner` names the command (e.g. "adm-kiosk session") in the device lock (kiosk/device_lock.py), taken first:
        another owner raises DevicesInUse before a device or the journal is opened. The
        runtime holds it until `stop()`."""
        from .dinas_client import DinasClient

        state_dir = Path(cfg.kiosk.state_dir)
        device_lock = DeviceLock(state_dir, owner).acquire()
        try:
            fix_malloc_thresholds()       # before the first document: see kiosk/malloc_tuning.py
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
                journal = Journal(journal_path(state_dir))
            except (sqlite3.OperationalError, OSError) as exc:
                # Start anyway, out of service: the screen and the heartbeat say why.
                log.error("the journal in %s cannot be opened: %s", state_dir, exc)
                journal = Journal.stand_in(journal_path(state_dir), f"{type(exc).__name__}: {exc}")
            runtime = cls(cfg, DinasClient.from_config(cfg), DeviceBoard.from_config(cfg), journal,
                          scanner=ScannerInput.from_config(cfg), **options)
        except BaseException:
            device_lock.release()
            raise
        runtime.device_lock = device_lock
        return runtime

    def start(self, *, device_timeout: float = 15.0, config_worker: bool = True) -> SessionEngine:
        """Devices first (recovery needs the card counters), then settle what a crash left,
        then deliver events, then accept citizens, then poll for remote configuration
        (`config_worker=False`: the caller runs `config_sync.sync_once()` itself)."""
        self.storage.check()
        for name in unset_for_citizens(self.config_sync.settings):
            log.warning("settings: %s is empty; citizens' 'call the dinas' messages give no number", name)
        self.devices.start()
        if self.scanner is not None:
            self.scanner.start()    # its codes reach the engine once there is one
        self.devices.refresh(device_timeout)
        self.recovered = recover(self.journal, self.devices, self.outbox)
        with self._left_open_lock:
            self.left_open = left_open(self.recovered) + self.left_open
        self.housekeeping.run_once(chores=False)
        self.outbox.start()
        self.engine = SessionEngine(self.client, self.orchestrator, self.devices, self.config_sync.settings,
                                    kiosk_id=self.cfg.kiosk.id, place=self.cfg.kiosk.place,
                                    storage=self.storage)
        self._screen_before = None
        self.engine.subscribe(self._memory_back_after_a_session)
        self.heartbeat.start()
        self.housekeeping.start()
        if config_worker:
            self.config_sync.start()
        return self.engine

    def _memory_back_after_a_session(self, view) -> None:
        """Back on the attract screen after a session: the allocator's free pages go back now
        (a few ms on the session thread, with no citizen waiting), not only when the
        housekeeping next finds the kiosk idle (kiosk/malloc_tuning.py)."""
        ended = view.screen == Screen.ATTRACT and self._screen_before not in (None, Screen.ATTRACT)
        self._screen_before = view.screen
        if ended:
            give_back_free_memory()

    def _keep_open(self, job_id: str) -> None:
        with self._left_open_lock:
            self.left_open.append(job_id)

    def _settle_left_open(self) -> None:
        """Jobs whose print server did not answer (at recovery, or when a print could not be
        cancelled), tried again between sessions."""
        with self._left_open_lock:
            trying, self.left_open = self.left_open, []
        still = retry_left_open(self.journal, self.devices, self.outbox, trying)
        with self._left_open_lock:
            self.left_open = still + self.left_open

    def stop(self, *, flush_timeout: float = 0.0) -> None:
        """Stop accepting, give the outbox `flush_timeout` seconds to empty (what is left is
        delivered after the next start), then release everything. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.config_sync.stop()
        self.housekeeping.stop()
        self.heartbeat.stop()
        if self.engine is not None:
            self.engine.close()
        if flush_timeout:
            self.outbox.flush(flush_timeout)
        self.outbox.stop()
        self.final_outbox_depth = self.outbox.depth()
        if self.scanner is not None:
            self.scanner.stop()
        self.devices.stop()
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
        self.journal.close()
        if self.device_lock is not None:
            self.device_lock.release()
