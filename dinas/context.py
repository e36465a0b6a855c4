"""What every request reaches: the app's Dinas state, its DB connection and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, g, request

from .auth import Caller, authenticate
from .clock import Clock
from .db import Connection, Database
from .heartbeats import HeartbeatStore
from .notifier import Notifier
from .ratelimit import RateLimiter
from .vault import Vault


@dataclass
class Dinas:
    database: Database
    vault: Vault
    clock: Clock
    notifier: Notifier
    session_limiter: RateLimiter
    heartbeat_limiter: RateLimiter
    heartbeats: HeartbeatStore = field(init=False)

    def __post_init__(self) -> None:
        self.heartbeats = HeartbeatStore(self.database, self.heartbeat_limiter, self.now)

    def now(self) -> float:
        return self.clock()


def dinas() -> Dinas:
    return current_app.extensions["dinas"]


def connection() -> Connection:
    """This request's connection (one per request, back to the pool when it ends)."""
    if "db" not in g:
        g.db = dinas().database.connect()
    return g.db


def caller(kind: str) -> Caller:
    return authenticate(connection(), dinas().vault, request.headers.get("Authorization"), kind)
