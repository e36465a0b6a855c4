"""The fleet page's pieces without a server: daily counts from heartbeats, the words, the
chart, and what each kiosk's card says."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import date
from pathlib import Path

import pytest

from dinas import fleet
from dinas.clock import iso
from dinas.storage import open_store
from dinas.web import chart, view
from dinas.web.i18n import LANGUAGES, MISSING_MARK, Translations

WEB = Path(fleet.__file__).with_name("web")
NOW = 1_796_000_000.0                       # 2026-11-29T...Z
TODAY = iso(NOW)[:10]


@pytest.fixture
def connection(tmp_path):
    store = open_store(tmp_path / "dinas.db", pin_secret=b"k" * 32)
    with store.database.session() as connection:
        connection.run("INSERT INTO kiosks (kiosk_id, grp, created_at) VALUES ('K1', 'g', 0)")
        yield connection
    store.close()


def _beat(counters):
    return {"software_version": "1", "config_version": None, "uptime_s": 1.0, "devices": {}, "counters": counters,
            "outbox_depth": 0, "last_faults": []}


def test_day_totals_sum_the_document_kinds_and_leave_out_test_prints():
    counters = {"day": "2026-11-29", "today": {"KK": {"printed": 7, "failed": 1, "refused": 4},
                                               "KIA": {"printed": 2, "failed": 3, "cards_spoiled": 1},
                                               "maintenance": {"printed": 9, "test_cards": 2}}}
    assert fleet.day_totals(counters) == ("2026-11-29", 9, 4)


@pytest.mark.parametrize("counters", [
    {}, {"day": "2026-11-29"}, {"day": "2026-02-30", "today": {}}, {"day": "29-11-2026", "today": {}},
    {"day": "２０２６-11-29", "today": {}}, {"day": 20261129, "today": {}}, {"day": "2026-11-29", "today": []},
])
def test_day_totals_refuse_a_malformed_day(counters):
    assert fleet.day_totals(counters) is None


def test_day_totals_count_only_sane_numbers():
    counters = {"day": "2026-11-29", "today": {"KK": {"printed": True, "failed": -3}, "KIA": {"printed": 10**9},
                                               "X": {"printed": 2.5, "failed": "4"}, "Y": "junk"}}
    assert fleet.day_totals(counters) == ("2026-11-29", 0, 0)


def test_each_heartbeat_replaces_the_days_count_and_a_wrong_clock_is_ignored(connection):
    for printed in (3, 5):
        fleet.store_heartbeat(connection, NOW, "K1", _beat({"day": TODAY, "today": {"KK": {"printed": printed}}}))
    fleet.store_heartbeat(connection, NOW, "K1", _beat({"day": "2020-01-01", "today": {"KK": {"printed": 99}}}))
    fleet.store_heartbeat(connection, NOW, "K1", _beat({"day": "2099-01-01", "today": {"KK": {"printed": 99}}}))
    assert fleet.counts_on(connection, TODAY) == {"K1": (5, 0)}
    assert fleet.daily_counts(connection, "K1", "2000-01-01") == {TODAY: (5, 0)}
    assert [entry["beat"]["counters"]["day"] for entry in fleet.history(connection, "K1", 2)] == \
        ["2099-01-01", "2020-01-01"]


def test_old_daily_counts_are_pruned_with_the_heartbeats(connection, monkeypatch):
    monkeypatch.setattr(fleet, "PRUNE_EVERY", 1)
    connection.run("INSERT INTO kiosk_days (kiosk_id, day, printed, failed) VALUES ('K1', '2020-01-01', 1, 1)")
    fleet.store_heartbeat(connection, NOW, "K1", _beat({}))
    assert fleet.daily_counts(connection, "K1", "2000-01-01") == {}


def test_both_catalogues_have_every_key_the_page_uses():
    translations = Translations()
    id_keys, en_keys = (set(translations.catalogues[lang]) for lang in ("id", "en"))
    assert LANGUAGES == ("id", "en")
    assert id_keys == en_keys
    used = set()
    for path in [*WEB.glob("*.py"), *WEB.glob("templates/fleet_web/*.html")]:
        text = path.read_text()
        used |= set(re.findall(r"""(?:\b_|words\(\)|\bw|words)\(\s*["']([a-z_]+\.[a-z_.]+)["']""", text))
    used = {key for key in used if not key.endswith(("_", "."))}      # a prefix the page completes:
    used |= {f"{prefix}{key}" for prefix in ("filter.", "fleet.title_") for key in ("all", "needs", "offline")}
    used |= {f"language.{lang}" for lang in LANGUAGES}
    assert used, "the scan found no keys"
    assert used - id_keys == set()


def test_a_missing_key_shows_visibly_and_an_unknown_code_as_sent():
    words = Translations().words("en", 420, "WIB")
    assert words("no.such.key") == MISSING_MARK.format("no.such.key")
    assert words.open_word("fault", "laser_overheat") == "laser_overheat"
    assert words.open_word("fault", "ribbon_out") == "Ribbon is out"
    assert Translations().words("fr", 420, "WIB").language == "id"


def test_the_chart_is_an_svg_with_both_series_and_no_script_from_elsewhere():
    days = chart.days_ending(date(2026, 11, 29))
    assert len(days) == 30 and days[0] == date(2026, 10, 31) and days[-1] == date(2026, 11, 29)
    for shape in chart.SHAPES.values():
        svg = chart.prints_per_day(days, {"2026-11-29": (12, 3), "2026-11-01": (40, 0)}, printed_label="Printed",
                                   failed_label="Failed", day_label="{day}/{month}", shape=shape)
        root = ElementTree.fromstring(svg)
        assert root.tag.endswith("svg") and root.get("viewBox") == f"0 0 {shape.width} {shape.height}"
        text = svg.decode()
        assert "Printed" in text and "Failed" in text and "29/11" in text
        assert not re.search(r"<script[^>]+src=", text)
        assert text.count('class="rect reactive tooltip-trigger"') == 60


def test_the_axis_counts_in_whole_steps():
    assert chart.whole_number_ticks(0) == [0, 1]
    assert chart.whole_number_ticks(4) == [0, 1, 2, 3, 4]
    assert chart.whole_number_ticks(9) == [0, 2, 4, 6, 8, 10]
    assert chart.whole_number_ticks(23) == [0, 5, 10, 15, 20, 25]
    assert chart.whole_number_ticks(1234) == [0, 500, 1000, 1500]


def _status(**changes):
    status = {"kiosk_id": "K1", "group": "g", "online": True, "last_seen": iso(NOW - 30), "software_version": "1.2",
              "config_version": 4, "devices": {
                  "card_printer": {"state": "user_error", "supplies": {"ribbon": {"level": "out", "count": None},
                                                                      "cards": {"level": "full", "count": 90}},
                                   "faults": [{"code": "ribbon_out", "severity": "alarm"}]},
                  "scanner": {"state": "ready"}, "a4_printer": {"state": "ready"}},
              "counters": {}, "outbox_depth": 12, "last_faults": [], "last_config_report": None,
              "needs": ["card_printer:ribbon_out"]}
    status.update(changes)
    return status


def test_a_kiosk_card_says_what_needs_doing_in_words_and_tone():
    words = Translations().words("id", 420, "WIB")
    card = view.kiosk_view(words, _status(), NOW, (17, 2))
    assert card.status == view.Chip("Perlu tindakan", "bad")
    assert card.supplies_needing_action == (view.Chip("Pita: habis", "bad"),)
    assert card.faults == (view.Chip("Pita habis", "bad"),)
    assert card.device_states == (view.Chip("Printer kartu: perlu ditangani", "bad"),
                                  view.Chip("Printer A4, Pemindai: siap", "ok"))
    assert card.outbox == view.Chip("12 menunggu", "warn")
    assert (card.printed_today, card.failed_today) == (17, 2)
    assert card.last_seen_ago == "30 detik yang lalu"


def test_a_rejected_or_expired_configuration_needs_action_and_offline_says_so():
    words = Translations().words("en", 420, "WIB")
    rejected = view.kiosk_view(words, _status(needs=[], devices={}, last_config_report={
        "version": 5, "result": "rejected", "reason": "bad signature", "at": iso(NOW)}), NOW, (0, 0))
    assert rejected.needs_action and rejected.config == view.Chip("version 4 running; version 5: rejected", "bad")
    offline = view.kiosk_view(words, _status(kiosk_id="K9", online=False), NOW, (0, 0))
    never = view.kiosk_view(words, _status(kiosk_id="K0", online=False, last_seen=None, devices={}, needs=[]),
                            NOW, (0, 0))
    assert offline.status == view.Chip("Offline", "bad") and never.status == view.Chip("Never connected", "muted")
    stale = view.kiosk_view(words, _status(needs=[], devices={}, config_stale=True), NOW, (0, 0))
    assert stale.needs_action and stale.config == view.Chip(
        "version 4, no report yet; expired, publish a new one", "warn")
    # The page's order of these is tested on the database: tests/service/test_fleet_page_flags.py.


def test_the_database_keeps_no_session_id_in_clear(tmp_path):
    from dinas import auth
    from dinas.vault import Vault
    from dinas.web import admin_sessions

    import sqlite3

    path = tmp_path / "dinas.db"
    store = open_store(path, pin_secret=b"k" * 32)
    vault = Vault(b"k" * 32)
    with store.database.session() as connection:
        token = auth.issue_admin_token(connection, vault, NOW)
        session_id, session = admin_sessions.start(connection, vault, NOW, token)
        assert admin_sessions.find(connection, vault, NOW + 1, session_id) == session
        assert admin_sessions.find(connection, vault, NOW + 1, session_id + "x") is None
        assert admin_sessions.start(connection, vault, NOW, token + "x") is None
    store.close()
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert session_id not in dump and token not in dump
