"""`adm-kiosk maintenance` and the audited `test-print`, through the real CLI entry point,
against the card printer simulator speaking the Evolis protocol (in-process on a pty for
`sim:card_printer`, or over a real TCP socket when the test needs to reach its insides)."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_socket
from kiosk.cli import main
from kiosk.commands import maintenance
from kiosk.config import hash_technician_pin
from kiosk.journal import Event, Journal, journal_path
from printer_drivers.factory import open_printer
from tests.fixtures.kiosk import write_plain_kiosk_config, run_cli

PIN = "482913"


CARD_PRINTER = """
    [devices.card_printer]
    url = "sim:card_printer"
    """


def with_pin(folder, devices: str) -> str:
    return write_plain_kiosk_config(folder, devices, f"""
        [settings]
        technician_pin_hash = "{hash_technician_pin(PIN)}"
        """)


def journal_of(folder) -> Journal:
    return Journal(journal_path(folder / "state"))


@pytest.fixture(autouse=True)
def no_pin_in_environment(monkeypatch):
    monkeypatch.delenv(maintenance.PIN_ENV, raising=False)
    monkeypatch.setattr(maintenance, "WRONG_PIN_DELAY_S", 0.0)


@pytest.fixture
def card_printer_on_socket(tmp_path):
    simulator = EvolisSimulator(out_dir=tmp_path / "cards")
    with serve_socket(simulator) as link:
        yield simulator, link.url


def leave_card_inside(url: str) -> None:
    """A host takes a card (``Ss``) and goes away, as a crashed kiosk would."""
    host = open_printer("card_printer", url)
    try:
        host.link.command("Ss")
    finally:
        host.close()


# --- the card stock ------------------------------------------------------------------------------

def test_card_stock_counts_prints_spoiled_and_test_cards_since_the_last_replenish(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.stock("cards") == {"loaded": None, "used": 0, "remaining": None, "since": None, "by": None}
    journal.count("KIA", "printed")                        # before the replenish: not subtracted
    stock = journal.replenish("cards", 10, "technician")
    assert (stock["loaded"], stock["used"], stock["remaining"]) == (10, 0, 10)
    journal.count("KIA", "printed", 2)
    journal.count("KIA", "cards_spoiled")
    journal.count("KK", "printed", 5)                      # A4 pages are not cards
    journal.count("KIA", "failed")                         # failed before a card was taken
    journal.audit("technician", "test_print", {"device": "card_printer"}, count={"test_cards": 1})
    assert journal.stock("cards")["used"] == 4 and journal.stock("cards")["remaining"] == 6
    assert [row["action"] for row in journal.audit_trail()] == ["test_print", "replenish_cards"]
    with pytest.raises(ValueError):
        journal.replenish("cards", -1, "technician")


def test_replenish_then_test_card_leaves_one_card_fewer_and_is_audited(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, """
        [devices.card_printer]
        url = "sim:card_printer"
        """)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "50")
    assert code == 0, err
    assert "50 kartu / cards tercatat / recorded" in out

    code, out, err = run_cli(capsys, "--config", config, "test-print", "card")
    assert code == 0, err
    assert "test-print card: halaman uji tercetak / test page printed on sim:card_printer" in out

    journal = journal_of(tmp_path)
    stock = journal.stock("cards")
    assert (stock["loaded"], stock["used"], stock["remaining"]) == (50, 1, 49)
    test_print, replenish = journal.audit_trail()
    assert (replenish["actor"], replenish["action"], replenish["detail"]) == \
        ("technician", "replenish_cards", {"supply": "cards", "loaded": 50, "device": "card_printer"})
    assert (test_print["actor"], test_print["action"]) == ("technician", "test_print")
    detail = test_print["detail"]
    assert (detail["device"], detail["outcome"]) == ("card_printer", "printed")
    assert detail["counters_before"]["cards_inserted"] + 1 == detail["counters_after"]["cards_inserted"]
    assert journal.counters() == {"maintenance": {"test_cards": 1}}     # not a citizen's print


def test_failed_test_card_is_audited_and_takes_no_card_when_none_was_fed(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, """
        [devices.card_printer]
        url = "sim:card_printer?faults=feeder_empty"
        """)
    run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "5")
    code, out, err = run_cli(capsys, "--config", config, "test-print", "card")
    assert code == 1 and out == ""
    [line] = [line for line in err.splitlines() if line.startswith("test-print")]
    assert line.startswith("test-print card: gagal / failed: Kartu blanko habis / Card feeder is empty")
    journal = journal_of(tmp_path)
    [entry, _] = journal.audit_trail()
    assert (entry["action"], entry["detail"]["outcome"]) == ("test_print", "failed: feeder_empty")
    assert journal.stock("cards")["remaining"] == 5


def test_test_print_with_only_a_url_records_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printer = EvolisSimulator()
    with serve_socket(printer) as link:
        code, out, err = run_cli(capsys, "--config", str(tmp_path / "absent.toml"), "test-print", "card",
                                 "--url", link.url)
    assert code == 2 and "no such configuration file" in err     # a named config must exist
    with serve_socket(printer) as link:
        code, out, err = run_cli(capsys, "test-print", "card", "--url", link.url)
    assert code == 0, err
    assert printer.snapshot()["cards"] == 1
    assert not list(tmp_path.rglob("journal.sqlite"))


@pytest.mark.parametrize("count", ["-3", "lots", "10001", "2.5"])
def test_replenish_refuses_a_count_that_is_not_a_number_of_cards(tmp_path, capsys, count):
    config = write_plain_kiosk_config(tmp_path, "")
    with pytest.raises(SystemExit) as exited:
        main(["--config", config, "maintenance", "replenish", "cards", count])
    assert exited.value.code == 2
    assert "expected a whole number from 0 to 10000" in capsys.readouterr().err
    assert journal_of(tmp_path).stock("cards")["loaded"] is None


# --- the reject box ------------------------------------------------------------------------------

def test_reject_card_sends_a_card_left_inside_to_the_reject_box(tmp_path, capsys, card_printer_on_socket):
    simulator, url = card_printer_on_socket
    config = write_plain_kiosk_config(tmp_path, f"""
        [devices.card_printer]
        url = "{url}"
        """)
    run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "20")
    leave_card_inside(url)
    assert simulator.snapshot()["card"] == "in"

    code, out, err = run_cli(capsys, "--config", config, "maintenance", "reject-card")
    assert code == 0, err
    assert "card sent to the reject box" in out
    snapshot = simulator.snapshot()
    assert (snapshot["rejected"], snapshot["card"]) == (1, None)
    journal = journal_of(tmp_path)
    entry = journal.audit_trail()[0]
    assert (entry["actor"], entry["action"], entry["detail"]["outcome"]) == ("technician", "reject_card", "rejected")
    assert entry["detail"]["counters"]["cards_inserted"] == 1
    assert journal.counters()["maintenance"] == {"cards_spoiled": 1}
    assert journal.stock("cards")["remaining"] == 19

    # nothing left inside: said so, audited, nothing counted
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "reject-card")
    assert code == 0 and "no card in the printer" in out
    assert journal.audit_trail()[0]["detail"]["outcome"] == "no card inside"
    assert simulator.snapshot()["rejected"] == 1 and journal.stock("cards")["remaining"] == 19


def test_reject_card_refused_by_the_printer_fails_with_one_line(tmp_path, capsys, card_printer_on_socket):
    simulator, url = card_printer_on_socket
    config = write_plain_kiosk_config(tmp_path, f"""
        [devices.card_printer]
        url = "{url}"
        """)
    leave_card_inside(url)
    simulator.set_cover(True)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "reject-card")
    assert code == 1 and out == ""
    [line] = [line for line in err.splitlines() if line.startswith("maintenance")]
    assert line.startswith("maintenance reject-card: gagal / failed: ")
    assert simulator.snapshot()["card"] == "in" and simulator.snapshot()["rejected"] == 0
    entry = journal_of(tmp_path).audit_trail()[0]
    assert entry["action"] == "reject_card" and entry["detail"]["outcome"].startswith("refused: ")
    assert journal_of(tmp_path).counters() == {}


def test_reject_card_without_a_card_printer_is_a_usage_error(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, "")
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "reject-card")
    assert code == 2 and "no [devices.card_printer] configured" in err


# --- the technician PIN --------------------------------------------------------------------------

def test_actions_need_the_pin_and_a_wrong_one_is_refused_and_audited(tmp_path, capsys, monkeypatch):
    config = with_pin(tmp_path, CARD_PRINTER)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 3 and out == ""
    assert err.strip() == ("maintenance replenish: gagal / failed: PIN teknisi diperlukan / technician PIN "
                           "required: set ADM_TECHNICIAN_PIN or run at a terminal")

    monkeypatch.setenv(maintenance.PIN_ENV, "000000")
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 3 and "wrong technician PIN" in err
    journal = journal_of(tmp_path)
    assert journal.stock("cards")["loaded"] is None
    [refused] = journal.audit_trail()
    assert (refused["actor"], refused["action"], refused["detail"]) == \
        ("technician", "refused", {"command": "replenish", "why": "wrong technician PIN"})

    monkeypatch.setenv(maintenance.PIN_ENV, PIN)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 0, err
    assert journal.stock("cards")["remaining"] == 30
    for name in os.listdir(tmp_path / "state"):            # neither PIN is kept anywhere
        data = (tmp_path / "state" / name).read_bytes()
        assert b"000000" not in data and PIN.encode() not in data

    # reading needs no PIN
    monkeypatch.delenv(maintenance.PIN_ENV)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "audit", "--last", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and "replenish_cards" in lines[0] and "refused" in lines[1]


def test_audit_lists_newest_first_and_as_json(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, CARD_PRINTER)
    for count in ("3", "7", "9"):
        run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", count)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "audit", "--json", "--last", "2")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["detail"]["loaded"] for row in rows] == [9, 7]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["at"]) for row in rows)
    with pytest.raises(SystemExit):
        main(["--config", config, "maintenance", "audit", "--last", "0"])


# --- the export ----------------------------------------------------------------------------------

def test_export_logs_is_redacted(tmp_path, capsys, monkeypatch):
    config = with_pin(tmp_path, "")
    journal = journal_of(tmp_path)
    journal.create_job("job-1", "doc-7", "KIA", "card_printer")
    journal.transition("job-1", "failed", reason="network", count={"failed": 1},
                       event=Event.new("job-1", "failed", "network", {"nik": "320101******0003"}))
    event = journal.next_event()
    journal.mark_attempt_failed(event.seq, "refused for 3201014501900003", 0.0)    # a raw NIK slipped in
    journal.audit("technician", "note", {"nik": "320101******0003", "name": "Siti Aminah", "pin": "654321",
                                         "ticket": 32010145019000031})
    journal.replenish("cards", 40, "technician")
    monkeypatch.setenv(maintenance.PIN_ENV, PIN)

    out_file = tmp_path / "export.json"
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "export-logs", "--out", str(out_file))
    assert code == 0, err
    text = out_file.read_text()
    assert not re.search(r"\d{16}", text)
    assert "Siti" not in text and "654321" not in text and PIN not in text
    assert "320101******0003" in text
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    exported = json.loads(text)
    assert set(exported) == {"kiosk", "exported_at", "supply_stock", "counters", "jobs", "outbox", "audit", "log"}
    [job] = exported["jobs"]
    assert (job["job_id"], job["state"], job["history"]) == ("job-1", "failed", ["created", "failed"])
    assert exported["supply_stock"]["cards"]["remaining"] == 40
    assert exported["supply_stock"]["ribbon"] == {"since": None, "by": None}
    assert exported["log"]["file"] is None
    assert [row["action"] for row in exported["audit"]] == ["replenish_cards", "note"]
    assert journal.audit_trail()[0]["action"] == "export_logs"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export.json")] == []


def test_export_logs_to_a_missing_folder_fails_and_writes_nothing(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, "")
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "export-logs",
                             "--out", str(tmp_path / "nowhere" / "x.json"))
    assert code == 2 and "no such folder" in err
    assert [row["action"] for row in journal_of(tmp_path).audit_trail()] == []


# --- status --------------------------------------------------------------------------------------

def test_status_lists_each_device_with_its_faults_and_the_card_count(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, f"""
        [devices.card_printer]
        url = "sim:card_printer?faults=feeder_empty"

        [devices.a4_printer]
        url = "sim:a4_printer?out={tmp_path / 'a4'}"

        [devices.receipt_printer]
        url = "sim:receipt_printer"

        [devices.scanner]
        url = "sim:scanner"
        """)
    run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "12")
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "status")
    assert code == 0, err
    devices = re.findall(r"^(\w+): (\w+)$", out, re.MULTILINE)
    assert {role for role, _ in devices} == {"card_printer", "a4_printer", "receipt_printer", "scanner"}
    assert dict(devices)["a4_printer"] == "ready" and dict(devices)["scanner"] == "ready"
    assert "gangguan / fault: Kartu blanko habis / Card feeder is empty [feeder_empty]" in out
    assert "kartu / cards (hitungan kiosk / kiosk count): 12 of 12 left since" in out and "low, low at 20" in out
    assert "pita / ribbon: belum ada catatan isi ulang / no refill recorded" in out
    assert "receipt paper (hitungan kiosk / kiosk count): belum diisi / never replenished" in out
    assert "outbox: 0 event(s) waiting" in out

    code, out, err = run_cli(capsys, "--config", config, "maintenance", "status", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report["devices"]) == {"card_printer", "a4_printer", "receipt_printer", "scanner"}
    card = report["devices"]["card_printer"]
    assert card["supplies"]["cards"]["level"] == "out" and card["capabilities"]["model"]
    assert report["card_stock"]["remaining"] == 12 and report["card_stock"]["level"] == "low"
    assert set(report["supplies"]) == {"cards", "ribbon", "paper_a4", "receipt_paper"}
    assert report["receipt_stock"]["remaining"] is None and report["receipt_stock"]["low_at"] == 10


def test_status_of_a_card_printer_answering_the_guides_voltages_is_ready_with_the_raw_answers(tmp_path, capsys):
    """Issue 9's report: `maintenance status` said `fault: protocol_error (Rse;o answered
    '0.21')` for a printer answering as the programming guide does. Now it is ready, with the
    voltages it cannot read (no threshold table) listed for the technician."""
    config = write_plain_kiosk_config(tmp_path, """
        [devices.card_printer]
        url = "sim:card_printer?answers=guide"
        """)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "status")
    assert code == 0, err
    assert re.search(r"^card_printer: ready$", out, re.MULTILINE) and "protocol_error" not in out
    assert "gangguan / faults: -" in out
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "status", "--json")
    card = json.loads(out)["devices"]["card_printer"]
    assert (card["state"], card["faults"]) == ("ready", [])
    assert card["capabilities"]["unreadable"] == {"Rse;o": "0.21", "Rse;m": "0.35"}
    assert card["supplies"]["cards"]["level"] == "unknown"


def test_status_with_a_bad_config_is_a_usage_error(tmp_path, capsys):
    code, out, err = run_cli(capsys, "--config", str(tmp_path / "none.toml"), "maintenance", "status")
    assert code == 2 and "maintenance status: gagal / failed:" in err and "no such configuration file" in err


# --- no PIN configured: root only; the emergency PIN in kiosk.toml -------------------------------

def test_without_any_pin_only_root_may_act(tmp_path, capsys, monkeypatch):
    config = write_plain_kiosk_config(tmp_path, CARD_PRINTER)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 3 and "no technician PIN configured: run as root" in err
    assert journal_of(tmp_path).stock("cards")["loaded"] is None
    assert journal_of(tmp_path).audit_trail()[0]["detail"]["why"] == "no technician PIN configured, not root"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 0, err


def test_the_emergency_pin_in_kiosk_toml_opens_the_commands(tmp_path, capsys, monkeypatch):
    config = write_plain_kiosk_config(tmp_path, CARD_PRINTER)
    text = open(config).read().replace('state_dir = "state"\n', 'state_dir = "state"\n'
                                       f'emergency_technician_pin_hash = "{hash_technician_pin(PIN)}"\n')
    open(config, "w").write(text)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)      # a PIN is set: root is not what counts
    monkeypatch.setenv(maintenance.PIN_ENV, "111111")
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 3 and "wrong technician PIN" in err
    monkeypatch.setenv(maintenance.PIN_ENV, PIN)
    code, out, err = run_cli(capsys, "--config", config, "maintenance", "replenish", "cards", "30")
    assert code == 0, err
