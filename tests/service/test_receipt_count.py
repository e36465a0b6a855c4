"""The kiosk's own receipt count where the receipt printer cannot sense its roll
(`sim:receipt_printer?faults=odd_status`: a clone whose paper-sensor status byte is not
readable, so the roll's level is unknown): each slip printed uses one, the count says
`paper_low` at `settings.receipt_low` and `paper_out` at 0, and at 0 the citizen gets the
on-screen QR instead of a slip. The heartbeat carries the count; the fleet page hears the
fault through the device's status."""

from __future__ import annotations

from devices.status import Consumable, FaultCode
from kiosk.journal import Journal, journal_path
from kiosk.session_headless import run_headless_session
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with, kiosk_runtimes, write_kiosk_config
from tests.service.test_heartbeat import fleet_entry, wait_for

UNSENSED_ROLL = "faults=odd_status"


def load_receipts(directory, receipts: int) -> None:
    journal = Journal(journal_path(directory / "state"))
    try:
        journal.replenish("receipt_paper", receipts, "technician")
    finally:
        journal.close()


def receipt_status(runtime):
    return runtime.devices.statuses()["receipt_printer"]


def test_the_last_slip_by_count_then_the_on_screen_qr(reference_server, tmp_path):  # noqa: F811
    directory = tmp_path / "kiosk"
    config = write_kiosk_config(reference_server, directory, receipt=UNSENSED_ROLL, settings="receipt_low = 1\n")
    load_receipts(directory, 2)
    first, second = citizen_with(reference_server, "KK"), citizen_with(reference_server, "KK", "KIA")
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    with kiosk_runtimes() as start:
        runtime = start(config)
        simulator = runtime.devices.printer("receipt_printer").simulator
        assert receipt_status(runtime).supply(Consumable.RECEIPT_PAPER).count == 2 and receipt_status(runtime).usable

        result = run_headless_session(runtime.engine, nik=first["nik"], pin=first["pin"])
        assert result.ok and result.receipt_printed and simulator.cuts == 1
        assert runtime.journal.counters()["KK"]["receipts_printed"] == 1
        status = receipt_status(runtime)
        assert [f.code for f in status.faults] == [FaultCode.PAPER_LOW] and status.usable   # one left: low, still used

        result = run_headless_session(runtime.engine, nik=second["nik"], pin=second["pin"])
        assert result.ok and not result.receipt_printed        # its first slip took the last one, no second
        assert simulator.cuts == 2
        status = receipt_status(runtime)
        assert status.supply(Consumable.RECEIPT_PAPER).count == 0 and not status.usable
        assert status.unusable_reason().code == FaultCode.PAPER_OUT
        assert runtime.journal.stock("receipt_paper")["remaining"] == 0

        payload = runtime.heartbeat.payload()
        assert payload["counters"]["receipt_stock"]["level"] == "out"
        assert payload["counters"]["receipt_stock"]["low_at"] == 1
        assert payload["devices"]["receipt_printer"]["supplies"]["receipt_paper"] == {"level": "out", "count": 0}
        assert wait_for(runtime.heartbeat.send_now, what="a beat with the receipt count")
    entry = fleet_entry(reference_server, kiosk_id)
    assert entry["devices"]["receipt_printer"]["supplies"]["receipt_paper"] == {"level": "out", "count": 0}
    assert "receipt_printer:paper_out" in entry["needs"]


def test_at_zero_by_count_no_slip_is_sent_and_the_done_view_has_the_qr(reference_server, tmp_path):  # noqa: F811
    directory = tmp_path / "kiosk"
    config = write_kiosk_config(reference_server, directory, receipt=UNSENSED_ROLL)
    load_receipts(directory, 0)
    citizen = citizen_with(reference_server, "KK")
    with kiosk_runtimes() as start:
        runtime = start(config)
        simulator = runtime.devices.printer("receipt_printer").simulator
        result = run_headless_session(runtime.engine, nik=citizen["nik"], pin=citizen["pin"])
        assert result.ok and not result.receipt_printed and simulator.cuts == 0
        done = runtime.engine.view
        assert done.help_url and not done.receipt_printed        # ui/screens/done.kv shows it as a QR
        assert "receipts_printed" not in runtime.journal.counters().get("KK", {})


def test_a_roll_the_printer_senses_is_believed_over_the_count(reference_server, tmp_path):  # noqa: F811
    directory = tmp_path / "kiosk"
    config = write_kiosk_config(reference_server, directory)
    load_receipts(directory, 0)                 # the count says none, the sensor says paper: the sensor wins
    with kiosk_runtimes() as start:
        runtime = start(config)
        assert receipt_status(runtime).usable
        assert "receipt_paper_counted_by" not in receipt_status(runtime).capabilities
