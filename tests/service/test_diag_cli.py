"""`adm-kiosk diag [--json]` through the real CLI entry point: the simulators speaking their
real protocols, the dinas over loopback HTTP (the reference server, or a TLS server whose
certificate is or is not trusted), one case per fault state with its exit status."""

from __future__ import annotations

import json
import ssl

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_socket
from kiosk.cli import main
from kiosk.journal import Event, Journal, journal_path
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.hostile_server import HostileServer, json_reply
from tests.fixtures.kiosk import DISCARD_DINAS, write_plain_kiosk_config
from tests.service.test_client_tls import self_signed

def kiosk_toml(folder, *, card="sim:card_printer", a4="sim:a4_printer", receipt="sim:receipt_printer",
               dinas=DISCARD_DINAS, token="kiosk-token", dinas_options="", settings="") -> str:
    a4 = a4 + ("&" if "?" in a4 else "?") + f"out={folder / 'a4'}"
    return write_plain_kiosk_config(folder, f"""
        [devices.card_printer]
        url = "{card}"
        required = true

        [devices.a4_printer]
        url = "{a4}"
        required = true

        [devices.receipt_printer]
        url = "{receipt}"
        """, settings, kiosk_id="KIOSK-DIAG-01", dinas_url=dinas, token=token, dinas_options=dinas_options)


def diag(capsys, config: str) -> tuple[int, dict]:
    code = main(["--config", config, "diag", "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out)


def test_healthy_kiosk_is_ready_with_every_figure(tmp_path, capsys, reference_server):  # noqa: F811
    kiosk = reference_server.kiosks[0]
    config = kiosk_toml(tmp_path, dinas=reference_server.url, token=kiosk["token"])
    assert main(["--config", config, "maintenance", "replenish", "cards", "150"]) == 0
    journal = Journal(journal_path(tmp_path / "state"))
    journal.enqueue(Event.new("job-1", "printed"))
    journal.mark_attempt_failed(1, "DinasUnavailable: no answer", retry_at=0)
    journal.close()
    capsys.readouterr()
    code, report = diag(capsys, config)
    assert code == 0 and report["ready"] is True and report["not_ready"] == {}
    card = report["devices"]["card_printer"]
    assert card["state"] == "ready" and card["required"] is True and card["faults"] == []
    assert (card["model"], card["firmware"], card["serial"]) == ("Evolis KC200", "1.7.2", "SIMKC200-0001")
    assert card["counters"] == {"cards_inserted": 0, "panels_printed": 0, "cleanings_done": 0}
    assert card["cleaning"] == {"cards_since": None, "last_at": None, "last_by": None, "cleanings_done": 0,
                                "due": False}                     # no cleaning recorded yet
    assert card["supplies"]["cards"]["level"] == "full"          # the printer senses it: its word wins
    assert report["devices"]["receipt_printer"]["required"] is False
    assert report["card_stock"]["remaining"] == 150 and report["cards_low"] is False
    assert report["outbox"]["depth"] == 1 and report["outbox"]["oldest_at"]
    assert report["outbox"]["last_error"] == "DinasUnavailable: no answer"
    dinas = report["dinas"]
    assert dinas["reachable"] is True and dinas["tls"] == "not used" and 0 < dinas["latency_ms"] < 5000
    assert report["config"] == {"version": None, "source": "kiosk.toml", "expires_at": None, "last": None}

    code = main(["--config", config, "diag"])
    out, _ = capsys.readouterr()
    assert code == 0 and "SIAP / READY" in out and "reachable in" in out


@pytest.mark.parametrize("devices, role, fault", [
    ({"card": "sim:card_printer?faults=feeder_empty"}, "card_printer", "feeder_empty"),
    ({"card": "sim:card_printer?ribbon_prints=0"}, "card_printer", "ribbon_out"),
    ({"a4": "sim:a4_printer?fault=media-empty"}, "a4_printer", "paper_out"),
    ({"receipt": "sim:receipt_printer?faults=paper_out"}, "receipt_printer", "paper_out"),
])
def test_each_fault_state_is_reported_with_what_to_do(tmp_path, capsys, devices, role, fault):
    code, report = diag(capsys, kiosk_toml(tmp_path, **devices))
    device = report["devices"][role]
    assert device["ready"] is False and device["not_ready_because"] == fault
    entry = next(f for f in device["faults"] if f["code"] == fault)
    assert entry["what_to_do"]["id"] and entry["what_to_do"]["en"] and entry["message"]["en"]
    if role == "receipt_printer":          # never required: the kiosk serves without receipts
        assert code == 0 and report["ready"] is True
    else:
        assert code == 1 and report["not_ready"] == {role: fault}
    assert report["dinas"]["reachable"] is False and "ConnectionRefused" in report["dinas"]["detail"]


def test_cleaning_due_and_the_cards_since_the_last_cleaning(tmp_path, capsys):
    from kiosk.diagnostics import CLEANED, CLEANING_ACTION

    simulator = EvolisSimulator(faults=["needs_cleaning"])
    simulator.counters.update(cards=57, cleanings=4)
    (tmp_path / "state").mkdir()
    journal = Journal(journal_path(tmp_path / "state"))
    journal.audit("technician", CLEANING_ACTION, {"role": "card_printer", "outcome": CLEANED, "cards_inserted": 45})
    journal.close()
    with serve_socket(simulator) as link:
        code, report = diag(capsys, kiosk_toml(tmp_path, card=link.url))
    cleaning = report["devices"]["card_printer"]["cleaning"]
    assert cleaning["cards_since"] == 12 and cleaning["cleanings_done"] == 4 and cleaning["due"] is True
    assert cleaning["last_by"] == "technician" and cleaning["last_at"]
    assert code == 1 and report["not_ready"] == {"card_printer": "needs_cleaning"}
    with serve_socket(simulator) as link:                  # the console's words carry the same figures
        assert main(["--config", kiosk_toml(tmp_path, card=link.url), "diag"]) == 1
    assert ("pembersihan / cleaning: 12 kartu sejak terakhir / cards since the last, " + cleaning["last_at"]
            + " (technician); hitungan printer / printer's count 4; PERLU SEKARANG / DUE NOW") in capsys.readouterr().out


def test_cover_open_is_not_ready(tmp_path, capsys):
    simulator = EvolisSimulator()
    simulator.set_cover(True)
    with serve_socket(simulator) as link:
        code, report = diag(capsys, kiosk_toml(tmp_path, card=link.url))
    assert code == 1 and report["not_ready"] == {"card_printer": "cover_open"}
    assert "cover" in report["devices"]["card_printer"]["faults"][0]["what_to_do"]["en"]


def test_a_feeder_that_cannot_sense_is_gated_by_the_kiosk_count(tmp_path, capsys):
    config = kiosk_toml(tmp_path, card="sim:card_printer?answers=minimal")
    code, report = diag(capsys, config)
    assert code == 0 and report["devices"]["card_printer"]["supplies"]["cards"]["level"] == "unknown"
    main(["--config", config, "maintenance", "replenish", "cards", "5"])
    capsys.readouterr()
    code, report = diag(capsys, config)
    card = report["devices"]["card_printer"]
    assert code == 0 and card["supplies"]["cards"] == {"level": "low", "count": 5} and report["cards_low"] is True
    assert [f["code"] for f in card["faults"]] == ["feeder_low"]
    main(["--config", config, "maintenance", "replenish", "cards", "0"])
    capsys.readouterr()
    code, report = diag(capsys, config)
    assert code == 1 and report["not_ready"] == {"card_printer": "feeder_empty"}
    assert report["devices"]["card_printer"]["supplies"]["cards"] == {"level": "out", "count": 0}


def test_bad_configuration_exits_2(tmp_path, capsys):
    (tmp_path / "kiosk.toml").write_text("[kiosk]\nid = 3\n")
    code = main(["--config", str(tmp_path / "kiosk.toml"), "diag", "--json"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("diag: gagal / failed:")


@pytest.fixture
def tls_dinas(tmp_path):
    cert, key = self_signed(tmp_path, "dinas")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HostileServer(tls=context)
    server.on("GET", "/api/v1/openapi.yaml", json_reply(200, {"openapi": "3.1.0"}))
    try:
        yield server, cert
    finally:
        server.close()


def test_tls_is_reported_verified_or_failed(tmp_path, capsys, tls_dinas):
    server, cert = tls_dinas
    trusted = kiosk_toml(tmp_path, dinas=server.url, dinas_options=f'ca_file = "{cert}"\n')
    _, report = diag(capsys, trusted)
    assert report["dinas"]["reachable"] is True and report["dinas"]["tls"] == "verified"
    other, _ = self_signed(tmp_path, "someone-else")
    untrusted = kiosk_toml(tmp_path, dinas=server.url, dinas_options=f'ca_file = "{other}"\n')
    _, report = diag(capsys, untrusted)
    assert report["dinas"]["reachable"] is False and report["dinas"]["tls"] == "failed"


def test_receipt_stock_and_refills_beside_the_card_stock(tmp_path, capsys, monkeypatch):
    """The CLI's refills (`replenish receipt_paper N`, `refilled ribbon|paper_a4`) in
    `diag --json`: the receipt count gates the receipt printer where its roll is not sensed
    (a receipt printer is never required: still exit 0), each refill with when and by whom."""
    monkeypatch.setattr("os.geteuid", lambda: 0)           # no technician PIN configured: root acts
    config = kiosk_toml(tmp_path, receipt="sim:receipt_printer?faults=odd_status")
    for argv in (["replenish", "receipt_paper", "0"], ["refilled", "ribbon"], ["refilled", "paper_a4"]):
        assert main(["--config", config, "maintenance", *argv]) == 0
    out, _ = capsys.readouterr()
    assert "0 kertas struk / receipt paper tercatat / recorded at" in out
    assert "pita / ribbon tercatat / recorded at" in out
    code, report = diag(capsys, config)
    receipt = report["devices"]["receipt_printer"]
    assert code == 0 and receipt["ready"] is False and receipt["not_ready_because"] == "paper_out"
    assert receipt["supplies"]["receipt_paper"] == {"level": "out", "count": 0}
    assert report["receipt_stock"] == {"loaded": 0, "used": 0, "remaining": 0, "since": report["receipt_stock"]["since"],
                                       "by": "technician", "low_at": 10, "level": "out"}
    supplies = report["supplies"]
    assert set(supplies) == {"cards", "ribbon", "paper_a4", "receipt_paper"}
    assert (supplies["ribbon"]["role"], supplies["ribbon"]["counted"], supplies["ribbon"]["by"]) == \
        ("card_printer", False, "technician")
    assert supplies["paper_a4"]["since"] and supplies["cards"]["since"] is None
    code = main(["--config", config, "diag"])
    out, _ = capsys.readouterr()
    assert "pita / ribbon: terakhir diganti / last refilled" in out and "by technician" in out
    assert "receipt paper (hitungan kiosk / kiosk count): 0 of 0 left" in out


def test_a_refill_of_a_supply_no_printer_takes_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    config = kiosk_toml(tmp_path)
    text = open(config).read()
    open(config, "w").write(text[:text.index("[devices.receipt_printer]")])       # no receipt printer
    assert main(["--config", config, "maintenance", "replenish", "receipt_paper", "200"]) == 2
    assert "no configured printer takes receipt_paper" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["--config", config, "maintenance", "refilled", "cards"])          # counted: replenish N
    assert exited.value.code == 2 and "invalid choice: 'cards'" in capsys.readouterr().err
    journal = Journal(journal_path(tmp_path / "state"))
    assert journal.audit_trail() == [] and journal.stock("receipt_paper")["loaded"] is None


def test_an_empty_dinas_contact_is_named_until_it_is_set(tmp_path, capsys):
    """Without `dinas_contact` every 'call the dinas' message has no number (issue 14):
    diag says so, in JSON and in words, until the deployment sets it."""
    config = kiosk_toml(tmp_path)
    _, report = diag(capsys, config)
    assert report["settings_unset"] == ["dinas_contact"]
    main(["--config", config, "diag"])
    out, _ = capsys.readouterr()
    assert "dinas_contact kosong / is empty" in out

    config = kiosk_toml(tmp_path, settings='[settings]\ndinas_contact = "Disdukcapil Kab. Bogor, (021) 555-0100"\n')
    _, report = diag(capsys, config)
    assert report["settings_unset"] == []
    main(["--config", config, "diag"])
    out, _ = capsys.readouterr()
    assert "dinas_contact" not in out
