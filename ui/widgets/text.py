"""Text blocks that wrap to their width and grow to their content, in the three sizes the
screens use; MessageText is the core's one message for the current screen."""

from __future__ import annotations

from kivy.properties import BooleanProperty
from kivy.uix.label import Label


class BodyText(Label):
    pass


class Heading(BodyText):
    pass


class MessageText(BodyText):
    error = BooleanProperty(True)
