"""The supplies screen's actions (issue 12), for ui/staff_mode.py: show the supplies, ask a
counted one's number on the technician's keypad (the staff PIN screen, purpose "count"),
record a refill under the PIN slot that got in, show the result, go back. Every call to the
desk runs on the mode's worker thread; the answer comes back on the UI thread."""

from __future__ import annotations

from .i18n import _
from .screens.supplies import supply_name

COUNT_MAX = 10_000           # cards or receipts in one refill (the CLI's limit too)


class SuppliesFlow:
    def __init__(self, mode) -> None:
        self.mode = mode

    @property
    def screen(self):
        return self.mode.app.staff_screens["supplies"]

    def show(self, result: str = "", is_error: bool = False) -> None:
        self.screen.result, self.screen.result_is_error = result, is_error
        self.mode._show("supplies")
        self.refresh()

    def refresh(self) -> None:
        self.screen.loading = True
        self.mode._run(self.mode.desk.supplies, self._read)

    def _read(self, supplies) -> None:
        self.screen.loading = False
        if isinstance(supplies, Exception):
            self.screen.result, self.screen.result_is_error = _("staff.failed", self.mode.app.lang), True
            return
        self.screen.supplies = supplies

    def ask_count(self, supply: str) -> None:
        pad = self.mode.app.staff_screens["staff_pin"]
        pad.purpose, pad.supply, pad.digits, pad.keypad_open, pad.message = "count", supply, "", True, ""
        self.mode._show("staff_pin")

    def record(self, supply: str, loaded: int) -> None:
        if loaded > COUNT_MAX:
            pad = self.mode.app.staff_screens["staff_pin"]
            pad.message, pad.message_is_error = _("staff.count.too_many", self.mode.app.lang, max=COUNT_MAX), True
            return
        self._replenish(supply, loaded)

    def refill(self, supply: str) -> None:
        self._replenish(supply, None)

    def _replenish(self, supply: str, loaded: int | None) -> None:
        slot = self.mode.slot
        self.mode._show("supplies")
        self.screen.result, self.screen.loading = "", True
        self.mode._run(lambda: self.mode.desk.replenish(slot, supply, loaded),
                       lambda stock: self._recorded(supply, loaded, stock))

    def _recorded(self, supply: str, loaded: int | None, stock) -> None:
        lang = self.mode.app.lang
        self.screen.loading = False
        if isinstance(stock, Exception):
            self.screen.result, self.screen.result_is_error = _("staff.failed", lang), True
        else:
            name = supply_name(supply, lang)
            self.screen.result = _("staff.supplies.recorded_count", lang, supply=name, loaded=loaded) \
                if loaded is not None else _("staff.supplies.recorded_refill", lang, supply=name)
            self.screen.result_is_error = False
        self.refresh()

    def back(self) -> None:
        """To the maintenance screen, its figures read again (the counts changed)."""
        self.mode.show_maintenance()
        self.mode.refresh()
