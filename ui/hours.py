"""Opening hours in the citizen's language.

The core sends them as text in its settings' shape, "mon 08:00-15:00; tue ...; sun closed"
(English day codes, `kiosk.config.WEEKDAYS`). Here the days are translated and runs of days
with the same hours are joined ("Senin–Jumat 08:00–15:00"). Text in any other shape is
shown as it came, so nothing is ever hidden from the citizen.
"""

from __future__ import annotations

import re

from .i18n import _

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+(.+)$")
ALWAYS = "00:00-24:00"


def hours_text(raw: str, language: str) -> str:
    parts = [p.strip() for p in raw.split(";") if p.strip()]
    table = {}
    for part in parts:
        match = _PART.match(part)
        if match is None:
            return raw
        table[match.group(1)] = match.group(2).strip()
    if not table:
        return raw
    runs: list[tuple[list[str], str]] = []
    for day in DAYS:
        if day not in table:
            continue
        if runs and runs[-1][1] == table[day] and DAYS.index(runs[-1][0][-1]) == DAYS.index(day) - 1:
            runs[-1][0].append(day)
        else:
            runs.append(([day], table[day]))
    if len(runs) == 1 and len(runs[0][0]) == 7:
        return _("hours.every_day", language, hours=_hours(runs[0][1], language))
    lines = []
    for days, hours in runs:
        name = _(f"day.{days[0]}", language)
        if len(days) > 1:
            name = _("hours.day_range", language, first=name, last=_(f"day.{days[-1]}", language))
        lines.append(_("hours.line", language, days=name, hours=_hours(hours, language)))
    return "\n".join(lines)


def _hours(text: str, language: str) -> str:
    if text == "closed":
        return _("hours.closed", language)
    if text == ALWAYS:
        return _("hours.all_day", language)
    return text.replace("-", "–")
