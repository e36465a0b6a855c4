"""Documents: what is ready for this citizen, each with its preview (blurred unless held),
kind, medium and whether it can be printed now; touching a card selects or unselects it.
"Batal" asks before it drops documents that are on the screen (`CancelQuestion`)."""

from __future__ import annotations

from io import BytesIO

from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from ..i18n import _, kind_text, message_text
from .base import KioskScreen
from .cancel_question import CancelQuestion


class PreviewButton(ButtonBehavior, BoxLayout):
    """The preview: held down it shows sharp; it takes the touch, so the card is not toggled."""


class DocumentCard(ButtonBehavior, BoxLayout):
    document = ObjectProperty(None)
    selected = BooleanProperty(False)
    available = BooleanProperty(True)
    preview = ObjectProperty(None, allownone=True)   # a Kivy texture, or None
    blurred = ObjectProperty(None, allownone=True)   # the same, blurred by the core


class PreviewCache:
    """Textures decoded once per document; PNG decoding is quick, but not every frame."""

    def __init__(self):
        self._textures: dict[tuple[str, int], object] = {}

    def texture(self, document, png: bytes | None) -> object | None:
        if not png:
            return None
        key = (document.id, hash(png))
        if key not in self._textures:
            self._textures[key] = CoreImage(BytesIO(png), ext="png").texture
        return self._textures[key]

    def clear(self) -> None:
        self._textures.clear()


LATER = ("document.unavailable.printer", "document.unavailable.maintenance", "document.unavailable.closed",
         "document.unavailable.kind_disabled")     # refusals that pass: print later, same PIN


def printable_later(document) -> bool:
    return not document.available and document.unavailable is not None and document.unavailable.key in LATER


class DocumentsScreen(KioskScreen):
    any_selected = BooleanProperty(False)
    any_later = BooleanProperty(False)
    holder = StringProperty("")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._previews = PreviewCache()
        self._cards: dict[str, DocumentCard] = {}
        self.question = CancelQuestion()

    def warm_up(self) -> None:
        from PIL import Image
        png = BytesIO()
        Image.new("RGB", (4, 4), "white").save(png, "PNG")
        CoreImage(BytesIO(png.getvalue()), ext="png")
        DocumentCard()

    def on_view(self, _instance, view) -> None:
        if view is None:
            return
        self.holder = view.holder_name_masked
        documents = view.documents
        self.any_selected = any(d.selected and d.available for d in documents)
        self.any_later = any(printable_later(d) for d in documents)
        if [d.id for d in documents] != list(self._cards):
            self._build(documents)
        for document in documents:
            card = self._cards[document.id]
            card.document = document
            card.selected = document.selected and document.available
            card.available = document.available
            card.preview = self._previews.texture(document, document.preview_png)
            card.blurred = self._previews.texture(document, document.preview_blurred_png)

    def _build(self, documents) -> None:
        box = self.ids.cards
        box.clear_widgets()
        self._cards = {}
        for document in documents:
            card = DocumentCard(document=document)
            card.bind(on_release=self._toggle)
            self._cards[document.id] = card
            box.add_widget(card)

    def _toggle(self, card: DocumentCard) -> None:
        if card.available:
            self.commands.toggle_document(card.document.id)

    def on_pre_enter(self, *args) -> None:
        # Back from confirm, the view can equal the one before (no on_view), but on_leave
        # dropped the cards: build them again.
        if self.view is not None and not self._cards:
            self.on_view(self, self.view)

    def ask_cancel(self) -> None:
        """Documents are on the screen: ask before dropping them."""
        if self.view is not None and self.view.documents:
            self.question.ask(self.commands.cancel)
        else:
            self.commands.cancel()

    def on_leave(self, *args) -> None:
        # The citizen's documents leave the screen with them.
        self.question.close()
        self.ids.cards.clear_widgets()
        self._cards = {}
        self._previews.clear()

    def spoken_guide(self, view, language: str) -> str:
        """The screen's sentence, then each document and whether it can be printed (why not)."""
        lines = [super().spoken_guide(view, language)]
        lines += [self.document_line(document, view, language) for document in view.documents]
        if any(printable_later(d) for d in view.documents):
            lines.append(_("documents.later", language))
        return " ".join(lines)

    def spoken_news(self, old, new, language: str) -> str:
        """A document that can no longer be printed while the citizen looks (the printer ran
        out), or can again, is said as its card changes."""
        said = [super().spoken_news(old, new, language)]
        before = {d.id: (d.available, d.unavailable) for d in old.documents}
        said += [self.document_line(d, new, language) for d in new.documents
                 if d.id in before and before[d.id] != (d.available, d.unavailable)]
        return " ".join(p for p in said if p)

    @staticmethod
    def document_line(document, view, language: str) -> str:
        """'<kind>: ready to print' or '<kind>: why not', as its card shows it."""
        state = (_("documents.available", language) if document.available else
                 message_text(document.unavailable, language, view.dinas_contact)
                 or _("documents.unavailable", language))
        return _("step.line", language, kind=kind_text(document.kind, language), step=state).rstrip(".") + "."

    def hardware_key(self, key: str) -> bool:
        if self.question.is_open:
            return True                # the question is answered by touch, not by a stray Enter
        if key == "enter" and self.any_selected:
            self.commands.review()
            return True
        return False
