"""Opening the dinas's store: the database from `--db`, migrated, and the key that belongs to it.

Every entry point (the server, each `adm-dinas` command, the seed, the tests) opens it here, so
they all check the same things before touching data:
- the schema is brought to the latest version;
- the key file exists, or the database is new and a key is made for it; a database with data
  and no key refuses to open with a message saying what is missing and how to restore it;
- the key is the one the data was made with (a check value is kept in `settings`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import db, migrations
from .vault import Vault, load_or_create_secret, missing_key_message, secret_path

KEY_CHECK = "key_check"
KEY_ENV = "ADM_DINAS_KEY"


class StoreError(Exception):
    """The store cannot be opened as asked; the message says why and what to do."""


class KeyMissing(StoreError):
    """The database holds data made with a key that is not there: refuse to start."""


@dataclass
class Store:
    database: db.Database
    vault: Vault
    key_path: Path | None

    def close(self) -> None:
        self.database.dispose()


def key_path_for(target: str, key_path: str | os.PathLike | None = None) -> Path:
    """`--key`, else $ADM_DINAS_KEY, else `<db>.key` beside a SQLite file."""
    chosen = key_path or os.environ.get(KEY_ENV)
    if chosen:
        return Path(chosen)
    if db.is_postgres(target):
        raise StoreError(f"a PostgreSQL database needs its key file: give --key FILE (or set {KEY_ENV})")
    return secret_path(target)


def _holds_data(connection: db.Connection) -> bool:
    return (db.get_setting(connection, KEY_CHECK) is not None
            or connection.value("SELECT COUNT(*) FROM tokens") > 0
            or connection.value("SELECT COUNT(*) FROM applications") > 0)


def open_store(target: str | os.PathLike, *, key_path: str | os.PathLike | None = None,
               pin_secret: bytes | str | None = None, pool_size: int = 8) -> Store:
    """The database, migrated, with its vault. `pin_secret` replaces the key file (tests)."""
    target = str(target)
    path = None if pin_secret is not None else key_path_for(target, key_path)
    try:
        database = db.Database(target, pool_size=pool_size)
        migrations.migrate(database)
    except db.DatabaseUnavailable as exc:
        raise StoreError(str(exc)) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
            raise StoreError(f"cannot open {db.describe(target)}: {getattr(exc, 'orig', exc)}") from None
        raise
    try:
        if path is None:
            return Store(database, Vault(pin_secret), None)
        with database.write() as connection:
            has_data = _holds_data(connection)
            try:
                secret = load_or_create_secret(path, may_create=not has_data)
            except FileNotFoundError:
                raise KeyMissing(missing_key_message(path, db.describe(target))) from None
            except ValueError as exc:
                raise StoreError(str(exc)) from None
            vault = Vault(secret)
            stored = db.get_setting(connection, KEY_CHECK)
            if stored is None:
                db.put_setting(connection, KEY_CHECK, vault.key_check())
            elif stored != vault.key_check():
                raise StoreError(f"the key {path} is not the key the database {db.describe(target)} was made with; "
                                 "restore the right key file from your key backup (docs/DEPLOYMENT.md)")
        return Store(database, vault, path)
    except BaseException:
        database.dispose()
        raise
