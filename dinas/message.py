"""The WhatsApp message a citizen receives when their documents are ready."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import qrcode

from .kinds import BY_CODE
from .settings import DinasSettings

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")


@dataclass(frozen=True)
class OutgoingMessage:
    to: str              # the full phone number, for the gateway only
    text: str            # holds the PIN: this is what the citizen receives
    qr_payload: str      # ADM1:<request_no>, what the kiosk's scanner reads
    qr_png: bytes
    request_no: str


def qr_payload(request_no: str) -> str:
    return f"ADM1:{request_no}"


def qr_png(payload: str) -> bytes:
    image = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def local_date_text(timestamp: float, settings: DinasSettings) -> str:
    moment = datetime.fromtimestamp(timestamp, timezone.utc) + timedelta(minutes=settings.utc_offset_minutes)
    return (f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} pukul "
            f"{moment.hour:02d}.{moment.minute:02d} {settings.timezone_label}")


def compose(settings: DinasSettings, *, phone: str, name: str, request_no: str, pin: str,
            pin_expires_at: float, kinds: list[str]) -> OutgoingMessage:
    documents = ", ".join(BY_CODE[kind].name if kind in BY_CODE else kind for kind in kinds)
    text = "\n".join([
        f"*{settings.dinas_name}*",
        "",
        f"Yth. Bapak/Ibu {name},",
        f"dokumen kependudukan Anda sudah siap dicetak sendiri: {documents}.",
        "",
        f"Nomor permohonan: {request_no}",
        f"PIN: *{pin}*",
        f"Berlaku sampai: {local_date_text(pin_expires_at, settings)}",
        "",
        f"Cetak di: {settings.kiosk_locations}.",
        "Di anjungan, masukkan NIK lalu PIN, atau tunjukkan kode QR pada pesan ini ke pemindai.",
        "Jangan berikan PIN ini kepada siapa pun, termasuk petugas.",
        f"Bantuan: {settings.contact}.",
    ])
    payload = qr_payload(request_no)
    return OutgoingMessage(to=phone, text=text, qr_payload=payload, qr_png=qr_png(payload), request_no=request_no)
