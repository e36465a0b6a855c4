"""`ConfigSync`: fetch, verify, apply between sessions, check health, roll back, report.

    sync = ConfigSync(cfg, client, store, applier)
    result = sync.sync_once()        # SyncResult: applied | rejected | rolled_back | unchanged | none
    sync.start(); sync.poke(); sync.stop()

The worker polls `GET /kiosk/config` with its ETag every `settings.config_poll_s`, and at once
when `poke()` is called (a heartbeat reply saying a newer version waits). Applying is the
applier's job (`RuntimeApplier` in the running kiosk): it hands the settings to the session
engine, which puts them in force only between citizen sessions, then checks health. Every
outcome is reported to the dinas; a report that cannot be delivered is kept in the state file
and sent with the next sync. Nothing refused changes the running settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from ..settings import Settings
from .envelope import Refusal, read_envelope, read_payload, utc_text
from .store import ConfigState, ConfigStore, running_settings
from .verify import verify

log = logging.getLogger(__name__)

UNKNOWN_VERSION = 0          # reported when a refused envelope's version cannot be read


class Interrupted(Exception):
    """The kiosk stopped while settings waited for a session to end."""


@dataclass(frozen=True)
class SyncResult:
    result: str                      # applied | rejected | rolled_back | unchanged | none
    version: int | None = None
    reason: str | None = None
    detail: str = ""

    @property
    def exit_status(self) -> int:
        """`adm-kiosk config sync --once`: 0 when applied or nothing is new, 1 otherwise."""
        return 0 if self.result in ("applied", "unchanged", "none") else 1


class Applier(Protocol):
    def snapshot(self) -> Any: ...                                   # before applying
    def apply(self, settings: Settings) -> None: ...                 # returns once in force
    def health(self, settings: Settings, before: Any) -> str | None: ...   # None when healthy


def envelope_digest(envelope: dict) -> str:
    return hashlib.sha256(json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claimed_version(envelope: Any) -> int:
    """The version an unverified payload claims, for the report only (so a rollout can tell
    which push a refusal answers); never used to decide anything. 0 when unreadable."""
    try:
        version = read_payload(read_envelope(envelope).body).version
    except Refusal as refusal:
        version = refusal.version
    return version if version is not None else UNKNOWN_VERSION


def _proven(state: ConfigState) -> ConfigState:
    """The state to run from: a version whose health check never finished (the kiosk stopped
    during it) does not run again; what ran before it does, until the rollback is reported."""
    if not state.checking:
        return state
    return ConfigState(applied_version=state.previous_version, applied_settings=state.previous_settings)


class ConfigSync:
    def __init__(self, cfg, client, store: ConfigStore, applier: Applier, *,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.kiosk_id, self.group = cfg.kiosk.id, cfg.kiosk.group
        self.trusted_keys = cfg.dinas.trusted_config_keys
        self.local_settings: Settings = cfg.settings
        self.client, self.store, self.applier, self.now = client, store, applier, now
        try:
            self.settings, self.version = running_settings(_proven(store.load()), self.local_settings)
        except RuntimeError as exc:     # a damaged state file: kiosk.toml's settings, no remote ones
            log.error("%s", exc)
            self.settings, self.version = self.local_settings, None
        self.poll_s: float = self.settings.config_poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    # --- what the heartbeat reports -------------------------------------------------------
    @property
    def stale(self) -> bool:
        """The applied envelope has expired: it keeps running, and the dinas is told."""
        expires = self.store.load().applied_expires_at if self.version is not None else None
        return expires is not None and utc_text(self.now()) >= expires

    @property
    def etag(self) -> str | None:
        return self.store.load().etag

    def on_heartbeat_reply(self, reply: dict) -> None:
        if reply.get("config_waiting") is True:
            self.poke()

    # --- one round ------------------------------------------------------------------------
    def sync_once(self) -> SyncResult:
        """Raises the client's DinasError when the dinas cannot be asked."""
        with self.store.locked():
            state = self.store.load()
            state = self._finish_interrupted_check(state)
            self._catch_up(state)
            state = self._deliver(state)
            envelope, etag = self.client.fetch_config(state.etag)
            if envelope is None:
                if etag is None and state.etag is not None:
                    state = self.store.update(state, etag=None)
                return SyncResult("none" if etag is None else "unchanged", self.version)
            digest = envelope_digest(envelope)
            if digest == state.envelope_sha256:
                self.store.update(state, etag=etag)
                return SyncResult("unchanged", self.version)
            try:
                verified = verify(envelope, trusted_keys=self.trusted_keys, kiosk_id=self.kiosk_id,
                                  group=self.group, floor=state.floor, now=self.now())
            except Refusal as refusal:
                log.warning("config refused (%s): %s", refusal.reason, refusal.detail)
                version = refusal.version if refusal.version is not None else claimed_version(envelope)
                state = self.store.update(state, etag=etag, envelope_sha256=digest)
                self._report(state, version, "rejected", refusal.reason)
                return SyncResult("rejected", version, refusal.reason, refusal.detail)
            return self._apply(state, verified, etag=etag, envelope_sha256=digest)

    def _apply(self, state: ConfigState, verified, **seen: str | None) -> SyncResult:
        version, settings = verified.payload.version, verified.settings
        # Nothing runs that could not be remembered: a read-only state folder fails here,
        # before the engine has the new settings (the version floor must survive a restart).
        self.store.save(state)
        before = self.applier.snapshot()
        old_settings, old_version = self.settings, self.version
        self.applier.apply(settings)          # waits for the citizen's session to end
        self._use(settings, version)
        state = self.store.update(
            state, **seen, applied_version=version, applied_settings=settings.as_dict(),
            applied_expires_at=utc_text(verified.payload.expires_at), previous_version=old_version,
            previous_settings=old_settings.as_dict() if old_version is not None else None,
            floor=version, checking=True)
        problem = self.applier.health(settings, before)
        if problem is None:
            state = self.store.update(state, checking=False)
            log.info("config v%d applied (signed by %s)", version, verified.keyid)
            self._report(state, version, "applied", None)
            return SyncResult("applied", version)
        log.warning("config v%d failed its health check (%s); rolling back to %s", version, problem,
                    f"v{old_version}" if old_version is not None else "kiosk.toml")
        state = self._roll_back(state, old_settings)
        self._report(state, version, "rolled_back", "health_check")
        return SyncResult("rolled_back", version, "health_check", problem)

    def _roll_back(self, state: ConfigState, settings: Settings) -> ConfigState:
        self.applier.apply(settings)
        self._use(settings, state.previous_version)
        return self.store.update(state, applied_version=state.previous_version,
                                 applied_settings=state.previous_settings, applied_expires_at=None,
                                 checking=False)

    def _finish_interrupted_check(self, state: ConfigState) -> ConfigState:
        """A restart during a health check: the new settings never proved healthy."""
        if not state.checking:
            return state
        failed = state.applied_version
        previous, _ = running_settings(_proven(state), self.local_settings)
        log.warning("config v%s was being checked when the kiosk stopped; rolling back", failed)
        state = self._roll_back(state, previous)
        self._report(state, failed or UNKNOWN_VERSION, "rolled_back", "health_check")
        return self.store.load()

    def _catch_up(self, state: ConfigState) -> None:
        """Another process (`config sync --once`) applied a version: run it here too."""
        if state.applied_version != self.version:
            settings, version = running_settings(state, self.local_settings)
            self.applier.apply(settings)
            self._use(settings, version)

    def _use(self, settings: Settings, version: int | None) -> None:
        self.settings, self.version, self.poll_s = settings, version, settings.config_poll_s

    # --- reports --------------------------------------------------------------------------
    def _report(self, state: ConfigState, version: int, result: str, reason: str | None) -> None:
        entry = {"version": version, "result": result, "reason": reason}
        state = self.store.update(state, last=entry, unreported=entry)
        self._deliver(state)

    def _deliver(self, state: ConfigState) -> ConfigState:
        entry = state.unreported
        if entry is None:
            return state
        try:
            self.client.report_config(entry["version"], entry["result"], entry["reason"])
        except Exception as exc:  # noqa: BLE001 - kept on disk, sent with the next sync
            log.warning("config report not delivered (%s); kept for the next sync", type(exc).__name__)
            return state
        return self.store.update(state, unreported=None)

    # --- the worker -----------------------------------------------------------------------
    def start(self) -> ConfigSync:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="config-sync", daemon=True)
            self._thread.start()
        return self

    def poke(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.sync_once()
                self._failing = False
            except Interrupted:
                return
            except Exception as exc:  # noqa: BLE001 - the next poll tries again
                if not self._failing:
                    log.warning("config sync failed (%s: %s); retrying every %.0f s", type(exc).__name__,
                                exc, self.poll_s)
                self._failing = True
            self._wake.wait(self.poll_s)
