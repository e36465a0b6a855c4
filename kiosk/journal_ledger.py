"""The staff's ledger in the journal: the audit trail of what technicians and operators did
(`audit`; each heartbeat reports the new rows, `audit_since`) and the supplies they refilled,
with the kiosk's own count of those it counts (`replenish`, `stock`: kiosk/supplies.py).

`StaffLedger` is a part of kiosk.journal.Journal, which inherits it: it writes through the
journal's transactions and reads under its lock, in the same SQLite file. Its own module so
that each half reads in one sitting; callers use it as `journal.audit(…)`, `journal.stock(…)`.
The audit trail and the supply stock are never pruned: they are the kiosk's lasting record.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

from devices.status import Consumable

from .journal_records import dump_json, load_json, utc_iso
from .supplies import CountedSupply, counted

if TYPE_CHECKING:
    from .journal_tx import WriteTransaction

MAINTENANCE_KIND = "maintenance"            # the counters' kind for technician actions


def _used_sql(counted_supply: CountedSupply) -> tuple[str, tuple]:
    """The lifetime total used of a counted supply, from the day counters (kept for good)."""
    kinds = counted_supply.printed_kinds
    sql = (f"SELECT COALESCE(SUM(value), 0) FROM counters WHERE counter IN ({','.join('?' * len(counted_supply.used_by))})"
           + (f" OR (counter = 'printed' AND kind IN ({','.join('?' * len(kinds))}))" if kinds else ""))
    return sql, (*counted_supply.used_by, *kinds)


class StaffLedger:
    """The audit trail and the supply stock, on the journal's connection (see kiosk.journal)."""

    # Journal's: its one connection, the lock around it, one write, a day counter's increment.
    _db: sqlite3.Connection
    _lock: threading.RLock
    _transaction: Callable[[], WriteTransaction]
    _count: Callable[[sqlite3.Connection, str, str, int], None]

    # --- writing ---------------------------------------------------------------------------
    def audit(self, actor: str, action: str, detail: Mapping[str, Any] | None = None, *,
              kind: str = MAINTENANCE_KIND, count: Mapping[str, int] | None = None) -> None:
        """A technician action (replenish, clean, test print …); never personal data. `count`
        adds to today's counters of `kind` in the same transaction (a test card used …)."""
        with self._transaction() as db:
            self._audit(db, actor, action, detail)
            for name, amount in (count or {}).items():
                self._count(db, kind, name, amount)

    def replenish(self, supply: Consumable | str, loaded: int | None, actor: str,
                  detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The technician refilled `supply`. A counted one (cards, receipt paper) takes how many
        are in it now, and the kiosk's count restarts there; one the printer senses (ribbon,
        A4 paper) takes None and is only recorded. Audited in the same transaction (action
        `replenish_<supply>` or `refilled_<supply>`); returns the new `stock(supply)`."""
        supply = _supply(supply)
        counted_supply = counted(supply)
        if counted_supply is not None and (isinstance(loaded, bool) or not isinstance(loaded, int) or loaded < 0):
            raise ValueError(f"{supply.value} loaded is a whole number of at least 0, got {loaded!r}")
        if counted_supply is None and loaded is not None:
            raise ValueError(f"{supply.value} is sensed by its printer, not counted: record the refill without a number")
        with self._transaction() as db:
            used = self._used(db, counted_supply) if counted_supply is not None else None
            db.execute("INSERT INTO supply_stock (supply, at, loaded, used_before, actor) VALUES (?, ?, ?, ?, ?)",
                       (supply.value, time.time(), loaded, used, actor))
            action = f"replenish_{supply.value}" if counted_supply is not None else f"refilled_{supply.value}"
            self._audit(db, actor, action, {"supply": supply.value,
                                            **({"loaded": loaded} if counted_supply is not None else {}),
                                            **(detail or {})})
        return self.stock(supply)

    @staticmethod
    def _audit(db: sqlite3.Connection, actor: str, action: str, detail: Mapping[str, Any] | None) -> None:
        db.execute("INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                   (time.time(), actor, action, dump_json(detail)))

    # --- reading -----------------------------------------------------------------------------
    def audit_trail(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [{"at": at, "actor": actor, "action": action, "detail": load_json(detail)}
                for at, actor, action, detail in rows]

    def audit_since(self, after_id: int | None, limit: int = 50) -> list[dict[str, Any]]:
        """Audit rows after row `after_id` (None: the last `limit`), oldest first, each with
        its `id`: what the next heartbeat tells the dinas technicians and operators did."""
        with self._lock:
            if after_id is None:
                rows = self._db.execute("SELECT id, at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?",
                                        (limit,)).fetchall()[::-1]
            else:
                rows = self._db.execute("SELECT id, at, actor, action, detail FROM audit WHERE id > ?"
                                        " ORDER BY id LIMIT ?", (after_id, limit)).fetchall()
        return [{"id": row_id, "at": utc_iso(at), "actor": actor, "action": action, "detail": load_json(detail)}
                for row_id, at, actor, action, detail in rows]

    def last_audit(self, action: str, **detail: str) -> dict[str, Any] | None:
        """The latest audit row of `action` whose detail holds these values (a printer's last
        cleaning: kiosk.diagnostics), or None. The audit trail is never pruned."""
        if not all(key.isidentifier() for key in detail):
            raise ValueError(f"audit detail keys are plain names, got {sorted(detail)}")
        where = "".join(f" AND json_extract(detail, '$.{key}') = ?" for key in detail)
        with self._lock:
            row = self._db.execute(f"SELECT at, actor, detail FROM audit WHERE action = ?{where}"
                                   " ORDER BY id DESC LIMIT 1", (action, *detail.values())).fetchone()
        return None if row is None else {"at": row[0], "actor": row[1], "detail": load_json(row[2]) or {}}

    def stock(self, supply: Consumable | str) -> dict[str, Any]:
        """A supply's record since its last refill: `since` (UTC) and `by` (the PIN slot), None
        before any. A counted supply adds the kiosk's count: {loaded, used, remaining} since
        then; before any replenish all None but `used` (lifetime)."""
        supply = _supply(supply)
        counted_supply = counted(supply)
        with self._lock:
            used = self._used(self._db, counted_supply) if counted_supply is not None else None
            row = self._db.execute("SELECT at, loaded, used_before, actor FROM supply_stock WHERE supply = ?"
                                   " ORDER BY id DESC LIMIT 1", (supply.value,)).fetchone()
        at, loaded, used_before, actor = row if row is not None else (None, None, None, None)
        record = {"since": utc_iso(at) if at is not None else None, "by": actor}
        if counted_supply is None:
            return record
        if loaded is None:
            return {"loaded": None, "used": used, "remaining": None, **record}
        used_since = used - (used_before or 0)
        return {"loaded": loaded, "used": used_since, "remaining": max(loaded - used_since, 0), **record}

    @staticmethod
    def _used(db: sqlite3.Connection, counted_supply: CountedSupply) -> int:
        return db.execute(*_used_sql(counted_supply)).fetchone()[0]


def _supply(supply: Consumable | str) -> Consumable:
    try:
        return Consumable(supply)
    except ValueError:
        raise ValueError(f"unknown supply {supply!r}; one of {', '.join(c.value for c in Consumable)}") from None
