"""Printing: one line per printer at work (the printers print at the same time: a KK on the
paper printer while the KIAs go to the card printer), then each step of each document as it
happens (fetching, printing the front, the back, cutting the receipt ...). No action: the
citizen waits and is told so."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from ..i18n import _, contact_text, failure_reason, failure_text, kind_text
from .base import KioskScreen
from .cancel_question import CancelQuestion
from .done import next_step_key

STEP_STATES = ("pending", "active", "done", "failed")


class StepRow(BoxLayout):
    state_name = StringProperty("pending")
    text = StringProperty("")
    mark = StringProperty("")


class PrinterLine(BoxLayout):
    text = StringProperty("")


class PrintingScreen(KioskScreen):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.question = CancelQuestion(body_key="cancel.body_printing")

    def ask_stop(self) -> None:
        self.question.ask(self.commands.cancel)

    def on_leave(self, *args) -> None:
        self.question.close()

    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=lambda *_args: self._render())
        # Row heights follow their wrapped text, known a frame after the text changes.
        self._fit_trigger = Clock.create_trigger(self.fit_rows, 0)
        self.ids.steps.bind(height=self._fit_trigger)
        self.ids.slot.bind(height=self._fit_trigger)

    def warm_up(self) -> None:
        StepRow()
        PrinterLine()

    def step_rows(self, view, language: str) -> list[dict]:
        if view is None:
            return []
        rows = []
        for step in view.steps:
            state = step.state if step.state in STEP_STATES else "pending"
            text = _(f"step.{step.step}", language)
            if step.kind:
                text = _("step.line", language, kind=kind_text(step.kind, language), step=text)
            if step.message is not None:
                text += " — " + failure_text(step.message, language)
            rows.append({
                "state_name": state,
                "text": text,
                "mark": _(f"step.state.{state}", language),
            })
        return rows

    def printer_lines(self, view, language: str) -> list[str]:
        """One line per printer: how many of its documents are done, and what it does now."""
        if view is None:
            return []
        lines = []
        for line in view.printers:
            text = _("printing.printer_line", language, printer=_(f"role.{line.role}", language),
                     ended=line.ended, total=line.total)
            if line.current is not None:
                text += " — " + _("step.line", language, kind=kind_text(line.current.kind, language),
                                  step=_(f"step.{line.current.step}", language))
            lines.append(text)
        return lines

    def on_view(self, _instance, view) -> None:
        self._render()

    def spoken_news(self, old, new, language: str) -> str:
        """A document that fails while others go on is said at once, with its reason."""
        said = [super().spoken_news(old, new, language)]
        failed_before = {s.document_id for s in old.steps if s.state == "failed"}
        for step in new.steps:
            if step.state == "failed" and step.document_id not in failed_before and step.message:
                failed_before.add(step.document_id)
                said.append(_(next_step_key(step.message.key), language, kind=kind_text(step.kind, language),
                              reason=failure_reason(step.message, language),
                              contact=contact_text(new.dinas_contact, language)))
        return " ".join(p for p in said if p)

    def _render(self) -> None:
        lines = self.printer_lines(self.view, App.get_running_app().lang)
        printers = self.ids.printers
        if len(printers.children) != len(lines):
            printers.clear_widgets()
            for _line in lines:
                printers.add_widget(PrinterLine())
        for widget, text in zip(reversed(printers.children), lines):
            widget.text = text
        box = self.ids.steps
        rows = self.step_rows(self.view, App.get_running_app().lang)
        if len(box.children) != len(rows):
            box.clear_widgets()
            for _row in rows:
                box.add_widget(StepRow())
        for widget, row in zip(reversed(box.children), rows):
            widget.state_name, widget.text, widget.mark = row["state_name"], row["text"], row["mark"]
        self._fit_trigger()

    def fit_rows(self, *_args) -> None:
        """Give the list the height of whole rows around the step happening now and scroll
        them into view: no row is ever cut at the list's edges, and the current step shows."""
        box, scroller, slot = self.ids.steps, self.ids.scroller, self.ids.slot
        rows = list(reversed(box.children))
        if not rows:
            scroller.height = 0
            return
        heights = [row.height for row in rows]
        spacing = box.spacing
        first, last = whole_rows_window(heights, spacing, slot.height, focus_index(rows))
        shown = sum(heights[first:last + 1]) + spacing * (last - first)
        total = sum(heights) + spacing * (len(rows) - 1)
        scroller.height = min(shown, slot.height)
        hidden_above = sum(heights[:first]) + spacing * first
        scroller.scroll_y = 1 - hidden_above / (total - shown) if total > shown else 1


def focus_index(rows) -> int:
    """The row to keep in sight: the step happening now, else the latest that ended."""
    states = [row.state_name for row in rows]
    if "active" in states:
        return states.index("active")
    ended = [i for i, state in enumerate(states) if state != "pending"]
    return ended[-1] if ended else 0


def whole_rows_window(heights: list[float], spacing: float, room: float, focus: int) -> tuple[int, int]:
    """The first and last index of consecutive rows that fit in `room` whole: the focused
    row, the one after it (what comes next), then as many before it, then after it."""
    first = last = focus
    used = heights[focus]

    def fits(index: int) -> bool:
        return used + spacing + heights[index] <= room + 0.5

    if last + 1 < len(heights) and fits(last + 1):
        last += 1
        used += spacing + heights[last]
    while first > 0 and fits(first - 1):
        first -= 1
        used += spacing + heights[first]
    while last + 1 < len(heights) and fits(last + 1):
        last += 1
        used += spacing + heights[last]
    return first, last
