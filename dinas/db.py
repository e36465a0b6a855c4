"""The database: one SQLite file (a sandbox, a small dinas) or PostgreSQL (a province), from one
`--db` value, through SQLAlchemy Core.

Every query is written once, in the SQL both speak, with named parameters. What differs is how
a writing transaction keeps out a concurrent writer:
- SQLite: `BEGIN IMMEDIATE` takes the file's write lock, so read-then-write is serial;
- PostgreSQL (READ COMMITTED, many workers and machines): a transaction that reads and then
  writes first locks the rows it decides on (`lock()`, a conditional UPDATE, or an upsert), and
  every later statement sees what the previous holder committed.
Connections run in the driver's autocommit mode and `transaction()` says BEGIN and COMMIT
itself, so a single statement outside one is committed at once, as the server expects. BEGIN
is sent with the transaction's first statement (a transaction that runs none sends nothing),
so on PostgreSQL it costs no round trip of its own when that statement is a `batch()`.

`batch()` runs several statements whose parameters do not depend on each other's results: on
PostgreSQL in one round trip (psycopg 3's pipeline mode, each statement prepared on the
server), on SQLite one after the other through the driver; a batch of one statement outside
a transaction goes straight to the driver, prepared (a PostgreSQL heartbeat is that).

Durability: SQLite runs `synchronous = FULL` (a commit is on disk before the reply); on
PostgreSQL `synchronous_commit = on`, so an acknowledged request is a committed one.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class DatabaseUnavailable(Exception):
    """The `--db` value names no usable database (bad URI, missing folder, server down)."""


def is_postgres(target: str) -> bool:
    return str(target).startswith(_POSTGRES_SCHEMES)


def engine_url(target: str) -> str:
    """A SQLite path or a PostgreSQL URI -> the SQLAlchemy URL (psycopg 3 for PostgreSQL)."""
    target = str(target)
    if is_postgres(target):
        return "postgresql+psycopg://" + target.split("://", 1)[1]
    return "sqlite:///" + str(Path(target).resolve())


def describe(target: str) -> str:
    """The target for messages and logs, without a password."""
    if not is_postgres(target):
        return str(target)
    return sa.engine.make_url(engine_url(target)).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA foreign_keys = ON")
    # FULL: a commit is on disk before the server acknowledges it (a power cut loses nothing
    # that was answered); NORMAL in WAL mode could lose the last transactions.
    cursor.execute("PRAGMA synchronous = FULL")
    # Freed pages are zeroed, so nothing deleted lingers in the file.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


@functools.lru_cache(maxsize=2048)
def _statement(sql: str, expanding: tuple[str, ...]) -> sa.TextClause:
    statement = sa.text(sql)
    if expanding:
        statement = statement.bindparams(*(sa.bindparam(name, expanding=True) for name in expanding))
    return statement


@functools.lru_cache(maxsize=256)
def _driver_sql(sql: str, dialect: sa.Dialect) -> str:
    """`:name` SQL in the driver's own parameter style (psycopg: `%(name)s`)."""
    return str(_statement(sql, ()).compile(dialect=dialect))


class Connection:
    """One pooled connection. Queries are plain SQL with `:name` parameters; a list or tuple
    value expands for `IN :name`."""

    def __init__(self, database: "Database", raw: sa.Connection) -> None:
        self.database = database
        self._raw = raw
        self.in_transaction = False
        self._pending_begin = False      # inside transaction(), before its first statement

    def _begin_now(self) -> None:
        if self._pending_begin:
            self._raw.exec_driver_sql(self.database._begin)
            self._pending_begin = False

    def _execute(self, sql: str, params: dict[str, Any]) -> sa.CursorResult:
        self._begin_now()
        expanding = tuple(sorted(k for k, v in params.items() if isinstance(v, (list, tuple))))
        return self._raw.execute(_statement(sql, expanding), params)

    def batch(self, statements: Sequence[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        """Runs the statements in order and returns each one's rows (empty for a statement
        without RETURNING). No parameter may be a list (no `IN :name` expansion here)."""
        if self.database.is_sqlite:
            cursor = self._raw.connection.driver_connection.cursor()
            try:
                if self._pending_begin:
                    cursor.execute(self.database._begin)
                    self._pending_begin = False
                found = []
                for sql, params in statements:
                    cursor.execute(sql, params)        # sqlite3 takes `:name` as it is
                    names = [column[0] for column in cursor.description or ()]
                    found.append([dict(zip(names, row)) for row in cursor.fetchall()] if names else [])
                return found
            finally:
                cursor.close()
        driver = self._raw.connection.driver_connection
        dialect = self.database.engine.dialect
        if len(statements) == 1 and not self._pending_begin:
            # One statement needs no pipeline (whose machinery costs more than the statement).
            sql, params = statements[0]
            with driver.cursor() as cursor:
                cursor.execute(_driver_sql(sql, dialect), params, prepare=True)
                names = [column.name for column in cursor.description or ()]
                return [[dict(zip(names, row)) for row in cursor.fetchall()] if names else []]
        cursors = []
        with driver.pipeline():
            if self._pending_begin:
                self._pending_begin = False
                driver.execute(self.database._begin)
            for sql, params in statements:
                cursor = driver.cursor()
                cursor.execute(_driver_sql(sql, dialect), params, prepare=True)
                cursors.append(cursor)
        # Leaving the pipeline synced it: every result is here (or its error was raised).
        found = []
        for cursor in cursors:
            names = [column.name for column in cursor.description or ()]
            found.append([dict(zip(names, row)) for row in cursor.fetchall()] if names else [])
            cursor.close()
        return found

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: SAVEPOINT ... RELEASE; on an exception, what ran since the
        SAVEPOINT is rolled back and the transaction goes on (the exception is re-raised)."""
        self._plain("SAVEPOINT part")
        try:
            yield
        except BaseException:
            self._plain("ROLLBACK TO SAVEPOINT part")
            self._plain("RELEASE SAVEPOINT part")
            raise
        self._plain("RELEASE SAVEPOINT part")

    def _plain(self, sql: str) -> None:
        """One statement without parameters, straight to the driver (after a pending BEGIN)."""
        if not self.database.is_sqlite:
            self.raw.exec_driver_sql(sql)
            return
        cursor = self._raw.connection.driver_connection.cursor()
        try:
            if self._pending_begin:
                cursor.execute(self.database._begin)
                self._pending_begin = False
            cursor.execute(sql)
        finally:
            cursor.close()

    def one(self, sql: str, **params: Any) -> RowMapping | None:
        return self._execute(sql, params).mappings().first()

    def all(self, sql: str, **params: Any) -> list[RowMapping]:
        return list(self._execute(sql, params).mappings())

    def value(self, sql: str, **params: Any) -> Any:
        return self._execute(sql, params).scalar()

    def run(self, sql: str, **params: Any) -> int:
        """Runs a statement; returns the number of rows it changed."""
        return self._execute(sql, params).rowcount

    def lock(self, table: str, columns: Sequence[str], **where: Any) -> RowMapping | None:
        """SELECT columns ... WHERE k = v ... FOR UPDATE (on SQLite, where BEGIN IMMEDIATE already
        holds the whole file, a plain SELECT): read a row and keep it until the transaction ends."""
        self._begin_now()
        target = sa.table(table, *(sa.column(name) for name in {*columns, *where}))
        statement = sa.select(*(target.c[name] for name in columns)).where(
            *(target.c[name] == value for name, value in where.items())).with_for_update()
        return self._raw.execute(statement).mappings().first()

    @property
    def raw(self) -> sa.Connection:
        self._begin_now()
        return self._raw

    def close(self) -> None:
        if self.in_transaction:       # a request that died mid-transaction
            self.in_transaction = False
            if not self._pending_begin:
                self._raw.exec_driver_sql("ROLLBACK")
            self._pending_begin = False
        self._raw.close()


class Database:
    """The engine for one `--db` value, with its connection pool."""

    def __init__(self, target: str | os.PathLike, *, pool_size: int = 8) -> None:
        self.target = str(target)
        self.is_sqlite = not is_postgres(self.target)
        if self.is_sqlite and not Path(self.target).resolve().parent.is_dir():
            raise DatabaseUnavailable(f"folder {Path(self.target).resolve().parent} does not exist")
        options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "pool_size": pool_size,
                                   "max_overflow": pool_size, "pool_recycle": 3600}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": 10.0, "check_same_thread": False}
        else:
            options["connect_args"] = {"options": "-c synchronous_commit=on", "connect_timeout": 10}
        try:
            self.engine: Engine = sa.create_engine(engine_url(self.target), **options)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise DatabaseUnavailable(f"{describe(self.target)} is not a SQLite path or PostgreSQL URI: "
                                      f"{exc}") from None
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._begin = "BEGIN IMMEDIATE" if self.is_sqlite else "BEGIN"
        self._kept: list[Connection] = []

    def keep(self) -> Connection:
        """A connection for one owner to keep between uses (the heartbeat writer's, which would
        otherwise take one from the pool and give it back for every group); `dispose` closes it."""
        connection = self.connect()
        self._kept.append(connection)
        return connection

    def let_go(self, connection: Connection) -> None:
        """Closes a kept connection (after a failure: the next use takes a fresh one)."""
        if connection in self._kept:
            self._kept.remove(connection)
        connection.close()

    def connect(self) -> Connection:
        try:
            return Connection(self, self.engine.connect())
        except sa.exc.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot open {describe(self.target)}: {exc.orig}") from None

    @contextlib.contextmanager
    def session(self) -> Iterator[Connection]:
        """A connection for a few statements, given back to the pool afterwards."""
        connection = self.connect()
        try:
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside one writing transaction."""
        with self.session() as connection, transaction(connection):
            yield connection

    def dispose(self) -> None:
        for connection in list(self._kept):
            self.let_go(connection)
        self.engine.dispose()


@contextlib.contextmanager
def transaction(connection: Connection) -> Iterator[Connection]:
    """BEGIN (IMMEDIATE on SQLite) ... COMMIT, or ROLLBACK on any exception. BEGIN goes with
    the first statement; a transaction that ran none sends neither."""
    connection._pending_begin = True
    connection.in_transaction = True
    try:
        yield connection
    except BaseException:
        connection.in_transaction = False
        if connection._pending_begin:
            connection._pending_begin = False
        else:
            connection._raw.exec_driver_sql("ROLLBACK")
        raise
    connection.in_transaction = False
    if connection._pending_begin:
        connection._pending_begin = False
    else:
        connection._raw.exec_driver_sql("COMMIT")


def get_setting(connection: Connection, key: str, default: str | None = None) -> str | None:
    value = connection.value("SELECT value FROM settings WHERE key = :key", key=key)
    return default if value is None else value


def put_setting(connection: Connection, key: str, value: Any) -> None:
    connection.run("INSERT INTO settings (key, value) VALUES (:key, :value) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", key=key, value=str(value))
