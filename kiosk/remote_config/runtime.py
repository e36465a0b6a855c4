"""Remote configuration inside the running kiosk: how settings are applied and checked.

`RuntimeApplier.apply` hands the settings to the session engine, which puts them in force
only between citizen sessions (never during one), and waits for that; then the heartbeat
interval follows. `health` answers three questions after applying:

- does the engine accept a session, if it did before? (out of service is healthy for the
  reasons the settings chose on purpose: maintenance mode, outside opening hours, a closed
  date, a closure longer than the coming week; not when no document can be printed any
  more, which is a push gone wrong);
- does the dinas answer, taking a heartbeat that carries the new version?
- are the required devices no worse than before?
"""

from __future__ import annotations

import threading
from typing import Any

from ..session_model import Screen
from ..settings import Settings
from .store import ConfigStore
from .sync import ConfigSync, Interrupted

DELIBERATE_OUT_OF_SERVICE = ("out_of_service.maintenance", "out_of_service.closed", "out_of_service.closed_for_now")


class RuntimeApplier:
    def __init__(self, runtime, *, device_timeout: float = 10.0) -> None:
        self.runtime = runtime
        self.device_timeout = device_timeout
        self.sync: ConfigSync | None = None

    def snapshot(self) -> dict[str, Any]:
        devices = self.runtime.devices
        statuses = devices.statuses()
        return {"serving": self._refusal() is None,
                "devices": {role: bool(statuses.get(role) and statuses[role].usable)
                            for role in devices.required_roles}}

    def _refusal(self) -> str | None:
        """Why the engine accepts no session now (None when it does, or when it is out of
        service only for a reason the settings chose on purpose)."""
        engine = self.runtime.engine
        if engine is None:
            return None
        engine.wait_idle(10.0)
        view = engine.view
        if view.screen is not Screen.OUT_OF_SERVICE:
            return None
        key = view.message.key if view.message else "unknown"
        return None if key in DELIBERATE_OUT_OF_SERVICE else key

    def apply(self, settings: Settings) -> None:
        engine = self.runtime.engine
        if engine is not None:
            done = threading.Event()
            engine.apply_settings(settings, on_applied=done.set)
            while not done.wait(0.2):
                if self.sync is not None and self.sync.stopping:
                    raise Interrupted()
        self.runtime.heartbeat.set_interval(settings.heartbeat_s)

    def health(self, settings: Settings, before: dict[str, Any]) -> str | None:
        # A kiosk already out of service (a printer down) is not made worse by new settings:
        # each check compares with before, so a push still reaches a kiosk waiting for repair.
        refusal = self._refusal()
        if refusal is not None and before["serving"]:
            return f"the engine accepts no session ({refusal})"
        if not self.runtime.heartbeat.send_now():
            return "the dinas did not take a heartbeat with the new version"
        self.runtime.devices.refresh(self.device_timeout)
        after = self.snapshot()["devices"]
        worse = sorted(role for role, usable in before["devices"].items() if usable and not after.get(role))
        if worse:
            return f"required devices worse than before: {', '.join(worse)}"
        return None


def config_sync_for(runtime) -> ConfigSync:
    """The runtime's ConfigSync, with the heartbeat reporting its version and staleness."""
    applier = RuntimeApplier(runtime)
    sync = ConfigSync(runtime.cfg, runtime.client, ConfigStore(runtime.cfg.kiosk.state_dir), applier)
    applier.sync = sync
    return sync
