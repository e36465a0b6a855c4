"""Demo data: three invented families in Kota Bandung, their documents and PINs, three kiosks.

Family 1 gets a KK only, family 2 a KIA only, family 3 a KK and a KIA, family 4 a newborn's
birth certificate (AKTA_LAHIR) and the KK that now lists her, family 5 a death certificate
(AKTA_MATI) and the certificate of moving out (SKPWNI) of the widow and her son. The
applicant (whose NIK and PIN open the session) is a parent. Names are invented; NIKs are well-formed: a
Kota Bandung region code, DDMMYY birth date (+40 on the day for women) and a serial.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import applications, auth, db, settings, storage
from .applications import NewDocument
from .certificates import Death, Move, akta_lahir_pdf, akta_mati_pdf, skpwni_pdf
from .clock import Clock, iso, system_clock
from .documents import Family, Person, kia_pdf, kk_pdf
from .notifier import Notifier, RecordingNotifier

DEMO_SETTINGS = {
    "dinas_name": "Dinas Kependudukan dan Pencatatan Sipil Kota Bandung",
    "kiosk_locations": "Mal Pelayanan Publik Kota Bandung, kantor Kecamatan Coblong, Sukajadi dan Buahbatu",
    "contact": "layanan pengaduan Disdukcapil (nomor demo 0800-000-000)",
}
DEMO_KIOSKS = (("ADM-BDG-01", "kota-bandung"), ("ADM-BDG-02", "kota-bandung"), ("ADM-BDG-03", "kecamatan"))
OFFICIAL = ("Drs. Sutrisno Adiwijaya, M.Si.", "197203151998031004")


def make_nik(region: str, born: date, female: bool, serial: int) -> str:
    return f"{region}{born.day + (40 if female else 0):02d}{born:%m%y}{serial:04d}"


def _person(region: str, serial: int, name: str, female: bool, birthplace: str, born: date, religion: str,
            education: str, occupation: str, relationship: str, marital: str, father: str, mother: str) -> Person:
    return Person(make_nik(region, born, female, serial), name, "PEREMPUAN" if female else "LAKI-LAKI",
                  birthplace, born, religion, education, occupation, relationship, marital, father, mother)


def _family(region: str, kk_serial: int, issued: date, street: str, rt_rw: str, kelurahan: str, kecamatan: str,
            postal: str, members: list[Person]) -> Family:
    return Family(make_nik(region, issued, False, kk_serial), street, rt_rw, kelurahan, kecamatan, "KOTA BANDUNG",
                  "JAWA BARAT", postal, issued, tuple(members), *OFFICIAL)


def demo_families() -> list[tuple[Family, Person, str, list[Any]]]:
    """(family, applicant, phone, documents) where documents are "KK", a child's NIK (its KIA),
    ("AKTA_LAHIR", child's NIK), ("AKTA_MATI", Death) or ("SKPWNI", Move)."""
    coblong, sukajadi, buahbatu = "327302", "327315", "327321"
    hendra = _family(coblong, 3, date(2021, 10, 20), "JL. CIGADUNG RAYA NO. 17", "004/007", "CIGADUNG", "COBLONG",
                     "40191", [
        _person(coblong, 11, "HENDRA WIRATMAJA", False, "BANDUNG", date(1984, 3, 12), "ISLAM", "DIPLOMA IV/STRATA I",
                "KARYAWAN SWASTA", "KEPALA KELUARGA", "KAWIN", "ASEP WIRATMAJA", "EUIS SUMARNI"),
        _person(coblong, 12, "RINA KUSUMADEWI", True, "GARUT", date(1987, 7, 5), "ISLAM", "AKADEMI/DIPLOMA III",
                "MENGURUS RUMAH TANGGA", "ISTRI", "KAWIN", "DADANG KUSUMA", "NINING RAHAYU"),
        _person(coblong, 13, "DIMAS ARYA WIRATMAJA", False, "BANDUNG", date(2012, 9, 21), "ISLAM",
                "SLTP/SEDERAJAT", "PELAJAR/MAHASISWA", "ANAK", "BELUM KAWIN", "HENDRA WIRATMAJA", "RINA KUSUMADEWI"),
    ])
    bayu = _family(sukajadi, 8, date(2018, 3, 2), "JL. SETRAS INDAH NO. 5", "002/011", "SUKAGALIH", "SUKAJADI",
                   "40163", [
        _person(sukajadi, 21, "BAYU PRASETYO NUGROHO", False, "SURABAYA", date(1989, 11, 30), "ISLAM",
                "DIPLOMA IV/STRATA I", "WIRASWASTA", "KEPALA KELUARGA", "KAWIN", "SUGENG NUGROHO", "SRI WAHYUNI"),
        _person(sukajadi, 22, "SEKAR AYU LESTARI", True, "MALANG", date(1991, 4, 17), "ISLAM", "SLTA/SEDERAJAT",
                "PEDAGANG", "ISTRI", "KAWIN", "BAMBANG LESTARIO", "ENDANG PURWANTI"),
        _person(sukajadi, 23, "AULIA PUTRI RAMADHANI", True, "BANDUNG", date(2018, 2, 14), "ISLAM",
                "TIDAK/BELUM SEKOLAH", "BELUM/TIDAK BEKERJA", "ANAK", "BELUM KAWIN", "BAYU PRASETYO NUGROHO",
                "SEKAR AYU LESTARI"),
    ])
    jonatan = _family(buahbatu, 14, date(2017, 1, 9), "JL. MARGACINTA NO. 88", "006/003", "CIJAURA", "BUAHBATU",
                      "40287", [
        _person(buahbatu, 31, "JONATAN HASIHOLAN SITOMPUL", False, "MEDAN", date(1980, 1, 8), "KRISTEN",
                "DIPLOMA IV/STRATA I", "GURU", "KEPALA KELUARGA", "KAWIN", "BINSAR SITOMPUL", "ROSLINA SIREGAR"),
        _person(buahbatu, 32, "ROSMAIDA SILALAHI", True, "TARUTUNG", date(1983, 10, 22), "KRISTEN",
                "AKADEMI/DIPLOMA III", "PERAWAT", "ISTRI", "KAWIN", "MANGASI SILALAHI", "TIOMINA PANJAITAN"),
        _person(buahbatu, 33, "GABRIEL SITOMPUL", False, "BANDUNG", date(2009, 6, 3), "KRISTEN", "SLTA/SEDERAJAT",
                "PELAJAR/MAHASISWA", "ANAK", "BELUM KAWIN", "JONATAN HASIHOLAN SITOMPUL", "ROSMAIDA SILALAHI"),
        _person(buahbatu, 34, "NATALIA SITOMPUL", True, "BANDUNG", date(2016, 12, 11), "KRISTEN",
                "BELUM TAMAT SD/SEDERAJAT", "PELAJAR/MAHASISWA", "ANAK", "BELUM KAWIN",
                "JONATAN HASIHOLAN SITOMPUL", "ROSMAIDA SILALAHI"),
    ])
    agus = _family(coblong, 21, date(2026, 10, 30), "JL. DAGO ASRI NO. 9", "001/002", "DAGO", "COBLONG",
                   "40135", [
        _person(coblong, 41, "AGUS SETIAWAN", False, "CIREBON", date(1993, 5, 2), "ISLAM", "DIPLOMA IV/STRATA I",
                "PEGAWAI NEGERI SIPIL", "KEPALA KELUARGA", "KAWIN", "TARYONO", "KARSIH"),
        _person(coblong, 42, "DEWI ANGGRAENI", True, "BANDUNG", date(1995, 8, 19), "ISLAM", "SLTA/SEDERAJAT",
                "KARYAWAN SWASTA", "ISTRI", "KAWIN", "UJANG SUPRIATNA", "IMAS MASRIAH"),
        _person(coblong, 43, "NAYLA PUTRI SETIAWAN", True, "BANDUNG", date(2026, 10, 15), "ISLAM",
                "TIDAK/BELUM SEKOLAH", "BELUM/TIDAK BEKERJA", "ANAK", "BELUM KAWIN", "AGUS SETIAWAN",
                "DEWI ANGGRAENI"),
    ])
    yulianti = _family(sukajadi, 17, date(2026, 11, 3), "JL. SUKAMULYA NO. 21", "003/005", "SUKAWARNA",
                       "SUKAJADI", "40164", [
        _person(sukajadi, 51, "YULIANTI HANDAYANI", True, "YOGYAKARTA", date(1978, 2, 25), "ISLAM",
                "SLTA/SEDERAJAT", "WIRASWASTA", "KEPALA KELUARGA", "CERAI MATI", "SUHARTO", "SUMIYATI"),
        _person(sukajadi, 52, "RIZKY PRATAMA", False, "BANDUNG", date(2011, 4, 9), "ISLAM", "SLTP/SEDERAJAT",
                "PELAJAR/MAHASISWA", "ANAK", "BELUM KAWIN", "HARYANTO", "YULIANTI HANDAYANI"),
    ])
    haryanto = _person(sukajadi, 53, "HARYANTO", False, "SOLO", date(1975, 12, 1), "ISLAM", "SLTA/SEDERAJAT",
                       "WIRASWASTA", "KEPALA KELUARGA", "KAWIN", "WIRYO", "PAINEM")
    death = Death(haryanto, date(2026, 9, 14), "RSUD KOTA BANDUNG", "SAKIT", yulianti.members[0])
    move = Move(yulianti.members, "JL. KALIURANG KM 5 NO. 12, SLEMAN, D.I. YOGYAKARTA", "KELUARGA",
                date(2026, 12, 20))
    return [
        (hendra, hendra.members[0], "+6281100000101", ["KK"]),
        (bayu, bayu.members[1], "+6281100000202", [bayu.members[2].nik]),
        (jonatan, jonatan.members[0], "+6281100000303", ["KK", jonatan.members[3].nik]),
        (agus, agus.members[1], "+6281100000404", [("AKTA_LAHIR", agus.members[2].nik), "KK"]),
        (yulianti, yulianti.members[0], "+6281100000505", [("AKTA_MATI", death), ("SKPWNI", move)]),
    ]


def _documents(family: Family, wanted: list[str], dinas_name: str) -> list[NewDocument]:
    documents = []
    for item in wanted:
        if item == "KK":
            documents.append(NewDocument("KK", "Kartu Keluarga", kk_pdf(family, dinas_name)))
        elif isinstance(item, tuple):
            documents.append(_certificate(family, *item, dinas_name))
        else:
            child = next(m for m in family.members if m.nik == item)
            first_name = child.name.split()[0].title()
            documents.append(NewDocument("KIA", f"Kartu Identitas Anak ({first_name})",
                                         kia_pdf(family, child, dinas_name)))
    return documents


def _certificate(family: Family, kind: str, subject: Any, dinas_name: str) -> NewDocument:
    if kind == "AKTA_LAHIR":
        child = next(m for m in family.members if m.nik == subject)
        return NewDocument(kind, f"Akta Kelahiran ({child.name.split()[0].title()})",
                           akta_lahir_pdf(family, child, dinas_name))
    if kind == "AKTA_MATI":
        return NewDocument(kind, f"Akta Kematian ({subject.person.name.split()[0].title()})",
                           akta_mati_pdf(family, subject, dinas_name))
    return NewDocument(kind, "Surat Keterangan Pindah WNI", skpwni_pdf(family, subject, dinas_name))


def seed_demo(target: str, *, clock: Clock = system_clock, notifier: Notifier | None = None,
              pin_secret: bytes | str | None = None, key_path: str | None = None) -> dict[str, Any]:
    """Fills a new database (a SQLite path or a PostgreSQL URI) with the demo; returns the
    tokens, kiosks and citizens (with PINs)."""
    store = storage.open_store(str(target), key_path=key_path, pin_secret=pin_secret)
    try:
        return _seed(store, clock, notifier)
    finally:
        store.close()


def _seed(store: storage.Store, clock: Clock, notifier: Notifier | None) -> dict[str, Any]:
    vault = store.vault
    notifier = notifier or RecordingNotifier(store.database, vault, clock)
    with store.database.session() as connection:
        now = clock()
        with db.transaction(connection):
            if auth.has_admin_token(connection):
                raise ValueError(f"{db.describe(store.database.target)} already holds data; seed a new database")
            settings.write(connection, **DEMO_SETTINGS)
            admin_token = auth.issue_admin_token(connection, vault, now)
            kiosks = [{"kiosk_id": kiosk_id, "group": group,
                       "token": auth.add_kiosk(connection, vault, kiosk_id, group, now)}
                      for kiosk_id, group in DEMO_KIOSKS]
        citizens = []
        for family, applicant, phone, wanted in demo_families():
            issued = applications.issue(connection, vault, notifier, now, nik=applicant.nik, name=applicant.name.title(),
                                        phone=phone, documents=_documents(family, wanted, DEMO_SETTINGS["dinas_name"]))
            citizens.append({"nik": applicant.nik, "name": applicant.name.title(), "phone": phone, "pin": issued.pin,
                             "request_no": issued.request_no,
                             "pin_expires_at": iso(issued.pin_expires_at),
                             "documents": [{"id": d["id"], "kind": d["kind"], "title": d["title"]}
                                           for d in issued.documents]})
    return {"admin_token": admin_token, "kiosks": kiosks, "citizens": citizens}
