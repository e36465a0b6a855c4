"""The fleet page's views over real loopback HTTP, without a browser: what they answer to bad
addresses, the language switch, the chart's image, and counts that reach the page."""

from __future__ import annotations

import pytest
import requests

from dinas import auth, fleet
from tests.fixtures.dinas_server import on_both_backends, reference_server  # noqa: F401
from tests.fixtures.fleet_page import CSRF, add_kiosks, heartbeat, local_day, login, send


@pytest.fixture
def admin(reference_server):  # noqa: F811
    session = requests.Session()
    login(session, reference_server)
    session.base = reference_server.url.removesuffix("/api/v1")
    return session


def _get(admin, path: str, **options) -> requests.Response:
    return admin.get(f"{admin.base}{path}", timeout=10, allow_redirects=False, **options)


@pytest.mark.parametrize("path, status, words", [
    ("/admin/?show=everything", 400, "Permintaan tidak valid"),
    ("/admin/?page=abc", 400, "Permintaan tidak valid"),
    ("/admin/?page=%D9%A3", 400, "Permintaan tidak valid"),            # an Arabic-Indic 3
    ("/admin/?group=" + "g" * 65, 400, "Permintaan tidak valid"),
    ("/admin/?group=g%00", 400, "Permintaan tidak valid"),             # a NUL: PostgreSQL's text has none
    ("/admin/kiosks/ADM-BDG-01%00", 404, "tidak ada"),
    ("/admin/kiosks/ADM-NOPE-99", 404, "tidak ada"),
    ("/admin/kiosks/ADM-NOPE-99/chart.svg", 404, "tidak ada"),
    ("/admin/kiosks/ADM-BDG-01?beats=5", 400, "Permintaan tidak valid"),
    ("/admin/kiosks/ADM-BDG-01/chart.svg?size=huge", 400, "Permintaan tidak valid"),
    ("/admin/language/fr", 404, "tidak ada"),
])
def test_a_bad_address_gets_a_clear_page(admin, path, status, words):
    reply = _get(admin, path)
    assert reply.status_code == status
    assert reply.headers["Content-Type"].startswith("text/html") and words in reply.text


def test_an_unknown_group_says_so(admin):
    reply = _get(admin, "/admin/?group=kota-bogor")
    assert reply.status_code == 200 and "Tidak ada kios di grup kota-bogor." in reply.text


@pytest.mark.parametrize("target, lands", [
    ("/admin/kiosks/ADM-BDG-01", "/admin/kiosks/ADM-BDG-01"), ("//evil.example/admin", "/admin/"),
    ("https://evil.example/", "/admin/"), ("/admin\\@evil.example", "/admin/"), ("", "/admin/"),
])
def test_the_language_switch_stays_on_this_page_and_is_remembered(admin, target, lands):
    reply = _get(admin, "/admin/language/en", params={"next": target})
    assert reply.status_code == 303 and reply.headers["Location"] == lands
    assert '<html lang="en">' in _get(admin, "/admin/").text
    assert "Printed today" in _get(admin, "/admin/").text


def test_the_chart_is_an_svg_image_under_a_strict_policy(admin):
    for size in ("wide", "narrow"):
        reply = _get(admin, f"/admin/kiosks/ADM-BDG-01/chart.svg?size={size}")
        assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("image/svg+xml")
        assert reply.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert b"Tercetak" in reply.content and b"Gagal" in reply.content


def test_todays_prints_and_failures_reach_the_list_and_the_detail(reference_server, admin):  # noqa: F811
    kiosk = reference_server.kiosks[1]
    send(reference_server, kiosk["token"], heartbeat(kiosk["kiosk_id"], local_day(reference_server), 41, 6))
    listing = _get(admin, "/admin/").text
    card = listing[listing.index(f'id="kiosk-{kiosk["kiosk_id"]}"'):]
    card = card[:card.index("</li>")]
    assert '<dd class="printed">41</dd>' in card and '<dd class="failed tone-text-bad">6</dd>' in card
    detail = _get(admin, f"/admin/kiosks/{kiosk['kiosk_id']}").text
    assert '<dd class="printed">41</dd>' in detail
    assert "Jumlah 30 hari: 41 tercetak, 6 gagal" in detail
    # Yesterday's heartbeat counts for yesterday, not today.
    other = reference_server.kiosks[2]
    reference_server.clock.advance(-86400)
    send(reference_server, other["token"], heartbeat(other["kiosk_id"], local_day(reference_server), 9, 1))
    reference_server.clock.advance(86400)
    listing = _get(admin, "/admin/").text
    card = listing[listing.index(f'id="kiosk-{other["kiosk_id"]}"'):]
    assert '<dd class="printed">0</dd>' in card[:card.index("</li>")]
    assert "Jumlah 30 hari: 9 tercetak, 1 gagal" in _get(admin, f"/admin/kiosks/{other['kiosk_id']}").text


def test_what_a_kiosk_sends_is_shown_as_text_never_as_markup(reference_server, admin):  # noqa: F811
    kiosk = reference_server.kiosks[0]
    beat = heartbeat(kiosk["kiosk_id"], local_day(reference_server), 1, 0,
                     software_version='<img src=x onerror="alert(1)">',
                     devices={"<script>alert(2)</script>": {"state": "ready", "faults": [
                         {"code": "<b>bold</b>", "severity": "alarm"}]}})
    send(reference_server, kiosk["token"], beat)
    for path in ("/admin/", f"/admin/kiosks/{kiosk['kiosk_id']}"):
        text = _get(admin, path).text
        assert "<script>alert(2)</script>" not in text and "<img src=x" not in text and "<b>bold</b>" not in text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text and "&lt;b&gt;bold&lt;/b&gt;" in text


def test_a_large_fleet_comes_a_hundred_kiosks_to_a_page(reference_server, admin):  # noqa: F811
    add_kiosks(reference_server, [(f"ADM-X-{n:03d}", "kota-besar") for n in range(120)])
    first = _get(admin, "/admin/").text
    assert first.count('<li class="kiosk ') == 100 and "Halaman 1 dari 2" in first
    assert 'href="/admin/?page=2"' in first
    second = _get(admin, "/admin/?page=2").text
    assert second.count('<li class="kiosk ') == 23 and "Halaman 2 dari 2" in second
    assert 'href="/admin/?page=2"' not in second
    assert _get(admin, "/admin/?page=9").text.count('<li class="kiosk ') == 23      # past the end: the last
    grouped = _get(admin, "/admin/?group=kota-besar&page=2").text
    assert grouped.count('<li class="kiosk ') == 20 and "ADM-X-119" in grouped


def test_a_revoked_kiosk_says_so_and_is_neither_offline_nor_needing_action(reference_server, admin):  # noqa: F811
    kiosk = reference_server.kiosks[0]
    send(reference_server, kiosk["token"], heartbeat(kiosk["kiosk_id"], local_day(reference_server), 1, 0))
    with reference_server.writing() as connection:          # as `adm-dinas kiosk revoke` does
        auth.revoke_kiosk(connection, kiosk["kiosk_id"], reference_server.clock())
    reference_server.clock.advance(fleet.ONLINE_SECONDS + 1)      # silent since: no longer online
    listing = _get(admin, "/admin/").text
    assert listing.rindex('<li class="kiosk ') < listing.index(f'id="kiosk-{kiosk["kiosk_id"]}"'), "revoked: last"
    assert "Dicabut: tokennya tidak berlaku lagi" in listing
    for show in ("offline", "needs"):
        assert f'id="kiosk-{kiosk["kiosk_id"]}"' not in _get(admin, f"/admin/?show={show}").text


def test_a_dinas_without_kiosks_is_told_how_to_add_one(tmp_path):
    from dinas.server import create_app
    from dinas.storage import open_store

    client = create_app(str(tmp_path / "new.db"), key_path=str(tmp_path / "new.key")).test_client()
    store = open_store(str(tmp_path / "new.db"), key_path=str(tmp_path / "new.key"))
    with store.database.write() as connection:
        token = auth.issue_admin_token(connection, store.vault, 0.0)
    store.close()
    form = client.get("/admin/login")
    client.post("/admin/login", data={"csrf_token": CSRF.search(form.text).group(1), "token": token})
    page = client.get("/admin/")
    assert page.status_code == 200 and "Belum ada kios yang terdaftar" in page.text
    assert "Tidak ada kios di grup" not in page.text
