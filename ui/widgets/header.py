"""The header on every screen: the kiosk's name, the language choice and the sound switch."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout


class Header(BoxLayout):
    pass


class LanguageToggle(BoxLayout):
    pass
