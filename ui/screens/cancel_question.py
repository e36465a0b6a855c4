"""The question "Batal" (and the printing screen's "stop after this document") asks before it
ends a session that has documents on the screen: a touch by mistake must not throw away what
the citizen came for. Spoken when it opens."""

from __future__ import annotations

from typing import Callable

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.modalview import ModalView

from ..i18n import _


class CancelQuestion(ModalView):
    # What stopping means here: on the documents screen nothing is printed; on the printing
    # screen the document on its way is still finished.
    body_key = StringProperty("cancel.body")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._on_yes: Callable[[], None] | None = None

    @property
    def is_open(self) -> bool:
        return bool(self._window)

    def ask(self, on_yes: Callable[[], None]) -> None:
        self._on_yes = on_yes
        if not self._window:
            self.open(animation=False)
        app = App.get_running_app()
        app.say(_("cancel.title", app.lang) + " " + _(self.body_key, app.lang))

    def answer(self, stop: bool) -> None:
        on_yes, self._on_yes = self._on_yes, None
        self.close()
        if stop and on_yes is not None:
            on_yes()

    def close(self) -> None:
        if self._window:
            self.dismiss(animation=False)
