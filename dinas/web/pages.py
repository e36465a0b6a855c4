"""The fleet page itself: every kiosk at a glance, one kiosk in detail, its 30-day chart."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request, url_for

from .. import fleet
from ..clock import parse_iso
from ..context import connection, dinas
from . import chart
from .guard import login_required, page, web, words
from .view import device_states, devices, kiosk_view, supplies_needing_action

PAGE_SIZE = 100
HISTORY_ROWS = (30, 300)    # the last half hour at one beat a minute, or five hours; two days are kept


def _today() -> str:
    return words().local_date(dinas().now()).date().isoformat()


def _page_number() -> int:
    text = request.args.get("page", "1")
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100_000:
        abort(400)
    return int(text)


@web.get("/")
@login_required
def fleet_page() -> Response:
    show = request.args.get("show", "all")
    group = request.args.get("group") or None
    if show not in fleet.PAGE_FILTERS or (group is not None and len(group) > 64):
        abort(400)
    number = _page_number()
    now, w = dinas().now(), words()
    # What the page filters and orders on is kept on each kiosk's row (dinas.fleet): a count
    # per group, then the page's own 100 kiosks, whatever the fleet's size.
    per_group = fleet.group_counts(connection(), now)
    groups = sorted(g for g in per_group if g)
    summary = {key: sum(counts[key] for g, counts in per_group.items() if group is None or g == group)
               for key in fleet.PAGE_FILTERS}
    pages = max(1, -(-summary[show] // PAGE_SIZE))
    number = min(number, pages)
    statuses = fleet.fleet_page(connection(), now, show, group, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    counts = fleet.counts_on(connection(), _today(), [status["kiosk_id"] for status in statuses])
    shown = [kiosk_view(w, status, now, counts.get(status["kiosk_id"], (0, 0))) for status in statuses]

    def link(**changes: Any) -> str:
        wanted = {"show": show, "group": group, "page": 1, **changes}
        args = {"show": wanted["show"] if wanted["show"] != "all" else None, "group": wanted["group"],
                "page": wanted["page"] if wanted["page"] > 1 else None}
        return url_for("fleet_web.fleet_page", **{k: v for k, v in args.items() if v is not None})

    return page("fleet.html", kiosks=shown, registered=sum(c["all"] for c in per_group.values()), show=show,
                group=group,
                groups=groups, summary=summary, link=link, page_number=number, pages=pages,
                unknown_group=group is not None and group not in groups, updated=w.moment(now))


def _history(kiosk_id: str, rows: int) -> list[dict[str, Any]]:
    w, now = words(), dinas().now()
    found = []
    for entry in fleet.history(connection(), kiosk_id, rows):
        beat, at = entry["beat"], parse_iso(entry["received_at"])
        reported = beat.get("devices") or {}
        shown = devices(w, reported)
        found.append({"at": w.moment(at), "ago": w.ago(now - at), "software": beat.get("software_version"),
                      "config": beat.get("config_version"), "outbox": beat.get("outbox_depth"),
                      "states": device_states(w, shown),
                      "problems": (*supplies_needing_action(w, reported), *(c for d in shown for c in d.faults))})
    return found


def _history_rows() -> int:
    text = request.args.get("beats", str(HISTORY_ROWS[0]))
    if not text.isascii() or not text.isdigit() or int(text) not in HISTORY_ROWS:
        abort(400)
    return int(text)


def _moment(text: Any) -> str:
    """A time the kiosk sent, in the dinas's words; as sent when it is not a time."""
    try:
        return words().moment(parse_iso(text))
    except (TypeError, ValueError, AttributeError, OverflowError, OSError):
        return str(text or "")


@web.get("/kiosks/<kiosk_id>")
@login_required
def kiosk_page(kiosk_id: str) -> Response:
    now, w = dinas().now(), words()
    beats = _history_rows()
    status = fleet.one(connection(), now, kiosk_id)
    if status is None:
        abort(404)
    days = chart.days_ending(w.local_date(now).date())
    counts = fleet.daily_counts(connection(), kiosk_id, days[0].isoformat())
    view = kiosk_view(w, status, now, counts.get(days[-1].isoformat(), (0, 0)))
    per_day = [{"day": w.day(d), "printed": counts.get(d.isoformat(), (0, 0))[0],
                "failed": counts.get(d.isoformat(), (0, 0))[1]} for d in reversed(days)]
    last_faults = [{"at": _moment(f.get("at")), "device": w.open_word("role", str(f.get("device"))),
                    "fault": w.open_word("fault", str(f.get("code"))),
                    "tone": "bad" if f.get("severity") == "alarm" else "warn"}
                   for f in reversed(status["last_faults"]) if isinstance(f, dict)]
    return page("kiosk.html", kiosk=view, status=status, history=_history(kiosk_id, beats), per_day=per_day,
                totals=(sum(d["printed"] for d in per_day), sum(d["failed"] for d in per_day)),
                last_faults=last_faults, beats=beats, more_beats=HISTORY_ROWS[-1] if beats < HISTORY_ROWS[-1] else None,
                uptime=w.duration(status["uptime_s"]) if status.get("uptime_s") is not None else None,
                card_stock=stock_text(view.card_stock), receipt_stock=stock_text(view.receipt_stock))


def stock_text(stock: dict[str, Any]) -> str | None:
    """A kiosk's own count of a supply left (blank cards, receipts), once a technician has
    recorded a refill; None before (or when the beat's figures are not numbers)."""
    remaining, loaded = stock.get("remaining"), stock.get("loaded")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (remaining, loaded)):
        return None
    return words()("kiosk.stock_value", remaining=remaining, loaded=loaded)


@web.get("/kiosks/<kiosk_id>/chart.svg")
@login_required
def kiosk_chart(kiosk_id: str) -> Response:
    if fleet.one(connection(), dinas().now(), kiosk_id) is None:
        abort(404)
    shape = chart.SHAPES.get(request.args.get("size", "wide"))
    if shape is None:
        abort(400)
    w = words()
    days = chart.days_ending(w.local_date(dinas().now()).date())
    svg = chart.prints_per_day(days, fleet.daily_counts(connection(), kiosk_id, days[0].isoformat()),
                               printed_label=w("chart.printed"), failed_label=w("chart.failed"),
                               day_label=w("chart.day_label"), shape=shape)
    return Response(svg, mimetype="image/svg+xml")
