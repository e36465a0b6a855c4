"""One journal write: BEGIN IMMEDIATE … COMMIT under the journal's lock, and what a write
the disk refused becomes (JournalWriteError, with the journal's failure hooks called)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .journal import Event, Journal


class JournalWriteError(RuntimeError):
    """A journal write did not reach the disk (full, read-only, I/O error); nothing of it
    was committed. An event it carried was handed to `on_unwritten_event` first."""


class WriteTransaction:
    """BEGIN IMMEDIATE … COMMIT under the journal's lock; ROLLBACK on any error. A write the
    disk refused (sqlite3.OperationalError) becomes JournalWriteError."""

    def __init__(self, journal: Journal, event: Event | None = None) -> None:
        self._journal, self._event = journal, event

    def __enter__(self) -> sqlite3.Connection:
        journal = self._journal
        journal._lock.acquire()
        try:
            journal.reserve.spend_if_low()
            journal._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            journal._lock.release()
            self._fail(exc)
        return journal._db

    def __exit__(self, exc_type, exc, tb) -> None:
        db = self._journal._db
        try:
            if exc_type is None:
                try:
                    db.execute("COMMIT")
                    return
                except sqlite3.OperationalError as error:
                    exc = error
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass                # SQLite rolled it back itself after an I/O error
        finally:
            self._journal._lock.release()
        if isinstance(exc, sqlite3.OperationalError):
            self._fail(exc)

    def _fail(self, error: sqlite3.OperationalError) -> None:
        failure = JournalWriteError(f"journal {self._journal.path.name}: {error}")
        self._journal._write_failed(failure, self._event)
        raise failure from error
