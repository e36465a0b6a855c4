"""A kiosk's heartbeat: reading its body and storing it, for the Flask route and the WSGI hot
path (`heartbeat_wsgi`), which give the same answers.

Storing is atomic: the kiosk's row (its RETURNING also reads the configuration ETag), the
rate-limit token, the history row and the day's counts, with the token checked by the same
statements (no lookup of its own and no cache, so a revoked token stops at once).
A refused heartbeat (rate limit, another kiosk's token) keeps nothing, not even the token.

On PostgreSQL each heartbeat is one statement outside a transaction (`_write_as_one`): its
parts chained as data-modifying CTEs, committed before it returns, one round trip with no
BEGIN or COMMIT (the app's CPU a heartbeat, in one process: 0.44 ms as a pipelined batch and
a COMMIT, 0.30 ms as one statement). Concurrent backends share WAL flushes by themselves.
Pruning a kiosk's history (every `fleet.PRUNE_EVERY` heartbeats) follows as statements of its
own. On SQLite, which has no data-modifying CTEs, every write takes the file's
one lock and (with `synchronous = FULL`) an fsync, so heartbeats that arrive together are
written by one thread in one transaction, each inside its own SAVEPOINT (a refused one is
rolled back alone), with one COMMIT and one fsync for all: a group commit. No reply goes out
before the COMMIT that holds its heartbeat has returned, so acknowledged still means on disk.
Without it, 8 threads fighting for the lock through SQLite's busy handler (sleeps of 1, 2, 5,
10 ... ms) held about 400 heartbeats/s on the 2-core box.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from . import config_store, db, fleet, validation as v
from .clock import iso
from .errors import ApiError, invalid_request
from .ratelimit import RateLimiter

DEVICE_STATES = ("ready", "busy", "offline", "user_error", "hardware_error", "no_device", "unknown")
SUPPLY_LEVELS = ("full", "low", "out", "unknown")


class NotThisKiosksToken(Exception):
    """The token check inside the kiosk row's UPDATE found no row (nothing was kept): the
    checked path (authenticate first) says why."""


def read(body: dict) -> tuple[dict, str | None]:
    """(the heartbeat as stored, the kiosk's config ETag) from a JSON object, or ApiError 400."""
    kiosk_id = v.text(body, "kiosk_id", max_len=64)
    counters, last_faults = body.get("counters"), body.get("last_faults")
    if not isinstance(counters, dict):
        raise invalid_request("counters must be an object")
    if not isinstance(last_faults, list) or len(last_faults) > 100:
        raise invalid_request("last_faults must be a list of at most 100 entries")
    staff_actions = body.get("staff_actions", [])
    if not isinstance(staff_actions, list) or len(staff_actions) > 100 \
            or not all(isinstance(a, dict) and {"id", "at", "actor", "action"} <= a.keys() for a in staff_actions):
        raise invalid_request("staff_actions must be a list of at most 100 {id, at, actor, action, detail}")
    beat = {"kiosk_id": kiosk_id,
            "software_version": v.text(body, "software_version", max_len=64),
            "config_version": v.integer(body, "config_version", minimum=0, maximum=2**53, nullable=True),
            "config_stale": _flag(body, "config_stale"),
            "uptime_s": v.number(body, "uptime_s", minimum=0, maximum=1e10),
            "devices": _read_devices(body),
            "counters": counters,
            "outbox_depth": v.integer(body, "outbox_depth", minimum=0, maximum=2**31),
            "last_faults": last_faults,
            "cards_low": _flag(body, "cards_low"),
            "staff_actions": staff_actions}       # kept in the heartbeat history: who did what, by PIN slot
    return beat, v.text(body, "config_etag", max_len=200, required=False)


def _read_devices(body: dict) -> dict:
    devices = body.get("devices")
    if not isinstance(devices, dict) or len(devices) > 16:
        raise invalid_request("devices must be an object of at most 16 devices, keyed by role")
    for role, device in devices.items():
        if not isinstance(device, dict):
            raise invalid_request(f"devices.{role} must be an object (DeviceStatus.as_dict())")
        v.choice(device, "state", DEVICE_STATES)
        supplies = device.get("supplies", {})
        if not isinstance(supplies, dict) or not all(isinstance(s, dict) for s in supplies.values()):
            raise invalid_request(f"devices.{role}.supplies must be an object of objects")
        for name, supply in supplies.items():
            if supply.get("level") not in SUPPLY_LEVELS:
                raise invalid_request(f"devices.{role}.supplies.{name}.level must be one of {', '.join(SUPPLY_LEVELS)}")
        faults = device.get("faults", [])
        if not isinstance(faults, list) or not all(isinstance(f, dict) and isinstance(f.get("code"), str)
                                                   for f in faults):
            raise invalid_request(f"devices.{role}.faults must be a list of objects with a code")
    return devices


def _flag(body: dict, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise invalid_request(f"{key} must be true or false")
    return value


_RETURNING = {"etag": config_store.LATEST_ETAG_OF_ROW}


def _merged(*params: dict[str, Any]) -> dict[str, Any]:
    """The parts' parameters as one statement's; a name two parts share has one value."""
    merged: dict[str, Any] = {}
    for part in params:
        for name, value in part.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(f"parameter {name} differs between the statement's parts")
    return merged


class _Pending:
    __slots__ = ("write", "reply", "error", "done")

    def __init__(self, write: Callable[[db.Connection], dict]) -> None:
        self.write = write
        self.reply: dict | None = None
        self.error: BaseException | None = None
        self.done = False


class HeartbeatStore:
    """Stores heartbeats on one database (one per worker process, made with the app)."""

    def __init__(self, database: db.Database, limiter: RateLimiter, clock: Callable[[], float]) -> None:
        self._database = database
        self._limiter = limiter
        self._clock = clock
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()        # held by the one thread writing a group
        self._connection: db.Connection | None = None      # the writer's own (Database.keep)

    def store(self, connect: Callable[[], db.Connection], kiosk_id: str, beat: dict, kiosk_etag: str | None,
              token_hash: str | None = None) -> dict:
        """The reply ({server_time, config_waiting}) once the heartbeat is committed; ApiError
        429 when its kiosk is over its rate, NotThisKiosksToken (with `token_hash`) when that
        token is not this kiosk's. `connect` gives the request's connection (PostgreSQL)."""
        if not self._database.is_sqlite:
            return self._write_as_one(connect(), kiosk_id, beat, kiosk_etag, token_hash)

        def write(connection: db.Connection) -> dict:
            return self._write(connection, kiosk_id, beat, kiosk_etag, token_hash)
        return self._group_commit(_Pending(write))

    def _write(self, connection: db.Connection, kiosk_id: str, beat: dict, kiosk_etag: str | None,
               token_hash: str | None) -> dict:
        now = self._clock()
        kiosk_row, *history = fleet.heartbeat_statements(now, kiosk_id, beat, token_hash, returning=_RETURNING)
        counted, taken, *_ = connection.batch([kiosk_row, self._limiter.take(f"heartbeats:{kiosk_id}", now), *history])
        if token_hash is not None and not counted:
            raise NotThisKiosksToken()
        self._limiter.check(taken[0])
        return self._reply(connection, now, kiosk_id, counted[0] if counted else None, kiosk_etag)

    def _write_as_one(self, connection: db.Connection, kiosk_id: str, beat: dict, kiosk_etag: str | None,
                      token_hash: str | None) -> dict:
        """PostgreSQL: the same writes as one statement outside a transaction (so committed
        before it returns), one round trip with no BEGIN or COMMIT. Its data-modifying CTEs
        (which SQLite does not have) chain the checks: the token (when given) gates the
        rate-limit token, and a token taken gates the kiosk's row, the history and the day's
        counts. No row back: not this kiosk's token, nothing written. A refused one writes
        only the bucket's refill, which is what it would have read anyway."""
        now = self._clock()
        take = self._limiter.take(f"heartbeats:{kiosk_id}", now,
                                  only_if=None if token_hash is None else fleet.TOKEN_NAMES_KIOSK)
        kiosk_row, *history = fleet.heartbeat_statements(now, kiosk_id, beat, returning=_RETURNING,
                                                         gate="EXISTS (SELECT 1 FROM taken WHERE admitted = 1)")
        parts = {"taken": take, "kiosk": kiosk_row, **{f"written_{i}": part for i, part in enumerate(history)}}
        sql = ("WITH " + ", ".join(f"{name} AS ({statement})" for name, (statement, _) in parts.items())
               + " SELECT taken.tokens, taken.admitted, kiosk.* FROM taken LEFT JOIN kiosk ON true")
        params = _merged(*(part_params for _, part_params in parts.values()),
                         {} if token_hash is None else {"h": token_hash})
        (rows,) = connection.batch([(sql, params)])
        if not rows:
            raise NotThisKiosksToken()
        self._limiter.check(rows[0])
        counted = rows[0] if rows[0]["heartbeat_count"] is not None else None
        return self._reply(connection, now, kiosk_id, counted, kiosk_etag)

    @staticmethod
    def _reply(connection: db.Connection, now: float, kiosk_id: str, counted: dict | None,
               kiosk_etag: str | None) -> dict:
        fleet.after_heartbeat(connection, now, kiosk_id, counted["heartbeat_count"] if counted else None)
        return {"server_time": iso(now),
                "config_waiting": config_store.etag_differs(counted["etag"] if counted else None, kiosk_etag)}

    def _group_commit(self, pending: _Pending) -> dict:
        with self._queue_lock:
            self._queue.append(pending)
        # Whoever holds the writer lock writes every heartbeat queued by then. A thread whose
        # own heartbeat is still queued when it gets the lock writes the next group.
        with self._writer:
            if not pending.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._write_group(group)
        if pending.error is not None:
            raise pending.error
        assert pending.reply is not None
        return pending.reply

    def _write_group(self, group: list[_Pending]) -> None:
        if self._connection is None:
            self._connection = self._database.keep()
        connection = self._connection
        try:
            with db.transaction(connection):
                if len(group) == 1:             # alone: a refusal rolls the whole transaction back
                    try:
                        group[0].reply = group[0].write(connection)
                    except (ApiError, NotThisKiosksToken) as refused:
                        group[0].error = refused
                        raise
                    return
                for pending in group:
                    try:
                        with connection.savepoint():
                            pending.reply = pending.write(connection)
                    except (ApiError, NotThisKiosksToken) as refused:
                        pending.error = refused
        except (ApiError, NotThisKiosksToken):
            pass
        except BaseException as failed:        # BEGIN or COMMIT failed: none of them is stored
            self._connection = None
            self._database.let_go(connection)
            for pending in group:
                pending.reply, pending.error = None, pending.error or failed
            if not isinstance(failed, Exception):
                raise
        finally:
            for pending in group:
                pending.done = True
