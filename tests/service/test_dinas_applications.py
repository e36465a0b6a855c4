"""POST /admin/applications: the PIN, the WhatsApp message, the recorded outbox, bad input."""

from __future__ import annotations

import base64
import io
import re

import pytest
import requests
import zxingcpp
from PIL import Image

from dinas.documents import kia_pdf, kk_pdf
from dinas.message import qr_png
from dinas.seed import demo_families
from tests.fixtures.dinas_server import pin_of, on_both_backends, reference_server, validate_response  # noqa: F401

TIMEOUT = 30
FAMILY, APPLICANT, _, _ = demo_families()[2]
KK = kk_pdf(FAMILY, "Disdukcapil Demo")
KIA = kia_pdf(FAMILY, FAMILY.members[3], "Disdukcapil Demo")
NIK = "3273026302920005"      # a woman born 23-02-1992


def post(server, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else server.admin_headers()
    reply = requests.post(f"{server.url}/admin/applications", json=body, headers=headers, timeout=TIMEOUT)
    validate_response(reply, "POST", "/admin/applications")
    return reply


def application(**changes):
    body = {"nik": NIK, "name": "Siti Nurhaliza Putri", "phone": "0811-0000-0505",
            "documents": [{"kind": "KK", "title": "Kartu Keluarga", "pdf_base64": base64.b64encode(KK).decode()},
                          {"kind": "KIA", "title": "KIA Natalia", "pdf_base64": base64.b64encode(KIA).decode()}]}
    body.update(changes)
    return body


def test_application_issues_a_pin_and_the_whatsapp_message(reference_server):
    reply = post(reference_server, application(valid_days=3))
    assert reply.status_code == 201
    body = reply.json()
    assert re.fullmatch(r"REQ-\d{8}-[A-Z0-9]{6}", body["request_no"])
    assert body["message"]["to"] == "+62811*****505"
    assert body["message"]["qr_payload"] == f"ADM1:{body['request_no']}"
    # The PIN reaches only the notifier (the citizen's WhatsApp), never the admin's reply.
    assert set(body["message"]) == {"to", "qr_payload", "sent"} and "text" not in reply.text
    recorded = reference_server.messages()[-1]
    text, pin = recorded.text, pin_of(recorded.text)
    assert pin not in reply.text
    assert "Dinas Kependudukan dan Pencatatan Sipil Kota Bandung" in text      # who it is from
    assert f"Nomor permohonan: {body['request_no']}" in text
    assert re.search(r"Berlaku sampai: \d{1,2} (Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|"
                     r"Oktober|November|Desember) \d{4} pukul \d{2}\.\d{2} WIB", text)
    assert "Mal Pelayanan Publik Kota Bandung" in text                          # where the kiosks are
    assert [(d["kind"], d["media"], d["pages"]) for d in body["documents"]] == [("KK", "a4", 1), ("KIA", "card", 2)]

    assert recorded.to == "+6281100000505" and recorded.request_no == body["request_no"]
    assert recorded.qr_png == qr_png(f"ADM1:{body['request_no']}")
    qr_image = Image.open(io.BytesIO(recorded.qr_png))
    assert qr_image.format == "PNG"
    assert [code.text for code in zxingcpp.read_barcodes(qr_image)] == [f"ADM1:{body['request_no']}"]

    session = requests.post(f"{reference_server.url}/kiosk/sessions", json={"nik": NIK, "pin": pin},
                            headers=reference_server.kiosk_headers(), timeout=TIMEOUT)
    assert session.status_code == 201 and session.json()["request_no"] == body["request_no"]
    assert session.json()["holder"]["name_masked"] == "Si** Nu******* Pu***"


def test_two_applications_for_one_nik_each_open_their_own(reference_server):
    first = post(reference_server, application()).json()
    second = post(reference_server, application(documents=application()["documents"][:1])).json()
    for issued in (first, second):
        pin = reference_server.pin_for(issued["request_no"])
        reply = requests.post(f"{reference_server.url}/kiosk/sessions", json={"nik": NIK, "pin": pin},
                              headers=reference_server.kiosk_headers(), timeout=TIMEOUT)
        assert reply.json()["request_no"] == issued["request_no"]


def test_given_request_number_is_used_once(reference_server):
    assert post(reference_server, application(request_no="REQ-20261122-ABC123")).json()["request_no"] \
        == "REQ-20261122-ABC123"
    reply = post(reference_server, application(request_no="REQ-20261122-ABC123"))
    assert reply.status_code == 400 and "already exists" in reply.json()["detail"]


def _doc(kind, pdf, title="Dokumen"):
    return [{"kind": kind, "title": title, "pdf_base64": base64.b64encode(pdf).decode()}]


@pytest.mark.parametrize("changes,detail", [
    ({"nik": "12345"}, "nik"),
    ({"nik": "3273029902920005"}, "not a valid NIK"),
    ({"name": ""}, "name"),
    ({"name": "Robert'); DROP TABLE--"}, "name"),
    ({"phone": "12345"}, "phone"),
    ({"phone": "+12025550123"}, "phone"),
    ({"documents": []}, "documents"),
    ({"documents": _doc("KTP", KK)}, "kind"),
    ({"documents": _doc("KK", b"hello")}, "not a PDF"),
    ({"documents": _doc("KK", b"%PDF-1.4 broken")}, "not a readable PDF"),
    ({"documents": _doc("KIA", KK)}, "2 pages"),
    ({"documents": _doc("KK", KIA)}, "expected"),
    ({"documents": [{"kind": "KK", "title": "x", "pdf_base64": "***"}]}, "base64"),
    ({"documents": _doc("KK", KK, title="KK 3273021203840011")}, "no NIK"),
    ({"documents": [{"kind": "KK", "title": "x", "pdf_base64": "", "extra": 1}]}, "unknown field"),
    ({"valid_days": 0}, "valid_days"),
    ({"valid_days": 91}, "valid_days"),
    ({"request_no": "REQ-2026"}, "request_no"),
    ({"pin": "123456"}, "unknown field"),
])
def test_bad_applications_are_refused_and_store_nothing(reference_server, changes, detail):
    before = reference_server.query("SELECT COUNT(*) AS n FROM applications")
    reply = post(reference_server, application(**changes))
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"
    assert detail in reply.json()["detail"]
    assert reference_server.query("SELECT COUNT(*) AS n FROM applications") == before


def test_applications_need_the_admin_token(reference_server):
    assert post(reference_server, application(), token=reference_server.kiosks[0]["token"]).status_code == 403
    assert post(reference_server, application(), token="nope").status_code == 401
