"""The speech layer for UI tests: the real `ui.audio.Guide`, recording every sentence handed
to it. By default it starts no synthesiser (tests assert on the sentences, no sound card
needed); pass `wav=` to have espeak-ng render each sentence into that file as well."""

from __future__ import annotations

import shutil

from ui.audio import Guide


class HeardGuide(Guide):
    def __init__(self, wav=None, **kwargs):
        if wav is not None and shutil.which("espeak-ng"):
            kwargs.setdefault("extra_args", ["-w", str(wav)])
        else:
            kwargs.setdefault("executable", "espeak-ng-not-started-by-this-test")
        super().__init__(**kwargs)
        self.sentences: list[tuple[str, str]] = []

    def heard(self, text: str, language: str) -> None:
        self.sentences.append((text, language))

    def said(self, language: str | None = None) -> list[str]:
        return [text for text, lang in self.sentences if language in (None, lang)]

    def clear(self) -> None:
        self.sentences.clear()
