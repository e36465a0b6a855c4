"""What every request reaches: the app's Dinas state, its DB connection and the caller."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask import current_app, g, request

from . import db
from .auth import Caller, authenticate
from .clock import Clock
from .notifier import Notifier
from .pins import SessionRateLimiter
from .vault import Vault


@dataclass
class Dinas:
    db_path: str
    vault: Vault
    clock: Clock
    notifier: Notifier
    limiter: SessionRateLimiter
    pool: db.ConnectionPool

    def now(self) -> float:
        return self.clock()


def dinas() -> Dinas:
    return current_app.extensions["dinas"]


def connection() -> sqlite3.Connection:
    if "db" not in g:
        g.db = dinas().pool.take()
    return g.db


def caller(kind: str) -> Caller:
    return authenticate(connection(), dinas().vault, request.headers.get("Authorization"), kind)
