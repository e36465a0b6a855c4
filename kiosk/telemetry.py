"""`Heartbeat`: tells the dinas every minute how this kiosk is (ARCHITECTURE §4).

    heartbeat = Heartbeat(kiosk_id, client, board, journal, outbox, interval_s=60)
    heartbeat.start()    # one beat soon after start, then every interval_s
    heartbeat.stop()

A device that raises an alarm (a jam, an open cover, a ribbon out) is sent at once, at most
one beat every `alarm_debounce_s`, so the dinas learns of it before the next minute.
The payload carries device states, supplies, counters and faults only: never a citizen's
NIK, name, PIN or document. A dinas that cannot be reached is logged once per outage.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from importlib import metadata
from typing import Any, Callable

from devices.status import DeviceStatus, Severity

from .devices_runtime import DeviceBoard
from .diagnostics import Diagnostics
from .journal import Journal, utc_iso
from .outbox import Outbox
from .settings import Settings

log = logging.getLogger(__name__)

PACKAGE = "adm-kiosk"
LAST_FAULTS_KEPT = 20           # the server takes at most 100; the recent ones are what matters
STAFF_ACTIONS_PER_BEAT = 50    # more wait for the next beat (the first beat after start: the last 50)
FIRST_BEAT_DELAY_S = 1.0        # soon after start, once the devices have been read


def software_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def _alarm_codes(status: DeviceStatus) -> set[str]:
    return {f.code.value for f in status.faults if f.severity == Severity.ALARM}


class Heartbeat:
    def __init__(self, kiosk_id: str, client, devices: DeviceBoard, journal: Journal, outbox: Outbox, *,
                 interval_s: float = 60.0, alarm_debounce_s: float = 5.0,
                 first_delay_s: float = FIRST_BEAT_DELAY_S,
                 config_version: Callable[[], int | None] = lambda: None,
                 config_stale: Callable[[], bool] = lambda: False,
                 config_etag: Callable[[], str | None] = lambda: None,
                 on_reply: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, storage=None,
                 settings: Callable[[], Settings] = Settings) -> None:
        self.kiosk_id = kiosk_id
        self.interval_s = interval_s
        self.alarm_debounce_s = alarm_debounce_s
        self.first_delay_s = first_delay_s
        self.sent = 0                      # beats the dinas accepted
        self.failed = 0                    # beats that did not get through
        self._client = client
        self._devices = devices
        self._journal = journal
        self._outbox = outbox
        self._config_version = config_version
        self._config_stale = config_stale
        self._config_etag = config_etag
        self._on_reply = on_reply
        self._storage = storage            # kiosk.storage.StorageGuard, reported as the device "storage"
        # Every figure of the beat comes from the one diagnostics module (the screens and
        # `adm-kiosk diag` read the same).
        self.diagnostics = Diagnostics(devices, journal, settings=settings, outbox_depth=outbox.depth,
                                       storage=storage)
        self._clock = clock
        self._started_at = clock()
        self._lock = threading.Lock()
        self._alarms: dict[str, set[str]] = {}
        self._last_faults: collections.deque[dict[str, Any]] = collections.deque(maxlen=LAST_FAULTS_KEPT)
        self._alarm_pending = False
        self._audit_delivered: int | None = None   # the last audit row a delivered beat carried
        self._failing = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- the payload ---------------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        """What one heartbeat says (the OpenAPI `Heartbeat` schema)."""
        return {
            "kiosk_id": self.kiosk_id,
            "software_version": software_version(),
            "config_version": self._config_version(),
            "config_stale": self._config_stale(),       # an expired envelope still running
            "config_etag": self._config_etag(),         # the reply's config_waiting compares it
            "uptime_s": round(max(self._clock() - self._started_at, 0.0), 1),
            **self.diagnostics.heartbeat_figures(),     # devices, counters, outbox_depth, cards_low
            "last_faults": self.last_faults(),
            # What technicians and operators did since the last beat the dinas took (the
            # audit trail holds no citizen's data).
            "staff_actions": self._journal.audit_since(self._audit_delivered, STAFF_ACTIONS_PER_BEAT),
        }

    def last_faults(self) -> list[dict[str, Any]]:
        """The alarms seen since start, oldest first (the screens show them too)."""
        with self._lock:
            return list(self._last_faults)

    def send_now(self) -> bool:
        """Build and post one heartbeat; True when the dinas took it. Never raises."""
        payload = self.payload()
        try:
            reply = self._client.heartbeat(payload)
        except Exception as exc:  # noqa: BLE001 - telemetry must never take the kiosk down
            self.failed += 1
            if not self._failing:
                self._failing = True
                log.warning("heartbeat not delivered (%s: %s); retrying every %.0f s, logged once per outage",
                            type(exc).__name__, exc, self.interval_s)
            return False
        self.sent += 1
        if payload["staff_actions"]:
            self._audit_delivered = payload["staff_actions"][-1]["id"]
        if self._failing:
            self._failing = False
            log.info("heartbeat delivered again after %d failed", self.failed)
        if self._on_reply is not None:
            try:
                self._on_reply(reply)        # e.g. the config-sync worker hears of a new version
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the heartbeats
                log.exception("heartbeat reply listener failed")
        return True

    def set_interval(self, interval_s: float) -> None:
        """A new interval (pushed settings.heartbeat_s), counted from the last beat."""
        self.interval_s = interval_s
        self._wake.set()

    def _statuses(self) -> dict[str, DeviceStatus]:
        return self.diagnostics.statuses()

    # --- faults as they happen -----------------------------------------------------------------
    def _on_status(self, status: DeviceStatus) -> None:
        """Runs on a device's worker thread: remember new alarms and wake the sender."""
        codes = _alarm_codes(status)
        with self._lock:
            new = codes - self._alarms.get(status.device, set())
            self._alarms[status.device] = codes
            for fault in status.faults:
                if fault.code.value in new:
                    self._last_faults.append({"device": status.device, "code": fault.code.value,
                                              "severity": fault.severity.value, "at": utc_iso()})
            if new:
                self._alarm_pending = True
        if new:
            self._wake.set()

    # --- the thread ----------------------------------------------------------------------------
    def start(self) -> Heartbeat:
        if self._thread is not None:
            return self
        for status in self._statuses().values():
            self._on_status(status)
        self._alarm_pending = False          # alarms present at start go with the first beat
        unsubscribers = [self._devices.status_events.subscribe(self._on_status, replay=False)]
        if self._storage is not None:
            unsubscribers.append(self._storage.status_events.subscribe(self._on_status, replay=False))
        self._unsubscribe = lambda: [unsubscribe() for unsubscribe in unsubscribers]
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        first_beat = self._clock() + self.first_delay_s
        last_beat: float | None = None
        last_alarm_beat = float("-inf")
        while not self._stop.is_set():
            now = self._clock()
            due = first_beat if last_beat is None else last_beat + self.interval_s
            if self._alarm_pending:
                due = min(due, last_alarm_beat + self.alarm_debounce_s)
            if due > now:
                self._wake.wait(due - now)
                self._wake.clear()
                continue
            if self._alarm_pending:
                self._alarm_pending = False
                last_alarm_beat = now
            self.send_now()
            last_beat = self._clock()
