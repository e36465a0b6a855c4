"""Which documents may be printed now, and whether the kiosk can serve anyone at all.

Pure functions over the device snapshots and the settings: the session engine calls them
whenever a status or the clock changes, and the UI shows the answers. Each refusal is a
message key so the citizen is told why (`document.unavailable.<reason>`,
`out_of_service.<reason>`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from devices.status import DeviceStatus, absent
from printer_drivers import registry

from .settings import WEEKDAYS
from .session_model import Message


def printer_for(kind: str) -> str | None:
    """Which printer role a document kind needs (the registry's); None for an unknown kind."""
    entry = registry.kind(kind)
    return entry.printer_role if entry else None


def document_refusal(kind: str, statuses: Mapping[str, DeviceStatus], settings,
                     now: datetime) -> Message | None:
    """None when a document of `kind` can be printed now, else why not."""
    role = printer_for(kind)
    if role is None:
        return Message("document.unavailable.unsupported", {"kind": kind})
    refusal = settings.refusal(kind, now)   # maintenance, kind_disabled, closed
    if refusal is not None:
        return Message(f"document.unavailable.{refusal}", {"kind": kind})
    status = statuses.get(role) or absent(role, "not configured")
    if not status.usable:
        fault = status.unusable_reason()
        return Message("document.unavailable.printer",
                       {"kind": kind, "role": role, "fault": fault.code.value if fault else "unknown"})
    return None


def available_kinds(statuses: Mapping[str, DeviceStatus], settings, now: datetime) -> tuple[str, ...]:
    return tuple(kind for kind in registry.kind_codes()
                 if document_refusal(kind, statuses, settings, now) is None)


def out_of_service(statuses: Mapping[str, DeviceStatus], settings, now: datetime,
                   required_roles: tuple[str, ...] = ()) -> Message | None:
    """Why the kiosk cannot serve a citizen at all, or None. Maintenance and opening hours
    come first (they are the dinas's decision), then a required printer that is down, then
    no document kind being printable for any reason."""
    if settings.maintenance_mode:
        return Message("out_of_service.maintenance")
    if not settings.is_open_at(now):
        opening = next_opening(settings, now)
        if opening is None:
            return Message("out_of_service.closed_for_now")
        return Message("out_of_service.closed", {"day": opening[0], "time": opening[1]})
    for role in required_roles:
        status = statuses.get(role) or absent(role, "not configured")
        if not status.usable:
            fault = status.unusable_reason()
            return Message("out_of_service.device",
                           {"role": role, "fault": fault.code.value if fault else "unknown"})
    if not available_kinds(statuses, settings, now):
        if not any(settings.refusal(kind, now) is None for kind in registry.kind_codes()):
            return Message("out_of_service.no_documents")
        return Message("out_of_service.no_printer")
    return None


def next_opening(settings, now: datetime) -> tuple[str, str] | None:
    """When the kiosk opens next, as the citizen is told it: ("today" | "tomorrow" | a weekday
    code, "HH:MM") in the kiosk's time zone, skipping closed dates; None when nothing opens
    within the coming week (no hours set, or a long closure: the citizen is told so)."""
    local = now.astimezone(settings.zone) if now.tzinfo is not None else now
    minute_now = local.hour * 60 + local.minute
    for offset in range(8):
        if (local.date() + timedelta(days=offset)).isoformat() in settings.closed_dates:
            continue
        weekday = (local.weekday() + offset) % 7
        starts = sorted(start for start, _end in settings.opening_hours.days[weekday]
                        if offset or start > minute_now)
        if starts:
            day = "today" if offset == 0 else "tomorrow" if offset == 1 else WEEKDAYS[weekday]
            return day, f"{starts[0] // 60:02d}:{starts[0] % 60:02d}"
    return None
