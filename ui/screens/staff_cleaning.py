"""Cleaning the card printer (issue 12), reached from the maintenance screen when the
printer's driver runs a cleaning cycle (registry CLEANING, base.Cleaning): what to do first
(the ribbon out, the blank cards out, the cleaning card in), how many cards the printer took
since its last cleaning, the button that starts it and its result. ui/staff_mode.py runs the
cleaning off the UI thread (kiosk.staff_desk.StaffDesk.clean_printer: refused while a print
is running, audited, and the kiosk's cleaning counter starts again at 0).

The steps are shown before the button, not after a refusal: the guide's cleaning cycle
refuses to start with a ribbon fitted, and runs whatever card is on top of the feeder."""

from __future__ import annotations

from typing import Any, Mapping

from kivy.app import App
from kivy.properties import BooleanProperty, DictProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.diagnostics import CLEANED, advice

from ..i18n import _

# Refusals whose general advice (kiosk.diagnostics.WHAT_TO_DO: "load blank cards", "refit the
# ribbon") is wrong for a cleaning: the cleaning's own words instead.
CLEANING_REFUSALS = {"ribbon_error": "staff.clean.ribbon", "feeder_empty": "staff.clean.no_card",
                     "printing": "staff.clean.refused_printing"}


def cleaning_text(figures: Mapping[str, Any] | None, language: str) -> str:
    """The cleaning counter in words: cards since the last cleaning (or none recorded yet),
    the printer's own count of cleanings, and whether it asks for one now."""
    if not figures:
        return ""
    if figures["last_at"] is None:
        parts = [_("staff.clean.never", language)]
    elif figures["cards_since"] is None:
        parts = [_("staff.clean.since_unknown", language, at=figures["last_at"])]
    else:
        parts = [_("staff.clean.since", language, cards=figures["cards_since"], at=figures["last_at"],
                   by=figures["last_by"])]
    if figures["cleanings_done"] is not None:
        parts.append(_("staff.clean.printer_count", language, count=figures["cleanings_done"]))
    if figures["due"]:
        parts.append(_("staff.clean.due", language))
    return " ".join(parts)


def outcome_text(outcome: str, language: str) -> str:
    """StaffDesk.clean_printer's outcome in the technician's words."""
    if outcome == CLEANED:
        return _("staff.clean.done", language)
    kind, _sep, why = outcome.partition(": ")
    if why in CLEANING_REFUSALS:
        return _(CLEANING_REFUSALS[why], language)
    told = advice(why)
    return _("staff.clean.failed", language, why=why or kind, what=told[language] if told else "").strip()


class StaffCleaningScreen(Screen):
    role = StringProperty("card_printer")
    figures = DictProperty({})              # the role's "cleaning" figures (kiosk.diagnostics)
    running = BooleanProperty(False)
    result = StringProperty("")             # already in the technician's words
    result_is_error = BooleanProperty(False)

    def mode(self):
        return App.get_running_app().staff

    def counter_text(self, figures, language: str) -> str:
        return cleaning_text(figures, language)

    def hardware_key(self, key: str) -> bool:
        return False
