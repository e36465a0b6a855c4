"""The demo data: the seed JSON's shape, well-formed NIKs, and PDFs that open at the right size."""

from __future__ import annotations

import hashlib
import json
import re

import pypdfium2
import pytest
import zxingcpp

from dinas import cli
from dinas.documents import kia_pdf, kk_pdf
from dinas.seed import demo_families
from dinas.validation import nik_is_well_formed

MM = 72 / 25.4


def run_seed(tmp_path, capsys):
    assert cli.main(["seed-demo", "--db", str(tmp_path / "demo.db"), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_seed_json_shape(tmp_path, capsys):
    result = run_seed(tmp_path, capsys)
    assert set(result) == {"admin_token", "kiosks", "citizens"}
    assert len(result["kiosks"]) == 3 and all({"kiosk_id", "token"} <= set(k) for k in result["kiosks"])
    assert len({k["token"] for k in result["kiosks"]} | {result["admin_token"]}) == 4
    kinds = []
    for citizen in result["citizens"]:
        assert {"nik", "name", "pin", "request_no", "documents"} <= set(citizen)
        assert nik_is_well_formed(citizen["nik"]) and re.fullmatch(r"\d{6}", citizen["pin"])
        assert re.fullmatch(r"REQ-\d{8}-[A-Z0-9]{6}", citizen["request_no"])
        assert all(set(d) == {"id", "kind", "title"} for d in citizen["documents"])
        kinds.append(sorted(d["kind"] for d in citizen["documents"]))
    assert sorted(kinds) == [["AKTA_LAHIR", "KK"], ["AKTA_MATI", "SKPWNI"], ["KIA"], ["KIA", "KK"], ["KK"]]


def test_seed_refuses_a_database_that_holds_data(tmp_path, capsys):
    run_seed(tmp_path, capsys)
    assert cli.main(["seed-demo", "--db", str(tmp_path / "demo.db"), "--json"]) == 2
    assert "already holds data" in capsys.readouterr().err


def test_niks_encode_birth_date_and_sex():
    for family, _, _, _ in demo_families():
        assert nik_is_well_formed(family.kk_no)
        for person in family.members:
            day = int(person.nik[6:8])
            assert person.nik[:4] == "3273"                                   # Kota Bandung
            assert (day > 40) == (person.sex == "PEREMPUAN")
            assert day - (40 if day > 40 else 0) == person.birthdate.day
            assert person.nik[8:12] == person.birthdate.strftime("%m%y")
            assert nik_is_well_formed(person.nik)
        assert len({p.nik for p in family.members}) == len(family.members)


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[i].get_size() for i in range(len(document))]
    finally:
        document.close()


def test_kk_is_one_a4_page_and_kia_two_cr80_pages():
    family = demo_families()[2][0]
    kk_pages = _pages(kk_pdf(family, "Disdukcapil"))
    assert len(kk_pages) == 1 and sorted(kk_pages[0]) == pytest.approx(sorted((210 * MM, 297 * MM)), abs=0.5)
    kia_pages = _pages(kia_pdf(family, family.members[3], "Disdukcapil"))
    assert len(kia_pages) == 2
    for width, height in kia_pages:
        assert (width, height) == pytest.approx((85.60 * MM, 53.98 * MM), abs=0.2)      # landscape


def test_kk_shows_the_family_table_and_kia_the_child():
    family = demo_families()[2][0]
    kk = pypdfium2.PdfDocument(kk_pdf(family, "Disdukcapil"))
    text = kk[0].get_textpage().get_text_range()
    assert "KARTU KELUARGA" in text and f"No. {family.kk_no}" in text
    for person in family.members:
        assert person.nik in text and person.name in text
    kia = pypdfium2.PdfDocument(kia_pdf(family, family.members[3], "Disdukcapil"))
    front, back = (kia[i].get_textpage().get_text_range() for i in range(2))
    assert "KARTU IDENTITAS ANAK" in front and family.members[3].nik in front
    assert family.kk_no in back and "Disdukcapil" in back


def test_kk_tte_qr_names_the_verification_url_of_that_kk():
    for family, _, _, _ in demo_families():
        document = pypdfium2.PdfDocument(kk_pdf(family, "Disdukcapil"))
        try:
            page = document[0].render(scale=3).to_pil()
        finally:
            document.close()
        assert [code.text for code in zxingcpp.read_barcodes(page)] == \
            [f"https://tte.dukcapil.invalid/verifikasi?kk={family.kk_no}"]


def test_pdfs_are_deterministic():
    family = demo_families()[0][0]
    assert hashlib.sha256(kk_pdf(family, "X")).digest() == hashlib.sha256(kk_pdf(family, "X")).digest()
    child = demo_families()[1][0].members[2]
    assert kia_pdf(demo_families()[1][0], child, "X") == kia_pdf(demo_families()[1][0], child, "X")


def test_kia_front_is_strongly_coloured():
    family = demo_families()[1][0]
    document = pypdfium2.PdfDocument(kia_pdf(family, family.members[2], "X"))
    image = document[0].render(scale=2).to_pil().convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000)
    saturated = sum(count for count, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 80)
    assert saturated > 0.5 * image.width * image.height


def test_each_a4_certificate_is_one_a4_page_that_names_its_subject():
    from dinas.seed import _certificate

    titles = {"AKTA_LAHIR": "KUTIPAN AKTA KELAHIRAN", "AKTA_MATI": "KUTIPAN AKTA KEMATIAN",
              "SKPWNI": "SURAT KETERANGAN PINDAH WNI"}
    seen = set()
    for family, _, _, wanted in demo_families():
        for kind, subject in (w for w in wanted if isinstance(w, tuple)):
            pdf = _certificate(family, kind, subject, "Disdukcapil").pdf
            pages = _pages(pdf)
            assert len(pages) == 1 and sorted(pages[0]) == pytest.approx(sorted((210 * MM, 297 * MM)), abs=0.5)
            text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
            names = {"AKTA_LAHIR": lambda: [m.name for m in family.members if m.nik == subject],
                     "AKTA_MATI": lambda: [subject.person.name],
                     "SKPWNI": lambda: [m.name for m in subject.movers]}[kind]()
            assert titles[kind] in text and "CONTOH" in text and family.kk_no in text
            assert names and all(name in text for name in names)
            seen.add(kind)
    assert seen == set(titles)
