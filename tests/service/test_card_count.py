"""The kiosk's own blank-card count where the card printer cannot sense its feeder
(`sim:card_printer?answers=minimal`: firmware that answers the feeder read with a bare OK):
a running kiosk stops offering the KIA at 0 cards by count, says `cards_low` in its heartbeat
at or under the low mark, and the reference dinas lists it among what the kiosk needs."""

from __future__ import annotations

from kiosk.journal import CARDS_SPOILED, Journal, journal_path
from printer_drivers import registry
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import kiosk_runtimes, write_kiosk_config
from tests.service.test_heartbeat import fleet_entry, wait_for


def replenish(directory, cards: int, spoiled: int = 0) -> None:
    journal = Journal(journal_path(directory / "state"))
    try:
        journal.replenish("cards", cards, "technician")
        if spoiled:
            journal.count("KIA", CARDS_SPOILED, spoiled)     # a print that spoiled a card
    finally:
        journal.close()


def test_kia_is_unavailable_at_zero_cards_by_count(reference_server, tmp_path):  # noqa: F811
    directory = tmp_path / "kiosk"
    config = write_kiosk_config(reference_server, directory, card="answers=minimal")
    replenish(directory, 1, spoiled=1)
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    with kiosk_runtimes() as start:
        runtime = start(config)
        status = runtime.devices.statuses()["card_printer"]
        cards = next(s for s in status.supplies if s.consumable.value == "cards")
        assert (cards.level.value, cards.count) == ("out", 0) and not status.usable
        view = wait_for(lambda: runtime.engine.view.available_kinds and runtime.engine.view, what="gating")
        assert view.available_kinds == registry.kinds_for("a4_printer")
        entry = wait_for(lambda: (e := fleet_entry(reference_server, kiosk_id))["online"] and e, what="a beat")
    assert "card_printer:cards_out" in entry["needs"] and "card_printer:feeder_empty" in entry["needs"]
    assert entry["devices"]["card_printer"]["supplies"]["cards"] == {"level": "out", "count": 0}


def test_low_count_is_cards_low_in_the_heartbeat_and_the_fleet(reference_server, tmp_path):  # noqa: F811
    directory = tmp_path / "kiosk"
    config = write_kiosk_config(reference_server, directory, card="answers=minimal",
                                settings="cards_low = 10\n")
    replenish(directory, 8)
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    with kiosk_runtimes() as start:
        runtime = start(config)
        payload = runtime.heartbeat.payload()
        assert payload["cards_low"] is True
        assert payload["counters"]["card_stock"]["level"] == "low"
        assert payload["counters"]["card_stock"]["low_at"] == 10
        assert set(wait_for(lambda: runtime.engine.view.available_kinds, what="gating")) == set(registry.kind_codes())
        entry = wait_for(lambda: (e := fleet_entry(reference_server, kiosk_id))["online"] and e, what="a beat")
    assert "card_printer:cards_low" in entry["needs"]
    assert entry["devices"]["card_printer"]["supplies"]["cards"] == {"level": "low", "count": 8}


def test_a_printer_that_senses_its_feeder_is_believed(reference_server, tmp_path):  # noqa: F811
    directory = tmp_path / "kiosk"
    config = write_kiosk_config(reference_server, directory)
    replenish(directory, 0)        # the count says none, the sensor says full: the sensor wins
    with kiosk_runtimes() as start:
        runtime = start(config)
        assert runtime.devices.statuses()["card_printer"].usable
        assert runtime.heartbeat.payload()["cards_low"] is False
