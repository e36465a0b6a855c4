"""What the journal hands out (Event, JobRecord) and how it writes values: a moment as the
dinas reads it (`utc_iso`) and the JSON text of its detail columns (`dump_json`, `load_json`).

Its own module because both halves of the journal use them: kiosk.journal (jobs, outbox,
counters) and kiosk.journal_ledger (the staff's audit trail and the supplies' stock), which
kiosk.journal builds on. Callers import them from kiosk.journal, as before.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping


def utc_iso(timestamp: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """One event for the dinas (`POST /kiosk/jobs/{job_id}/events`)."""

    job_id: str
    state: str                      # printing, printed, failed
    at: str
    reason: str | None = None
    detail: Mapping[str, Any] | None = None
    event_id: str = ""
    seq: int = 0
    attempts: int = 0

    @staticmethod
    def new(job_id: str, state: str, reason: str | None = None,
            detail: Mapping[str, Any] | None = None) -> Event:
        return Event(job_id=job_id, state=state, at=utc_iso(), reason=reason,
                     detail=dict(detail) if detail else None, event_id=str(uuid.uuid4()))


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    document_id: str
    kind: str
    role: str
    state: str
    reason: str | None
    review: bool
    counters_before: Mapping[str, int] | None
    counters_after: Mapping[str, int] | None
    device_job: Mapping[str, Any] | None = None    # the print server's id for it, once it took it


def dump_json(value: Mapping[str, Any] | None) -> str | None:
    """A detail column's text; keys sorted, so the same detail is always the same text."""
    return None if value is None else json.dumps(dict(value), sort_keys=True)


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
