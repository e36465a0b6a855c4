"""What the kiosk knows about remote configuration, persisted in the state folder.

`remote-config.json` holds the applied version and its settings (what runs after a restart),
the settings that ran before it (what a failed health check rolls back to), the highest
version applied or rolled back (the floor a new envelope must be above, so an old envelope
replayed after a restart is still refused), the expiry of the applied envelope (for the
heartbeat's stale flag), the ETag and digest of the last envelope handled (the same envelope
is not handled twice), the last report, and a report the dinas has not acknowledged yet.

Written whole to a temporary file, fsynced, then renamed, so a power cut leaves the old
file or the new one. An `flock` on `remote-config.lock` serialises the handling of an
envelope (the file is read, changed and written whole), so the store does not rely on its
callers for that; the device lock (kiosk/device_lock.py) is what keeps the running kiosk and
`adm-kiosk config sync --once` from running at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from ..config_schema import ConfigError
from ..settings import Settings

log = logging.getLogger(__name__)

STATE_FILE = "remote-config.json"
LOCK_FILE = "remote-config.lock"


@dataclass(frozen=True)
class ConfigState:
    applied_version: int | None = None
    applied_settings: dict[str, Any] | None = None
    applied_expires_at: str | None = None
    previous_version: int | None = None          # what ran before the applied one (None: kiosk.toml)
    previous_settings: dict[str, Any] | None = None
    floor: int | None = None                     # highest version applied or rolled back
    etag: str | None = None
    envelope_sha256: str | None = None
    last: dict[str, Any] | None = None           # {"version", "result", "reason"}
    unreported: dict[str, Any] | None = None     # the same shape, not yet acknowledged by the dinas
    checking: bool = False                       # applied, health check not finished yet


class ConfigStore:
    def __init__(self, state_dir: str | Path) -> None:
        self.directory = Path(state_dir)
        self.path = self.directory / STATE_FILE

    def load(self) -> ConfigState:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ConfigState()
        except (OSError, ValueError) as exc:
            # A damaged file must not let an old envelope back in: keep the file for the
            # technician and refuse to start remote config until it is looked at.
            raise RuntimeError(f"{self.path} cannot be read ({exc}); move it away to reset remote config") from exc
        known = {k: v for k, v in data.items() if k in ConfigState.__dataclass_fields__}
        return ConfigState(**known)

    def save(self, state: ConfigState) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(asdict(state), handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def update(self, state: ConfigState, **changes: Any) -> ConfigState:
        new = replace(state, **changes)
        self.save(new)
        return new

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def running_settings(state: ConfigState, local: Settings) -> tuple[Settings, int | None]:
    """The settings to run and their version: the applied remote ones, or kiosk.toml's when
    none was applied (or the applied ones no longer validate after a software update)."""
    if state.applied_settings is None:
        return local, None
    try:
        return Settings.from_mapping(state.applied_settings, source=f"applied config v{state.applied_version}"), \
            state.applied_version
    except ConfigError as exc:
        log.error("applied remote settings v%s no longer validate, running kiosk.toml's: %s",
                  state.applied_version, "; ".join(exc.problems))
        return local, None


def with_running_settings(cfg):
    """`cfg` with the settings the kiosk runs now (for commands started beside the kiosk,
    such as the technician's): the applied remote ones, else kiosk.toml's."""
    try:
        settings, _ = running_settings(ConfigStore(cfg.kiosk.state_dir).load(), cfg.settings)
    except RuntimeError as exc:
        log.error("%s", exc)
        return cfg
    return replace(cfg, settings=settings)
