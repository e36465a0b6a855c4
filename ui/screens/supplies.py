"""Supplies, for the technician who got in by PIN (issue 12): one button per supply the
configured printers take (the diagnostics report's `supplies`, from the registry: nothing
here lists supplies or roles), each supply's record, and the last action's result. A supply
the kiosk counts (blank cards, receipt paper) asks on the keypad how many are in it now; one
the printer senses (the ribbon, A4 paper) is recorded as replaced at the touch. The actions
run in ui/supplies_flow.py, off the UI thread."""

from __future__ import annotations

from typing import Any, Mapping

from kivy.app import App
from kivy.properties import BooleanProperty, DictProperty, StringProperty
from kivy.uix.screenmanager import Screen

from ..i18n import _
from ..widgets.buttons import fill_buttons


def supply_name(supply: str, language: str) -> str:
    return _("supply." + supply, language)


def when(iso: str) -> str:
    """'2026-12-02T00:17:05Z' as the technician reads it: '2026-12-02 00:17 UTC'."""
    return iso.replace("T", " ")[:16] + " UTC"


def supply_lines(supplies: Mapping[str, Mapping[str, Any]], language: str) -> list[str]:
    """Each supply's record in the technician's words (this screen and the maintenance one)."""
    lines = []
    for supply, stock in supplies.items():
        name = supply_name(supply, language)
        if stock["counted"]:
            lines.append(_("staff.supplies.never_counted", language, supply=name) if stock["remaining"] is None else
                         _("staff.supplies.count", language, supply=name, remaining=stock["remaining"],
                           loaded=stock["loaded"], low_at=stock["low_at"]))
        if stock["since"]:
            lines.append(_("staff.supplies.refilled", language, supply=name, at=when(stock["since"]),
                           by=stock["by"] or "-"))
        elif not stock["counted"]:
            lines.append(_("staff.supplies.never_refilled", language, supply=name))
    return lines


class SuppliesScreen(Screen):
    supplies = DictProperty({})              # Diagnostics.supplies(): {supply: {role, counted, since, by, …}}
    result = StringProperty("")              # the last action's outcome, in the technician's words
    result_is_error = BooleanProperty(False)
    loading = BooleanProperty(False)

    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=lambda *_args: self._build_buttons())

    def flow(self):
        return App.get_running_app().staff.supplies

    def text(self, supplies, language: str) -> str:
        return "\n".join(supply_lines(supplies, language))

    def on_supplies(self, *_args) -> None:
        self._build_buttons()

    def on_loading(self, *_args) -> None:
        for button in self.ids.buttons.children:
            button.disabled = self.loading

    def _build_buttons(self) -> None:
        language = App.get_running_app().lang
        fill_buttons(self.ids.buttons, [
            (_("staff.supplies.load" if stock["counted"] else "staff.supplies.replace", language,
               supply=supply_name(supply, language)),
             (lambda s=supply: self.flow().ask_count(s)) if stock["counted"] else (lambda s=supply: self.flow().refill(s)))
            for supply, stock in self.supplies.items()], disabled=self.loading)

    def hardware_key(self, key: str) -> bool:
        return False
