"""Retention: what the server stops keeping, and when.

- A sealed document's bytes are deleted `document_days` (default 30) after it was printed or
  its application's PIN expired; its row (kind, status, sha256, review flag) stays for audit.
- A recorded WhatsApp message is deleted `MESSAGE_RETENTION_SECONDS` after it was recorded:
  recording is the hand-over to the gateway, and the copy holds a PIN.
- Ended sessions, spent lockout rows and idle rate-limit rows a day after they stop mattering.
The server runs `purge` once a day (`DailyPurge`, one worker of all the workers and machines
claims each day's run in the database); `adm-dinas purge` runs it at once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from . import db
from .clock import Clock
from .db import Database

log = logging.getLogger(__name__)
DOCUMENT_DAYS = 30
MESSAGE_RETENTION_SECONDS = 24 * 3600
PURGE_INTERVAL_SECONDS = 86400
DAY = 86400


@dataclass(frozen=True)
class Purged:
    documents: int
    messages: int
    sessions: int
    lockouts: int

    def as_dict(self) -> dict[str, int]:
        return vars(self).copy()


def purge(connection: db.Connection, now: float, *, document_days: int = DOCUMENT_DAYS,
          message_seconds: float = MESSAGE_RETENTION_SECONDS) -> Purged:
    cutoff = now - document_days * DAY
    with db.transaction(connection):
        documents = connection.run(
            "UPDATE documents SET sealed_pdf = :empty, purged_at = :now WHERE purged_at IS NULL AND ("
            "(status = 'printed' AND printed_at < :cutoff) OR (status != 'printed' AND request_no IN "
            "(SELECT request_no FROM applications WHERE pin_expires_at < :cutoff)))",
            empty=b"", now=now, cutoff=cutoff)
        messages = connection.run("DELETE FROM outbox_messages WHERE created_at < :old", old=now - message_seconds)
        sessions = connection.run("DELETE FROM sessions WHERE expires_at < :old AND NOT EXISTS "
                                  "(SELECT 1 FROM jobs WHERE jobs.session_id = sessions.session_id)", old=now - DAY)
        lockouts = connection.run("DELETE FROM lockouts WHERE last_failure_at < :old AND "
                                  "(locked_until IS NULL OR locked_until < :old)", old=now - DAY)
        connection.run("DELETE FROM rate_limits WHERE updated_at < :old", old=now - DAY)
    purged = Purged(documents, messages, sessions, lockouts)
    log.info("purge: %s", ", ".join(f"{count} {what}" for what, count in purged.as_dict().items()))
    return purged


def claim_run(connection: db.Connection, now: float, interval: float = PURGE_INTERVAL_SECONDS) -> bool:
    """True for the one caller (of every worker and machine) that should run this period's purge."""
    with db.transaction(connection):
        db.put_setting(connection, "last_purge_at", db.get_setting(connection, "last_purge_at", "0"))
        last = float(connection.lock("settings", ["value"], key="last_purge_at")["value"])
        if now - last < interval:
            return False
        db.put_setting(connection, "last_purge_at", repr(now))
        return True


class DailyPurge:
    """A daemon thread that checks every `check_seconds` whether today's purge is due."""

    def __init__(self, database: Database, clock: Clock, check_seconds: float = 600.0,
                 document_days: int = DOCUMENT_DAYS) -> None:
        self._database = database
        self._clock = clock
        self._check = check_seconds
        self._document_days = document_days
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> Purged | None:
        """One check: purges when this period's run is due and not taken; returns what went."""
        with self._database.session() as connection:
            if not claim_run(connection, self._clock()):
                return None
            return purge(connection, self._clock(), document_days=self._document_days)

    def _loop(self) -> None:
        while not self._stop.wait(self._check):
            try:
                self.tick()
            except Exception as exc:       # the next check tries again; the server keeps serving
                log.error("daily purge failed: %s", type(exc).__name__)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="adm-dinas-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
