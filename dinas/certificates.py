"""The demo A4 certificates the ADM prints beside the KK: birth (AKTA_LAHIR), death
(AKTA_MATI) and moving-out (SKPWNI) certificates, drawn with reportlab.

Since 2020 Disdukcapil issues them on plain A4 paper with an electronic signature (TTE)
QR code, like the KK. Each is one A4 portrait page: the title, the register number, the
facts as label/value rows, the issuing official and the TTE block. Deterministic
(reportlab's invariant mode) and marked CONTOH (specimen), like the KK and KIA demos.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from .documents import Family, Person, _canvas, _date, _finished, _qr, _signatory, _specimen, _tte_notice

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")


@dataclass(frozen=True)
class Death:
    person: Person
    died_on: date
    place: str
    cause: str
    reporter: Person


@dataclass(frozen=True)
class Move:
    movers: tuple[Person, ...]
    destination: str
    reason: str
    moved_on: date


def _spelled(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def _certificate(title: str, subtitle: str, number: str, rows: list[tuple[str, str]], family: Family,
                 dinas_name: str, verify: str) -> bytes:
    buffer = io.BytesIO()
    width, height = A4
    pdf = _canvas(buffer, (width, height), f"{title} {number}")
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawCentredString(width / 2, height - 20 * mm, "REPUBLIK INDONESIA")
    pdf.setFont("Helvetica", 9)
    pdf.drawCentredString(width / 2, height - 25 * mm, dinas_name.upper())
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawCentredString(width / 2, height - 42 * mm, title)
    pdf.setFont("Helvetica-Oblique", 9)
    pdf.drawCentredString(width / 2, height - 48 * mm, subtitle)
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawCentredString(width / 2, height - 56 * mm, f"No. {number}")
    pdf.setFont("Helvetica", 9.5)
    y = height - 72 * mm
    for label, value in rows:
        pdf.drawString(22 * mm, y, label)
        pdf.drawString(80 * mm, y, f": {value}")
        y -= 7 * mm
    signer_x = width - 60 * mm
    pdf.drawCentredString(signer_x, 62 * mm, f"{family.kabupaten.title()}, {_spelled(family.issued)}")
    pdf.drawCentredString(signer_x, 57 * mm, "KEPALA DINAS")
    pdf.drawImage(_qr(verify), signer_x - 12 * mm, 31 * mm, 24 * mm, 24 * mm)
    _signatory(pdf, family, signer_x, 26 * mm, 21.5 * mm)
    _tte_notice(pdf, 22 * mm, 7, (
        (14 * mm, "Dokumen ini telah ditandatangani secara elektronik (TTE); pindai kode QR untuk"),
        (10.5 * mm, "memeriksa keasliannya. Data pada dokumen ini fiktif.")))
    _specimen(pdf, width / 2, height / 2 - 10 * mm, 44)
    return _finished(pdf, buffer)


def akta_lahir_pdf(family: Family, child: Person, dinas_name: str) -> bytes:
    """Kutipan Akta Kelahiran of `child`, a member of `family`."""
    number = f"{family.kk_no[:4]}-LU-{child.birthdate:%d%m%Y}-{child.nik[-4:]}"
    rows = [("NIK", child.nik), ("Nama", child.name), ("Jenis kelamin", child.sex),
            ("Tempat lahir", child.birthplace), ("Tanggal lahir", _spelled(child.birthdate)),
            ("Anak dari ayah", child.father), ("dan ibu", child.mother),
            ("Nomor KK", family.kk_no), ("Kewarganegaraan", "WNI")]
    return _certificate("KUTIPAN AKTA KELAHIRAN", "Excerpt of birth certificate", number, rows, family,
                        dinas_name, f"https://tte.dukcapil.invalid/verifikasi?akta={number}")


def akta_mati_pdf(family: Family, death: Death, dinas_name: str) -> bytes:
    """Kutipan Akta Kematian of `death.person`, reported by a member of `family`."""
    person = death.person
    number = f"{family.kk_no[:4]}-KM-{death.died_on:%d%m%Y}-{person.nik[-4:]}"
    rows = [("NIK", person.nik), ("Nama", person.name), ("Jenis kelamin", person.sex),
            ("Tempat, tanggal lahir", f"{person.birthplace}, {_date(person.birthdate)}"),
            ("Meninggal pada tanggal", _spelled(death.died_on)), ("Di", death.place),
            ("Sebab kematian", death.cause), ("Pelapor", death.reporter.name), ("Nomor KK", family.kk_no)]
    return _certificate("KUTIPAN AKTA KEMATIAN", "Excerpt of death certificate", number, rows, family,
                        dinas_name, f"https://tte.dukcapil.invalid/verifikasi?akta={number}")


def skpwni_pdf(family: Family, move: Move, dinas_name: str) -> bytes:
    """Surat Keterangan Pindah WNI for the members of `family` who move out."""
    number = f"SKPWNI/{family.kk_no[:6]}/{move.moved_on:%Y%m%d}/{family.kk_no[-4:]}"
    rows = [("Nomor KK", family.kk_no), ("Kepala keluarga", family.head.name),
            ("Alamat asal", f"{family.address} RT/RW {family.rt_rw}"),
            ("", f"{family.kelurahan}, {family.kecamatan}, {family.kabupaten}"),
            ("Alamat tujuan", move.destination), ("Alasan pindah", move.reason),
            ("Tanggal pindah", _spelled(move.moved_on)),
            ("Yang pindah", f"{len(move.movers)} orang")]
    rows += [(f"  {n}. {m.name}", m.nik) for n, m in enumerate(move.movers, 1)]
    return _certificate("SURAT KETERANGAN PINDAH WNI", "Certificate of moving out (Indonesian citizens)",
                        number, rows, family, dinas_name, f"https://tte.dukcapil.invalid/verifikasi?skpwni={number}")
