"""The document kinds of contract v1, as the reference server knows them.

One entry per kind (the `kind` enum of dinas/openapi.yaml): its media, the page size and
page count its PDF must have, the name the WhatsApp message gives it and its
`adm-dinas application create` option. The kiosk has its own registry of the same kinds
(printer_drivers/registry.py); the two sides share the contract, not code.
"""

from __future__ import annotations

from dataclasses import dataclass

A4_POINTS = (595.28, 841.89)
CR80_POINTS = (242.65, 153.01)


@dataclass(frozen=True)
class Kind:
    code: str
    media: str                        # a4 | card
    page_size: tuple[float, float]    # PDF points, either orientation
    name: str                         # in the WhatsApp message
    pages: int | None = None          # exactly this many pages (None: one or more)

    @property
    def cli_option(self) -> str:
        return "--" + self.code.lower().replace("_", "-")


KINDS = (
    Kind("KK", "a4", A4_POINTS, "Kartu Keluarga (KK)"),
    Kind("KIA", "card", CR80_POINTS, "Kartu Identitas Anak (KIA)", pages=2),
    Kind("AKTA_LAHIR", "a4", A4_POINTS, "Kutipan Akta Kelahiran"),
    Kind("AKTA_MATI", "a4", A4_POINTS, "Kutipan Akta Kematian"),
    Kind("SKPWNI", "a4", A4_POINTS, "Surat Keterangan Pindah WNI (SKPWNI)"),
)
BY_CODE = {kind.code: kind for kind in KINDS}
CODES = tuple(BY_CODE)
