"""Issuing a PIN for a verified application: store it, seal its documents, tell the citizen.

Stored per application: the NIK as a keyed hash (lookup) and masked (display), the masked
name and phone, the PIN as a keyed hash, and each PDF sealed with the server key (a PDF holds
NIKs and names in its bytes). The full name and phone exist only in the message handed to
the notifier.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pypdfium2

from . import db, kinds, settings
from .db import Connection
from .errors import ApiError, invalid_request
from .message import OutgoingMessage, compose
from .notifier import Notifier, NotifierError
from .vault import Vault, mask_name, mask_nik, mask_phone, new_pin

# How far off a page may be from its kind's size (dinas/kinds.py).
PAGE_TOLERANCE = 0.03
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_VALID_DAYS = 90
DEFAULT_VALID_DAYS = 7
PHONE = re.compile(r"(?:\+?62|0)(8\d{8,12})")
# pdfium is not thread-safe; the threaded server reads PDFs one at a time.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class NewDocument:
    kind: str
    title: str
    pdf: bytes


@dataclass(frozen=True)
class IssuedApplication:
    request_no: str
    pin: str                 # handed to the caller in memory only (the seed prints it)
    pin_expires_at: float
    documents: list[dict[str, Any]]
    message: OutgoingMessage


def normalise_phone(phone: str) -> str:
    match = PHONE.fullmatch(re.sub(r"[\s-]", "", phone))
    if not match:
        raise invalid_request("phone must be an Indonesian mobile number like +6281234567890 or 081234567890")
    return "+62" + match.group(1)


def new_request_no(now: float) -> str:
    day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%d")
    alphabet = string.ascii_uppercase + string.digits
    return f"REQ-{day}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def inspect_pdf(kind: str, pdf: bytes, index: int) -> int:
    """Checks the PDF opens and its pages have the document's size; returns the page count."""
    where = f"documents[{index}] ({kind})"
    if not pdf.startswith(b"%PDF-"):
        raise invalid_request(f"{where} is not a PDF")
    if len(pdf) > MAX_DOCUMENT_BYTES:
        raise invalid_request(f"{where} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(pdf)
        except pypdfium2.PdfiumError:
            raise invalid_request(f"{where} is not a readable PDF") from None
        try:
            sizes = [document[i].get_size() for i in range(len(document))]
        finally:
            document.close()
    rule = kinds.BY_CODE[kind]
    if rule.pages is not None and len(sizes) != rule.pages:
        raise invalid_request(f"{where} must have {rule.pages} pages (front and back), not {len(sizes)}")
    if not sizes:
        raise invalid_request(f"{where} has no pages")
    expected = sorted(rule.page_size)
    for number, size in enumerate(sizes, 1):
        if any(abs(got - want) > want * PAGE_TOLERANCE for got, want in zip(sorted(size), expected)):
            raise invalid_request(f"{where} page {number} is {size[0]:.0f}x{size[1]:.0f} pt, "
                                  f"expected {expected[0]:.0f}x{expected[1]:.0f} pt")
    return len(sizes)


def issue(connection: Connection, vault: Vault, notifier: Notifier, now: float, *, nik: str, name: str,
          phone: str, documents: list[NewDocument], request_no: str | None = None,
          valid_days: int = DEFAULT_VALID_DAYS) -> IssuedApplication:
    phone = normalise_phone(phone)
    if not documents:
        raise invalid_request("documents must list at least one document")
    pages = [inspect_pdf(doc.kind, doc.pdf, i) for i, doc in enumerate(documents)]
    request_no = request_no or new_request_no(now)
    pin = new_pin()
    expires_at = now + valid_days * 86400
    stored: list[dict[str, Any]] = []
    with db.transaction(connection):
        inserted = connection.run(
            "INSERT INTO applications (request_no, nik_hash, nik_masked, name_masked, phone_masked, pin_hash, "
            "pin_expires_at, created_at) VALUES (:r, :nik, :nik_masked, :name, :phone, :pin, :exp, :now) "
            "ON CONFLICT (request_no) DO NOTHING",
            r=request_no, nik=vault.nik_hash(nik), nik_masked=mask_nik(nik), name=mask_name(name),
            phone=mask_phone(phone), pin=vault.pin_hash(request_no, pin), exp=expires_at, now=now)
        if not inserted:
            raise invalid_request(f"request_no {request_no} already exists")
        for position, (doc, page_count) in enumerate(zip(documents, pages)):
            row = {"id": "doc-" + secrets.token_hex(8), "kind": doc.kind, "media": kinds.BY_CODE[doc.kind].media,
                   "title": doc.title, "pages": page_count, "size": len(doc.pdf),
                   "sha256": hashlib.sha256(doc.pdf).hexdigest(), "status": "ready"}
            connection.run(
                "INSERT INTO documents (id, request_no, position, kind, media, title, pages, size, sha256, sealed_pdf) "
                "VALUES (:id, :r, :position, :kind, :media, :title, :pages, :size, :sha, :sealed)",
                id=row["id"], r=request_no, position=position, kind=doc.kind, media=row["media"], title=doc.title,
                pages=page_count, size=row["size"], sha=row["sha256"], sealed=vault.seal(doc.pdf))
            stored.append(row)
        dinas = settings.read(connection)
    message = compose(dinas, phone=phone, name=name, request_no=request_no, pin=pin, pin_expires_at=expires_at,
                      kinds=[doc.kind for doc in documents])
    try:
        notifier.send(message)
    except NotifierError as exc:
        # Without the message the citizen has no PIN: keep nothing, so the admin simply retries.
        with db.transaction(connection):
            connection.run("DELETE FROM documents WHERE request_no = :r", r=request_no)
            connection.run("DELETE FROM applications WHERE request_no = :r", r=request_no)
        raise ApiError(502, "notifier_failed", f"the WhatsApp message was not sent ({exc}); nothing was stored") \
            from None
    return IssuedApplication(request_no, pin, expires_at, stored, message)


def reissue(connection: Connection, vault: Vault, notifier: Notifier, now: float, *, request_no: str, name: str,
            phone: str, valid_days: int = DEFAULT_VALID_DAYS) -> IssuedApplication:
    """A new PIN for an application (after a lockout block, a lost message, an expiry): the old
    PIN stops, lockouts and lock periods are cleared, the citizen gets a new message. The name
    and phone must match the masked ones stored (the dinas reads them from its own records)."""
    phone = normalise_phone(phone)
    pin = new_pin()
    expires_at = now + valid_days * 86400
    with db.transaction(connection):
        application = connection.lock("applications", ["nik_hash", "name_masked", "phone_masked", "pin_hash",
                                                        "pin_expires_at", "pin_blocked_at", "lock_periods"],
                                      request_no=request_no)
        if application is None:
            raise invalid_request(f"no application {request_no}")
        if (mask_name(name), mask_phone(phone)) != (application["name_masked"], application["phone_masked"]):
            raise invalid_request("the name or phone does not match the application's")
        documents = connection.all("SELECT kind, status FROM documents WHERE request_no = :r ORDER BY position",
                                   r=request_no)
        if all(document["status"] == "printed" for document in documents):
            raise invalid_request(f"every document of {request_no} is printed; nothing to reissue")
        connection.run("UPDATE applications SET pin_hash = :pin, pin_expires_at = :exp, pin_blocked_at = NULL, "
                       "lock_periods = 0 WHERE request_no = :r", pin=vault.pin_hash(request_no, pin), exp=expires_at,
                       r=request_no)
        connection.run("DELETE FROM lockouts WHERE subject IN :subjects",
                       subjects=[f"req:{request_no}", f"nik:{application['nik_hash']}"])
        dinas = settings.read(connection)
    message = compose(dinas, phone=phone, name=name, request_no=request_no, pin=pin, pin_expires_at=expires_at,
                      kinds=[document["kind"] for document in documents if document["status"] != "printed"])
    try:
        notifier.send(message)
    except NotifierError as exc:
        # The citizen did not get the new PIN: the old one stands as it was.
        with db.transaction(connection):
            connection.run("UPDATE applications SET pin_hash = :pin, pin_expires_at = :exp, pin_blocked_at = :blocked, "
                           "lock_periods = :periods WHERE request_no = :r", pin=application["pin_hash"],
                           exp=application["pin_expires_at"], blocked=application["pin_blocked_at"],
                           periods=application["lock_periods"], r=request_no)
        raise ApiError(502, "notifier_failed", f"the WhatsApp message was not sent ({exc}); the PIN is unchanged") \
            from None
    return IssuedApplication(request_no, pin, expires_at, [dict(d) for d in documents], message)
