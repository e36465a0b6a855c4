"""The kiosk window over the real core: `KioskRuntime` from a real kiosk.toml, the reference
dinas server on loopback, the simulated printers. Tests import the fixtures they use:

    from tests.fixtures.dinas_server import reference_server  # noqa: F401
    from tests.ui.rig import kiosk_ui  # noqa: F401
"""

from __future__ import annotations

import time

import pytest

from tests.ui.harness import KioskDriver  # noqa: I001 - sets Kivy's environment first
from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.session import SessionEngine
from kiosk.staff_desk import StaffDesk
from tests.fixtures.kiosk import write_kiosk_config
from tests.fixtures.lossy_link import LinkFaults, LossyLink
from tests.ui.speech import HeardGuide
from ui.watchdog import SystemdNotifier


class UiRig:
    def __init__(self, runtime: KioskRuntime, driver: KioskDriver, printed):
        self.runtime, self.driver, self.printed = runtime, driver, printed


@pytest.fixture
def kiosk_ui(reference_server, tmp_path):
    """start(size=..., engine_options=..., **write_kiosk_config options) -> UiRig."""
    rigs: list[UiRig] = []

    def start(size=None, engine_options=None, dinas_url=None, **config) -> UiRig:
        path = write_kiosk_config(reference_server, tmp_path, dinas_url=dinas_url, **config)
        runtime = KioskRuntime.from_config(load_config(path), outbox_base_delay=0.05)
        runtime.start()
        if engine_options:
            # The same engine the runtime builds, with test timings (e.g. a short idle timeout).
            runtime.engine.close()
            runtime.engine = SessionEngine(runtime.client, runtime.orchestrator, runtime.devices,
                                           runtime.cfg.settings, kiosk_id=runtime.cfg.kiosk.id,
                                           place=runtime.cfg.kiosk.place, **engine_options)
        options = {"size": size} if size else {}
        guide = HeardGuide()
        driver = KioskDriver(runtime.engine, guide=guide, notifier=SystemdNotifier(None),
                             staff_desk=StaffDesk(runtime), **options)
        rig = UiRig(runtime, driver, tmp_path / "printed")
        rig.guide = guide
        rigs.append(rig)
        return rig

    yield start
    for rig in rigs:
        rig.driver.close()
        rig.runtime.stop()


def SlowLink(upstream_url: str, latency: float) -> LossyLink:  # noqa: N802 - reads as the class it was
    """The dinas through a link that delivers every byte the kiosk sends `latency` seconds
    late (tests/fixtures/lossy_link.py, which also caps bandwidth, stalls and resets)."""
    return LossyLink(upstream_url, LinkFaults(up_latency_s=latency))


def human_type(driver: KioskDriver, text: str, gap: float = 0.08) -> None:
    """Keys at a person's pace (slower than a scanner's burst)."""
    for char in text:
        driver.press(ord(char), char)
        end = time.monotonic() + gap
        while time.monotonic() < end:
            driver.step()
