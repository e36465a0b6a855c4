"""Server settings kept in the database: what the WhatsApp message says about the dinas.

`adm-dinas` and the seed set them; each has a default so a new database works at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import db
from .db import Connection

DEFAULTS = {
    "dinas_name": "Dinas Kependudukan dan Pencatatan Sipil",
    "kiosk_locations": "Anjungan Dukcapil Mandiri (ADM) di kantor Disdukcapil dan kantor kecamatan",
    "contact": "kantor Disdukcapil terdekat",
    # The dinas's own time zone, for dates a citizen reads (the wire is always UTC).
    "utc_offset_minutes": "420",
    "timezone_label": "WIB",
}


@dataclass(frozen=True)
class DinasSettings:
    dinas_name: str
    kiosk_locations: str
    contact: str
    utc_offset_minutes: int
    timezone_label: str


def read(connection: Connection) -> DinasSettings:
    values = {key: db.get_setting(connection, key, default) for key, default in DEFAULTS.items()}
    return DinasSettings(values["dinas_name"], values["kiosk_locations"], values["contact"],
                         int(values["utc_offset_minutes"]), values["timezone_label"])


def write(connection: Connection, **values: str) -> None:
    for key, value in values.items():
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        db.put_setting(connection, key, value)
