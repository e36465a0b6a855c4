"""Rate limits kept in the database, so they hold across workers and machines.

A token bucket per key (e.g. "sessions:ADM-01"): `limit` tokens, refilled at `limit` per
`window` seconds; each call takes one. One atomic upsert refills, takes and says whether the
call was admitted, so two workers cannot both take the last token. A refused call takes
nothing: a kiosk that waits `retry_after` is admitted.
"""

from __future__ import annotations

import math
from typing import Any

from .clock import Clock
from .db import Connection
from .errors import ApiError

_REFILL = "(rate_limits.tokens + (:now - rate_limits.updated_at) * :rate)"
_CAPPED = f"(CASE WHEN {_REFILL} > :cap THEN :cap ELSE {_REFILL} END)"
_TAKE = ("INSERT INTO rate_limits (bucket, tokens, updated_at, admitted) {rows} "
         "ON CONFLICT (bucket) DO UPDATE SET "
         f"tokens = CASE WHEN {_CAPPED} >= 1 THEN {_CAPPED} - 1 ELSE {_CAPPED} END, "
         f"admitted = CASE WHEN {_CAPPED} >= 1 THEN 1 ELSE 0 END, "
         "updated_at = :now "
         "RETURNING tokens, admitted")


class RateLimiter:
    """At most `limit` calls in a burst and `limit` per `window` seconds after it, per key;
    429 `rate_limited` with `retry_after` past it."""

    def __init__(self, clock: Clock, limit: int, window: float = 60.0, detail: str = "too many calls; wait a moment"):
        self._clock = clock
        self.limit = limit
        self.window = window
        self._detail = detail

    def admit(self, connection: Connection, bucket: str) -> None:
        """Takes a token or raises 429: one statement, committed at once outside a transaction
        (a refused PIN try must count however the call ends) or with the caller's."""
        sql, params = self.take(bucket)
        self.check(connection.one(sql, **params))

    def take(self, bucket: str, now: float | None = None, only_if: str | None = None) -> tuple[str, dict]:
        """The statement that takes a token, for a caller that runs it in a batch with others;
        its row goes to `check`. With `only_if` (an SQL condition), it takes one, and returns a
        row, only when that holds (a caller's token check, in one statement with the rest)."""
        values = ":bucket, :cap - 1, :now, 1"
        rows = f"VALUES ({values})" if only_if is None else f"SELECT {values} WHERE {only_if}"
        return _TAKE.format(rows=rows), {"bucket": bucket, "now": float(self._clock() if now is None else now),
                                         "rate": self.limit / self.window, "cap": float(self.limit)}

    def check(self, row: Any) -> None:
        """Raises 429 unless `take`'s row says the call was admitted."""
        if not row["admitted"]:
            rate = self.limit / self.window
            raise ApiError(429, "rate_limited", self._detail,
                           retry_after=max(1, math.ceil((1.0 - row["tokens"]) / rate)))
