"""The store: schema migrations from the first release, the key that belongs to a database,
and token revocation and rotation (the CLI, against a running server)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import requests

from dinas import cli, migrations
from dinas.seed import seed_demo
from dinas.server import create_app
from dinas.storage import KeyMissing, StoreError, open_store
from dinas.vault import secret_path
from tests.fixtures.dinas_server import reference_server  # noqa: F401

V1_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "dinas_schema_v1.sql"


def _as_first_release(seeded: Path, target: Path, *, with_main_additions: bool) -> None:
    """A database as the first release made it (version 1, no schema_version), holding the
    seeded rows; optionally with the tables `main` added before schema versions."""
    connection = sqlite3.connect(target)
    connection.executescript(V1_SCHEMA.read_text())
    if with_main_additions:
        connection.executescript("CREATE TABLE kiosk_days (kiosk_id TEXT NOT NULL, day TEXT NOT NULL, "
                                 "printed INTEGER NOT NULL, failed INTEGER NOT NULL, PRIMARY KEY (kiosk_id, day));"
                                 "ALTER TABLE kiosks ADD COLUMN config_stale INTEGER;")
    connection.execute("ATTACH DATABASE ? AS seeded", (str(seeded),))
    for (table,) in connection.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'").fetchall():
        columns = ", ".join(row[1] for row in connection.execute(f"PRAGMA main.table_info({table})"))
        connection.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM seeded.{table}")
    connection.commit()
    connection.execute("DETACH DATABASE seeded")
    connection.close()
    secret_path(target).write_bytes(secret_path(seeded).read_bytes())
    secret_path(target).chmod(0o600)


@pytest.mark.parametrize("with_main_additions", [False, True])
def test_a_first_release_database_is_migrated_and_keeps_working(tmp_path, with_main_additions):
    seeded = tmp_path / "seeded.db"
    seed = seed_demo(str(seeded))
    old = tmp_path / "old.db"
    _as_first_release(seeded, old, with_main_additions=with_main_additions)
    store = open_store(old)
    try:
        with store.database.session() as connection:
            assert migrations.current_version(connection.raw) == migrations.LATEST
            assert connection.value("SELECT COUNT(*) FROM applications") == len(seed["citizens"])
            assert connection.value("SELECT lock_periods FROM applications LIMIT 1") == 0
    finally:
        store.close()
    client = create_app(str(old)).test_client()
    citizen = seed["citizens"][0]
    reply = client.post("/api/v1/kiosk/sessions", json={"nik": citizen["nik"], "pin": citizen["pin"]},
                        headers={"Authorization": f"Bearer {seed['kiosks'][0]['token']}"})
    assert reply.status_code == 201 and reply.get_json()["request_no"] == citizen["request_no"]
    assert open_store(old).database.dispose() is None                   # opening again migrates nothing


def test_a_database_whose_key_is_missing_refuses_to_start(tmp_path, capsys):
    path = tmp_path / "dinas.db"
    seed_demo(str(path))
    key = secret_path(path)
    key.rename(tmp_path / "elsewhere.key")
    with pytest.raises(KeyMissing) as missing:
        open_store(path)
    assert str(key) in str(missing.value) and "Restore" in str(missing.value) and not key.exists()
    for argv in (["serve", "--db", str(path), "--port", "1"], ["fleet", "--db", str(path)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert f"the server key {key} is missing" in err and "key backup" in err and not key.exists()
    (tmp_path / "other.db.key").write_bytes(b"k" * 32)
    with pytest.raises(StoreError, match="not the key"):
        open_store(path, key_path=tmp_path / "other.db.key")
    (tmp_path / "elsewhere.key").rename(key)                                # restored: it opens
    open_store(path).close()


def test_a_postgresql_database_needs_its_key_named(monkeypatch):
    monkeypatch.delenv("ADM_DINAS_KEY", raising=False)
    with pytest.raises(StoreError, match="--key"):
        open_store("postgresql://nobody@/none?host=/nonexistent")


def test_revoked_and_rotated_tokens_stop_at_once(reference_server, capsys):
    server = reference_server
    base = ["--db", server.db, "--key", server.key_path]

    def status(token: str, path: str = "/kiosk/config") -> int:
        return requests.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code

    kiosk_id, old_token = server.kiosks[0]["kiosk_id"], server.kiosks[0]["token"]
    assert status(old_token) == 404                                   # known: no config published yet
    assert cli.main(["kiosk", "rotate-token", *base, kiosk_id]) == 0
    new_token = capsys.readouterr().out.strip()
    assert status(old_token) == 401 and status(new_token) == 404
    assert cli.main(["kiosk", "revoke", *base, kiosk_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert status(new_token) == 401
    fleet = requests.get(f"{server.url}/admin/kiosks", headers=server.admin_headers(), timeout=5).json()["kiosks"]
    assert next(k for k in fleet if k["kiosk_id"] == kiosk_id)["revoked"] is True
    assert cli.main(["kiosk", "rotate-token", *base, kiosk_id]) == 0          # re-enrolled
    assert status(capsys.readouterr().out.strip()) == 404
    assert cli.main(["kiosk", "revoke", *base, "ADM-NOPE"]) == 2
    assert "no kiosk" in capsys.readouterr().err

    assert cli.main(["admin-token", "rotate", *base]) == 0
    admin_token = capsys.readouterr().out.strip()
    assert status(server.admin_token, "/admin/kiosks") == 401 and status(admin_token, "/admin/kiosks") == 200


def test_fleet_json_names_revoked_kiosks(tmp_path, capsys):
    path = tmp_path / "dinas.db"
    seed_demo(str(path))
    assert cli.main(["kiosk", "revoke", "--db", str(path), "ADM-BDG-02"]) == 0
    capsys.readouterr()
    assert cli.main(["fleet", "--db", str(path)]) == 0
    assert "revoked" in [line.split()[2] for line in capsys.readouterr().out.splitlines() if "ADM-BDG-02" in line]
    assert cli.main(["fleet", "--db", str(path), "--json"]) == 0
    assert [k["revoked"] for k in json.loads(capsys.readouterr().out)["kiosks"]] == [False, True, False]
