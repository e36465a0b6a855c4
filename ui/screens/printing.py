"""Printing: each step of each document as it happens (fetching, printing the front, the
back, cutting the receipt ...). No action: the citizen waits and is told so."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from ..i18n import _, failure_text
from .base import KioskScreen

STEP_STATES = ("pending", "active", "done", "failed")


class StepRow(BoxLayout):
    state_name = StringProperty("pending")
    text = StringProperty("")
    mark = StringProperty("")


class PrintingScreen(KioskScreen):
    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=lambda *_args: self._render())

    def warm_up(self) -> None:
        StepRow()

    def step_rows(self, view, language: str) -> list[dict]:
        if view is None:
            return []
        rows = []
        for step in view.steps:
            state = step.state if step.state in STEP_STATES else "pending"
            text = _(f"step.{step.step}", language)
            if step.kind:
                text = _("step.line", language, kind=_(f"kind.{step.kind}", language), step=text)
            if step.message is not None:
                text += " — " + failure_text(step.message, language)
            rows.append({
                "state_name": state,
                "text": text,
                "mark": _(f"step.state.{state}", language),
            })
        return rows

    def on_view(self, _instance, view) -> None:
        self._render()

    def _render(self) -> None:
        box = self.ids.steps
        rows = self.step_rows(self.view, App.get_running_app().lang)
        if len(box.children) != len(rows):
            box.clear_widgets()
            for _row in rows:
                box.add_widget(StepRow())
        for widget, row in zip(reversed(box.children), rows):
            widget.state_name, widget.text, widget.mark = row["state_name"], row["text"], row["mark"]
        Clock.schedule_once(self._keep_active_in_sight, 0)

    def _keep_active_in_sight(self, _dt) -> None:
        """The step happening now stays in sight when the list is longer than the screen."""
        box, scroller = self.ids.steps, self.ids.scroller
        active = [w for w in box.children if w.state_name == "active"]
        if active and box.height > scroller.height:
            scroller.scroll_to(active[0], animate=False)
