"""The demo documents: a KK on A4 and a KIA on a CR-80 card, drawn with reportlab.

Both are deterministic (reportlab's invariant mode, no clock read): the same family gives
the same bytes, so a test can pin a hash. Every page says CONTOH (specimen) so a demo print
is never taken for a real document.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import qrcode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from reportlab.platypus import Table, TableStyle

CR80 = (85.60 * mm, 53.98 * mm)
KIA_BLUE = colors.HexColor("#0B4EA2")
KIA_SKY = colors.HexColor("#5BC0EB")
KIA_YELLOW = colors.HexColor("#FFC914")
KIA_PINK = colors.HexColor("#F25F5C")


@dataclass(frozen=True)
class Person:
    nik: str
    name: str
    sex: str                 # "LAKI-LAKI" / "PEREMPUAN"
    birthplace: str
    birthdate: date
    religion: str
    education: str
    occupation: str
    relationship: str        # KEPALA KELUARGA, ISTRI, ANAK ...
    marital_status: str
    father: str
    mother: str


@dataclass(frozen=True)
class Family:
    kk_no: str
    address: str
    rt_rw: str
    kelurahan: str
    kecamatan: str
    kabupaten: str
    province: str
    postal_code: str
    issued: date
    members: tuple[Person, ...]
    official_name: str
    official_nip: str

    @property
    def head(self) -> Person:
        return next(m for m in self.members if m.relationship == "KEPALA KELUARGA")


def _date(value: date) -> str:
    return value.strftime("%d-%m-%Y")


def _qr(payload: str) -> ImageReader:
    image = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return ImageReader(buffer)


def _canvas(buffer: io.BytesIO, size: tuple[float, float], title: str) -> canvas.Canvas:
    pdf = canvas.Canvas(buffer, pagesize=size, invariant=1, pageCompression=1)
    pdf.setTitle(title)
    pdf.setAuthor("adm-dinas reference server (data fiktif)")
    return pdf


def _specimen(pdf: canvas.Canvas, x: float, y: float, size: float) -> None:
    pdf.saveState()
    pdf.setFillColor(colors.Color(0.8, 0.1, 0.1, alpha=0.35))
    pdf.setFont("Helvetica-Bold", size)
    pdf.translate(x, y)
    pdf.rotate(20)
    pdf.drawCentredString(0, 0, "CONTOH / SPECIMEN")
    pdf.restoreState()


def _signatory(pdf: canvas.Canvas, family: Family, x: float, name_y: float, nip_y: float) -> None:
    """The signing official's name and NIP, centred under the TTE QR code."""
    pdf.drawCentredString(x, name_y, family.official_name)
    pdf.drawCentredString(x, nip_y, f"NIP. {family.official_nip}")


def _tte_notice(pdf: canvas.Canvas, x: float, size: float, lines: tuple[tuple[float, str], ...]) -> None:
    """The small print that says the page is signed electronically (and fictitious); each
    page breaks the sentence where its width needs, so the lines come as (y, text)."""
    pdf.setFont("Helvetica-Oblique", size)
    for y, text in lines:
        pdf.drawString(x, y, text)


def _finished(pdf: canvas.Canvas, buffer: io.BytesIO) -> bytes:
    """Ends the last page and returns the whole PDF."""
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def kk_pdf(family: Family, dinas_name: str) -> bytes:
    """The Kartu Keluarga on A4 landscape, as a citizen knows it since 2020 (TTE, no wet stamp)."""
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = _canvas(buffer, (width, height), f"Kartu Keluarga {family.kk_no}")
    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawCentredString(width / 2, height - 22 * mm, "KARTU KELUARGA")
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawCentredString(width / 2, height - 29 * mm, f"No. {family.kk_no}")

    pdf.setFont("Helvetica", 8.5)
    left = [("Nama Kepala Keluarga", family.head.name), ("Alamat", family.address), ("RT/RW", family.rt_rw),
            ("Desa/Kelurahan", family.kelurahan), ("Kecamatan", family.kecamatan)]
    right = [("Kabupaten/Kota", family.kabupaten), ("Kode Pos", family.postal_code), ("Provinsi", family.province)]
    for column_x, rows in ((15 * mm, left), (190 * mm, right)):
        for i, (label, value) in enumerate(rows):
            y = height - 40 * mm - i * 4.6 * mm
            pdf.drawString(column_x, y, label)
            pdf.drawString(column_x + 36 * mm, y, f": {value}")

    header_style = [("FONT", (0, 0), (-1, -1), "Helvetica", 7), ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8E8E8")), ("ALIGN", (0, 0), (0, -1), "CENTER")]
    first = [["No", "Nama Lengkap", "NIK", "Jenis Kelamin", "Tempat Lahir", "Tanggal Lahir", "Agama",
              "Pendidikan", "Jenis Pekerjaan"]]
    second = [["No", "Status Perkawinan", "Status Hubungan Dalam Keluarga", "Kewarganegaraan", "No. Paspor",
               "No. KITAP", "Nama Ayah", "Nama Ibu"]]
    for n, person in enumerate(family.members, 1):
        first.append([str(n), person.name, person.nik, person.sex, person.birthplace, _date(person.birthdate),
                      person.religion, person.education, person.occupation])
        second.append([str(n), person.marital_status, person.relationship, "WNI", "-", "-", person.father,
                       person.mother])
    table_width = width - 30 * mm
    for rows, widths, top in (
            (first, (8, 50, 30, 20, 28, 20, 16, 36, 34), height - 66 * mm),
            (second, (8, 30, 44, 26, 20, 20, 57, 57), height - 70 * mm - (len(first) + 1) * 5.2 * mm)):
        scale = table_width / sum(widths)
        table = Table(rows, colWidths=[w * scale for w in widths], rowHeights=5.2 * mm)
        table.setStyle(TableStyle(header_style))
        _, table_height = table.wrapOn(pdf, table_width, height)
        table.drawOn(pdf, 15 * mm, top - table_height)

    pdf.setFont("Helvetica", 8)
    pdf.drawString(15 * mm, 38 * mm, f"Dikeluarkan Tanggal : {_date(family.issued)}")
    signer_x = width - 95 * mm
    pdf.drawCentredString(signer_x, 38 * mm, f"KEPALA {dinas_name.upper()}")
    pdf.drawImage(_qr(f"https://tte.dukcapil.invalid/verifikasi?kk={family.kk_no}"),
                  signer_x - 11 * mm, 14.5 * mm, 22 * mm, 22 * mm)
    pdf.line(signer_x - 35 * mm, 13 * mm, signer_x + 35 * mm, 13 * mm)
    _signatory(pdf, family, signer_x, 9.5 * mm, 6 * mm)
    _tte_notice(pdf, 15 * mm, 6.5, (
        (10 * mm, "Dokumen ini telah ditandatangani secara elektronik (TTE);"),
        (7 * mm, "pindai kode QR untuk memeriksa keasliannya. Data pada dokumen ini fiktif.")))
    _specimen(pdf, width / 2, height / 2 - 20 * mm, 40)
    return _finished(pdf, buffer)


def _silhouette(pdf: canvas.Canvas, x: float, y: float, w: float, h: float) -> None:
    """The photo area: a drawn head and shoulders, no real photo."""
    pdf.saveState()
    frame = pdf.beginPath()
    frame.rect(x, y, w, h)
    pdf.clipPath(frame, stroke=0, fill=0)
    pdf.setFillColor(KIA_PINK)
    pdf.rect(x, y, w, h, stroke=0, fill=1)
    pdf.setFillColor(colors.black)
    pdf.circle(x + w / 2, y + h * 0.62, w * 0.22, stroke=0, fill=1)
    pdf.ellipse(x + w * 0.12, y - h * 0.15, x + w * 0.88, y + h * 0.42, stroke=0, fill=1)
    pdf.restoreState()
    pdf.setStrokeColor(colors.black)
    pdf.setLineWidth(0.8)
    pdf.rect(x, y, w, h, stroke=1, fill=0)


def _card_fields(pdf: canvas.Canvas, x: float, top: float, rows: list[tuple[str, str]], label_w: float) -> None:
    for i, (label, value) in enumerate(rows):
        y = top - i * 4.1 * mm
        pdf.setFont("Helvetica", 5.6)
        pdf.drawString(x, y, label)
        pdf.setFont("Helvetica-Bold", 5.8)
        pdf.drawString(x + label_w, y, f": {value}")


def kia_pdf(family: Family, child: Person, dinas_name: str) -> bytes:
    """The Kartu Identitas Anak: CR-80 landscape, page 1 the front, page 2 the back."""
    buffer = io.BytesIO()
    width, height = CR80
    pdf = _canvas(buffer, CR80, f"Kartu Identitas Anak {child.nik}")

    # Front
    pdf.setFillColor(KIA_SKY)
    pdf.rect(0, 0, width, height, stroke=0, fill=1)
    pdf.setFillColor(KIA_BLUE)
    pdf.rect(0, height - 13 * mm, width, 13 * mm, stroke=0, fill=1)
    pdf.setFillColor(KIA_YELLOW)
    pdf.rect(0, 0, width, 4 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.white)
    pdf.setFont("Helvetica-Bold", 6.5)
    pdf.drawCentredString(width / 2, height - 5 * mm, f"PROVINSI {family.province}")
    pdf.drawCentredString(width / 2, height - 8.5 * mm, family.kabupaten)
    pdf.setFont("Helvetica-Bold", 8)
    pdf.drawCentredString(width / 2, height - 12 * mm, "KARTU IDENTITAS ANAK")
    pdf.setFillColor(colors.black)
    _card_fields(pdf, 4 * mm, height - 18 * mm, [
        ("NIK", child.nik), ("Nama", child.name),
        ("Tempat/Tgl Lahir", f"{child.birthplace}, {_date(child.birthdate)}"),
        ("Jenis Kelamin", child.sex), ("Agama", child.religion), ("Kewarganegaraan", "WNI"),
    ], 17 * mm)
    _silhouette(pdf, width - 22 * mm, 7 * mm, 18 * mm, 22 * mm)
    pdf.setFont("Helvetica-Bold", 4.5)
    pdf.drawString(4 * mm, 1.3 * mm, "CONTOH - DATA FIKTIF")
    pdf.showPage()

    # Back
    pdf.setFillColor(KIA_YELLOW)
    pdf.rect(0, 0, width, height, stroke=0, fill=1)
    pdf.setFillColor(KIA_BLUE)
    pdf.rect(0, height - 7 * mm, width, 7 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.white)
    pdf.setFont("Helvetica-Bold", 6.5)
    pdf.drawCentredString(width / 2, height - 4.8 * mm, "KARTU IDENTITAS ANAK")
    pdf.setFillColor(colors.black)
    _card_fields(pdf, 4 * mm, height - 12 * mm, [
        ("No. KK", family.kk_no), ("Kepala Keluarga", family.head.name),
        ("Nama Ayah", child.father), ("Nama Ibu", child.mother),
        ("Alamat", f"{family.address} RT/RW {family.rt_rw}"),
        ("Berlaku s/d", _date(child.birthdate.replace(year=child.birthdate.year + 17))),
    ], 19 * mm)
    pdf.setFont("Helvetica", 5)
    pdf.drawString(4 * mm, 10 * mm, f"{family.kabupaten}, {_date(family.issued)}")
    pdf.drawString(4 * mm, 7.6 * mm, dinas_name)
    pdf.line(4 * mm, 3.5 * mm, 40 * mm, 3.5 * mm)
    pdf.setFont("Helvetica", 4.5)
    pdf.drawString(4 * mm, 1.5 * mm, family.official_name)
    pdf.drawImage(_qr(f"https://tte.dukcapil.invalid/verifikasi?kia={child.nik}"),
                  width - 18 * mm, 2.5 * mm, 15 * mm, 15 * mm)
    return _finished(pdf, buffer)
