"""Where the WhatsApp message goes.

`RecordingNotifier` is the reference server's stand-in for a WhatsApp gateway: it keeps the
outgoing message in the database's outbox (a recorded message counts as delivered; `purge`
deletes it `MESSAGE_RETENTION_SECONDS` later), sealed with the server key (the message holds the
PIN, so it is never stored in clear); `adm-dinas messages` opens it for a demo operator.
`WebhookNotifier` hands the message to a real gateway over HTTP and keeps nothing.
"""

from __future__ import annotations

import base64
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import requests

from .clock import Clock, iso, system_clock
from .db import Database
from .message import OutgoingMessage
from .vault import Vault, mask_phone

log = logging.getLogger(__name__)


class NotifierError(Exception):
    """The message could not be handed over; the application is not kept."""


class Notifier(ABC):
    @abstractmethod
    def send(self, message: OutgoingMessage) -> None:
        """Hands the message over or raises NotifierError."""


@dataclass(frozen=True)
class RecordedMessage:
    id: int
    request_no: str
    to: str
    text: str
    qr_payload: str
    qr_png: bytes
    created_at: str


class RecordingNotifier(Notifier):
    def __init__(self, database: Database, vault: Vault, clock: Clock = system_clock) -> None:
        self._database = database
        self._vault = vault
        self._clock = clock

    def send(self, message: OutgoingMessage) -> None:
        sealed = self._vault.seal(json.dumps({
            "to": message.to, "text": message.text, "qr_payload": message.qr_payload,
            "qr_png_base64": base64.b64encode(message.qr_png).decode()}).encode())
        with self._database.session() as connection:
            connection.run("INSERT INTO outbox_messages (request_no, to_masked, sealed_message, created_at) "
                           "VALUES (:r, :to, :sealed, :now)", r=message.request_no, to=mask_phone(message.to),
                           sealed=sealed, now=self._clock())
        log.info("recorded the WhatsApp message for %s to %s", message.request_no, mask_phone(message.to))

    def messages(self, last: int | None = None) -> list[RecordedMessage]:
        """The recorded outbox, oldest first (the last `last` of it when given)."""
        with self._database.session() as connection:
            if last is None:
                rows = connection.all("SELECT * FROM outbox_messages ORDER BY id DESC")
            else:
                rows = connection.all("SELECT * FROM outbox_messages ORDER BY id DESC LIMIT :n", n=last)
        return [self._open(row) for row in reversed(rows)]

    def _open(self, row: Any) -> RecordedMessage:
        content = json.loads(self._vault.unseal(bytes(row["sealed_message"])))
        return RecordedMessage(row["id"], row["request_no"], content["to"], content["text"], content["qr_payload"],
                               base64.b64decode(content["qr_png_base64"]), iso(row["created_at"]))


class WebhookNotifier(Notifier):
    """POSTs {to, text, qr_payload, qr_png_base64, request_no} as JSON to a gateway URL."""

    def __init__(self, url: str, timeout: float = 10.0, headers: dict[str, str] | None = None) -> None:
        self._url = url
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers.update(headers or {})

    def send(self, message: OutgoingMessage) -> None:
        body = {"to": message.to, "text": message.text, "qr_payload": message.qr_payload,
                "qr_png_base64": base64.b64encode(message.qr_png).decode(), "request_no": message.request_no}
        try:
            reply = self._session.post(self._url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise NotifierError(f"WhatsApp gateway unreachable: {type(exc).__name__}") from None
        if not 200 <= reply.status_code < 300:
            raise NotifierError(f"WhatsApp gateway answered HTTP {reply.status_code}")
        log.info("handed the WhatsApp message for %s to the gateway", message.request_no)
