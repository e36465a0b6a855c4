"""The webhook notifier against a real HTTP receiver on loopback, alone and inside the server."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from dinas.message import OutgoingMessage, qr_png
from dinas.notifier import NotifierError, WebhookNotifier
from tests.fixtures.dinas_server import on_both_backends, pin_of, seeded_server, validate_response  # noqa: F401

MESSAGE = OutgoingMessage(to="+6281100000909", text="PIN: *123456*", qr_payload="ADM1:REQ-20261122-AAAAAA",
                          qr_png=qr_png("ADM1:REQ-20261122-AAAAAA"), request_no="REQ-20261122-AAAAAA")


class Gateway:
    """A WhatsApp gateway stand-in: records what it receives, answers `status`, or hangs."""

    def __init__(self, status: int = 200, hang: float = 0.0) -> None:
        self.received: list[dict] = []
        self.status, self.hang = status, hang
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                         "json": json.loads(body)})
                time.sleep(gateway.hang)
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    made = []

    def make(**options) -> Gateway:
        made.append(Gateway(**options))
        return made[-1]
    yield make
    for one in made:
        one.close()


def test_webhook_posts_the_message_as_json(gateway):
    receiver = gateway()
    WebhookNotifier(receiver.url, timeout=5).send(MESSAGE)
    [got] = receiver.received
    assert got["path"] == "/send" and got["content_type"] == "application/json"
    assert got["json"]["to"] == "+6281100000909" and got["json"]["text"] == "PIN: *123456*"
    assert base64.b64decode(got["json"]["qr_png_base64"]) == MESSAGE.qr_png
    assert got["json"]["qr_payload"] == "ADM1:REQ-20261122-AAAAAA"


def test_webhook_error_status_raises(gateway):
    with pytest.raises(NotifierError, match="HTTP 500"):
        WebhookNotifier(gateway(status=500).url, timeout=5).send(MESSAGE)


def test_webhook_times_out(gateway):
    started = time.monotonic()
    with pytest.raises(NotifierError, match="unreachable"):
        WebhookNotifier(gateway(hang=3).url, timeout=0.3).send(MESSAGE)
    assert time.monotonic() - started < 2


def test_webhook_unreachable_raises():
    with pytest.raises(NotifierError, match="unreachable"):
        WebhookNotifier("http://127.0.0.1:9/send", timeout=2).send(MESSAGE)


def _issue(server, citizen):
    pdf_reply = requests.post(f"{server.url}/kiosk/sessions", headers=server.kiosk_headers(), timeout=10,
                              json={"nik": citizen["nik"], "pin": citizen["pin"]}).json()
    pdf = requests.get(f"{server.url}/kiosk/sessions/{pdf_reply['session_id']}/documents/"
                       f"{pdf_reply['documents'][0]['id']}", headers=server.kiosk_headers(), timeout=10).content
    body = {"nik": "3273020506900009", "name": "Agus Salim", "phone": "+6281100000606",
            "documents": [{"kind": "KK", "title": "Kartu Keluarga", "pdf_base64": base64.b64encode(pdf).decode()}]}
    reply = requests.post(f"{server.url}/admin/applications", json=body, headers=server.admin_headers(), timeout=10)
    validate_response(reply, "POST", "/admin/applications")
    return reply


def test_server_hands_the_message_to_the_gateway(gateway, tmp_path_factory, tmp_path, dinas_backend):
    receiver = gateway()
    notifier = WebhookNotifier(receiver.url, timeout=5)
    with seeded_server(tmp_path_factory, tmp_path, dinas_backend, notifier=notifier) as server:
        reply = _issue(server, server.citizens[0])
        assert reply.status_code == 201
        [got] = receiver.received
        pin = pin_of(got["json"]["text"])            # only the gateway gets the PIN
        assert got["json"]["to"] == "+6281100000606" and pin not in reply.text
        session = requests.post(f"{server.url}/kiosk/sessions", json={"nik": "3273020506900009", "pin": pin},
                                headers=server.kiosk_headers(), timeout=10)
        assert session.status_code == 201


def test_gateway_failure_stores_nothing(gateway, tmp_path_factory, tmp_path, dinas_backend):
    receiver = gateway(status=503)
    notifier = WebhookNotifier(receiver.url, timeout=5)
    with seeded_server(tmp_path_factory, tmp_path, dinas_backend, notifier=notifier) as server:
        before = server.query("SELECT COUNT(*) AS n FROM applications")
        reply = _issue(server, server.citizens[0])
        assert reply.status_code == 502 and reply.json()["error"] == "notifier_failed"
        assert server.query("SELECT COUNT(*) AS n FROM applications") == before
        assert server.query("SELECT COUNT(*) AS n FROM documents WHERE request_no NOT IN "
                            "(SELECT request_no FROM applications)") == [{"n": 0}]
