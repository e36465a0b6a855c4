"""The serial QR scanner in the running kiosk: `KioskRuntime` from a real kiosk.toml with
`[devices.scanner]`, the scanner simulator behind a real socket or pty, the reference dinas on
loopback. A scan opens the citizen's session the way the keyboard wedge does; the scanner's
status is on the device board and in the heartbeats; an unplug and a replug are survived."""

from __future__ import annotations

import pytest

from devices.sim.scanner import ScannerSimulator
from devices.sim.serve import SocketLink
from devices.status import DeviceState, FaultCode
from kiosk.config import load_config
from kiosk.config_schema import ConfigError
from kiosk.session_headless import ViewWaiter
from kiosk.session_model import Screen
from tests.device.test_serial_replug import ReplugPort
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import kiosk_runtimes, write_kiosk_config
from tests.service.test_heartbeat import fleet_entry, wait_for


def scanner_state(runtime) -> DeviceState:
    return runtime.devices.statuses()["scanner"].state


def scan_opens_a_session(runtime, sim, citizen) -> None:
    """From the attract screen: the WhatsApp QR, then the PIN, gives the citizen's documents."""
    views = ViewWaiter(runtime.engine)
    try:
        views.wait_screen(Screen.ATTRACT)
        sim.scan(f"ADM1:{citizen['request_no']}")
        views.wait_screen(Screen.PIN)
        runtime.engine.submit_pin(citizen["pin"])
        documents = views.wait_screen(Screen.DOCUMENTS)
        assert {d.kind for d in documents.documents} == {d["kind"] for d in citizen["documents"]}
        runtime.engine.cancel()
        views.wait_screen(Screen.ATTRACT)
    finally:
        views.unsubscribe()


def test_a_socket_scanner_opens_sessions_and_survives_a_replug(reference_server, tmp_path):  # noqa: F811
    sim = ScannerSimulator()
    link = SocketLink(sim)
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    try:
        with kiosk_runtimes() as start:
            runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk", scanner=link.url))
            wait_for(lambda: scanner_state(runtime) == DeviceState.READY, what="the scanner on the board")
            scan_opens_a_session(runtime, sim, reference_server.citizens[0])
            assert runtime.heartbeat.payload()["devices"]["scanner"]["state"] == "ready"

            link.stop()                                   # the scanner's cable is pulled
            wait_for(lambda: scanner_state(runtime) == DeviceState.NO_DEVICE, what="the unplug on the board")
            assert runtime.devices.statuses()["scanner"].has_fault(FaultCode.DISCONNECTED)
            assert runtime.heartbeat.send_now()
            entry = fleet_entry(reference_server, kiosk_id)
            assert entry["devices"]["scanner"]["state"] == "no_device"
            assert "scanner:disconnected" in entry["needs"]

            link = SocketLink(sim, port=link.port)        # plugged in again, same address
            wait_for(lambda: scanner_state(runtime) == DeviceState.READY, what="the replug on the board")
            scan_opens_a_session(runtime, sim, reference_server.citizens[1])
            assert runtime.heartbeat.send_now()
            assert fleet_entry(reference_server, kiosk_id)["devices"]["scanner"]["state"] == "ready"
    finally:
        link.stop()


def test_a_serial_scanner_cut_mid_code_asks_to_scan_again_and_carries_on_after_a_replug(reference_server,  # noqa: F811
                                                                                      tmp_path):
    sim = ScannerSimulator()
    port = ReplugPort(sim, tmp_path)              # serial:// through a by-id style symlink to a pty
    citizen = reference_server.citizens[0]
    try:
        with kiosk_runtimes() as start:
            runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk", scanner=port.url))
            wait_for(lambda: scanner_state(runtime) == DeviceState.READY, what="the scanner on the board")
            views = ViewWaiter(runtime.engine)
            sim.scan_partial(f"ADM1:{citizen['request_no']}")   # half the code, then the line goes quiet
            shown = views.wait_for(lambda v: v.screen == Screen.IDENTIFY and v.message is not None)
            assert shown.message.key == "scan.unreadable"
            runtime.engine.cancel()
            views.unsubscribe()

            port.unplug()
            # As udev does: the by-id link goes with the device (left dangling, it would point at
            # whichever pty the kernel hands out next, another program's).
            port.path.unlink()
            wait_for(lambda: scanner_state(runtime) == DeviceState.NO_DEVICE, what="the unplug on the board")
            port.replug()
            wait_for(lambda: scanner_state(runtime) == DeviceState.READY, what="the replug on the board")
            scan_opens_a_session(runtime, sim, citizen)
    finally:
        port.close()


def test_a_code_that_is_not_the_dinas_qr_says_so(reference_server, tmp_path):  # noqa: F811
    with kiosk_runtimes() as start:
        runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk", scanner="sim:scanner"))
        wait_for(lambda: scanner_state(runtime) == DeviceState.READY, what="the simulated scanner")
        views = ViewWaiter(runtime.engine)
        runtime.scanner.reader.simulator.scan("https://example.com/not-a-kiosk-code")
        shown = views.wait_for(lambda v: v.screen == Screen.IDENTIFY and v.message is not None)
        assert shown.message.key == "scan.invalid"
        runtime.scanner.reader.simulator.scan_garbage()
        shown = views.wait_for(lambda v: v.message is not None and v.message.key == "scan.unreadable")
        assert shown.screen == Screen.IDENTIFY
        views.unsubscribe()


@pytest.mark.parametrize("url, problem", [
    ("ipp://127.0.0.1:631/printers/KK", "not ipp"),
    ("KK-A4", "not cups"),
    ("sim:card_printer", "the scanner's simulator is sim:scanner"),
    ("serial://", "needs a device path"),
])
def test_a_scanner_url_no_scanner_can_be_reached_through_is_a_config_error(reference_server, tmp_path,  # noqa: F811
                                                                          url, problem):
    path = write_kiosk_config(reference_server, tmp_path / "kiosk", scanner=url)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "devices.scanner.url: expected a scanner URL" in str(caught.value) and problem in str(caught.value)


def test_no_scanner_configured_means_none_on_the_board(reference_server, tmp_path):  # noqa: F811
    with kiosk_runtimes() as start:
        runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk"))
        assert runtime.scanner is None and "scanner" not in runtime.devices.statuses()
