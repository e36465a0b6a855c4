"""Discovery on the simulated USB bus and a by-id folder of real symlinks; `adm-kiosk devices`."""

import json
import os

import pytest

from devices.discovery import discover, format_discovery, list_serial_ports
from devices.known_devices import CARD_PRINTER, RECEIPT_PRINTER, SCANNER, lookup
from devices.sim.scanner import ScannerSimulator
from devices.sim.serve import serve_pty
from devices.sim.usb_backend import INTERFACE_CLASS_HID, INTERFACE_CLASS_VENDOR, SimulatedUsbDevice
from kiosk.cli import main
from tests.fixtures.usb import usb_bus  # noqa: F401


@pytest.fixture
def kiosk_bus(usb_bus):
    usb_bus.plug(SimulatedUsbDevice(0x0F49, 0x5C07, serial="E0001", manufacturer="Evolis", product="Primacy 2"))
    usb_bus.plug(SimulatedUsbDevice(0x04B8, 0x0202, serial="R1", manufacturer="EPSON", product="TM-T88V"))
    usb_bus.plug(SimulatedUsbDevice(0x0C2E, 0x0B61, manufacturer="Honeywell", product="Xenon 1950g",
                                    interface_class=INTERFACE_CLASS_HID))
    usb_bus.plug(SimulatedUsbDevice(0x04B8, 0x0142, product="Epson scanner", interface_class=INTERFACE_CLASS_VENDOR))
    usb_bus.plug(SimulatedUsbDevice(0x1234, 0x0001, product="Mystery gadget", interface_class=INTERFACE_CLASS_VENDOR))
    return usb_bus


def test_usb_devices_are_listed_and_known_ones_marked(kiosk_bus, tmp_path):
    found = discover(backend=kiosk_bus.backend, by_id_dir=tmp_path)
    by_ids = {(d.vid, d.pid): d for d in found.usb_devices}
    assert len(by_ids) == 5
    assert by_ids[(0x0F49, 0x5C07)].known.role == CARD_PRINTER
    assert by_ids[(0x0F49, 0x5C07)].serial_number == "E0001"
    assert by_ids[(0x0F49, 0x5C07)].url == "usb://0f49:5c07?serial=E0001"
    assert by_ids[(0x04B8, 0x0202)].known.role == RECEIPT_PRINTER
    assert by_ids[(0x0C2E, 0x0B61)].known.role == SCANNER
    assert by_ids[(0x04B8, 0x0142)].known is None          # Epson, but not a printer interface
    assert by_ids[(0x1234, 0x0001)].known is None
    text = format_discovery(found)
    assert "-> card_printer: Evolis" in text and "Mystery gadget" in text


def test_configured_devices_are_matched(kiosk_bus, tmp_path):
    scanner = ScannerSimulator()
    with serve_pty(scanner) as link:
        os.symlink(link.path, tmp_path / "usb-Honeywell_Xenon_1950g-if00")
        configured = {
            "card_printer": "usb://0f49:5c07?serial=E0001",
            "receipt_printer": "usb://0dd4:0205",
            "scanner": f"serial://{tmp_path / 'usb-Honeywell_Xenon_1950g-if00'}",
            "a4_printer": "ipp://localhost:631/printers/KK-A4",
            "spare": "usb://zz",
        }
        found = discover(configured, backend=kiosk_bus.backend, by_id_dir=tmp_path)
    matches = {m.role: m for m in found.configured}
    assert matches["card_printer"].found is True
    assert matches["receipt_printer"].found is False and "not plugged in" in matches["receipt_printer"].where
    assert matches["scanner"].found is True and matches["scanner"].where == link.path
    assert matches["a4_printer"].found is None
    assert matches["spare"].found is False and "invalid URL" in matches["spare"].where
    pty = next(p for p in found.serial_ports if p.device == link.path)
    assert pty.by_id == (str(tmp_path / "usb-Honeywell_Xenon_1950g-if00"),)


def test_two_identical_devices_need_a_serial(usb_bus, tmp_path):
    for serial in ("A", "B"):
        usb_bus.plug(SimulatedUsbDevice(0x0F49, 0x5C07, serial=serial))
    found = discover({"card_printer": "usb://0f49:5c07"}, backend=usb_bus.backend, by_id_dir=tmp_path)
    assert found.configured[0].found is False and "?serial=" in found.configured[0].where


def test_serial_ports_without_by_id_folder(tmp_path):
    assert all(port.by_id == () for port in list_serial_ports(tmp_path / "absent"))


def test_lookup_prefers_the_exact_product():
    assert lookup(0x04B8, 0x0202, None).model == "TM series receipt printer"
    assert lookup(0x04B8, 0x9999, [7]).role == RECEIPT_PRINTER
    assert lookup(None, None) is None


def test_adm_kiosk_devices_runs_without_config(capsys, monkeypatch):
    import kiosk.config
    monkeypatch.setattr(kiosk.config, "DEFAULT_CONFIG_PATH", kiosk.config.Path("/nonexistent/kiosk.toml"))
    assert main(["devices"]) == 0
    assert "Serial ports" in capsys.readouterr().out
    assert main(["devices", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"serial_ports", "usb_devices", "configured", "notes"}


def test_adm_kiosk_devices_with_config(capsys, tmp_path):
    (tmp_path / "token").write_text("secret-token\n")
    (tmp_path / "kiosk.toml").write_text(
        '[kiosk]\nid = "KIOSK-T1"\n[dinas]\nurl = "http://127.0.0.1:8765/api/v1"\ntoken_file = "token"\n'
        '[devices.receipt_printer]\nurl = "usb://04b8:0202?serial=R1"\n'
        '[devices.a4_printer]\nurl = "ipp://127.0.0.1:631/printers/KK-A4"\n')
    assert main(["--config", str(tmp_path / "kiosk.toml"), "devices", "--json"]) == 0
    configured = {m["role"]: m for m in json.loads(capsys.readouterr().out)["configured"]}
    assert configured["receipt_printer"]["found"] is False
    assert configured["a4_printer"]["found"] is None
    assert main(["--config", str(tmp_path / "missing.toml"), "devices"]) == 2
    assert "missing.toml" in capsys.readouterr().err
