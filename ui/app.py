"""The kiosk's Kivy app: a thin view over `kiosk.session_model`.

The engine publishes `SessionView`s on its own threads; `_view_from_engine` only stores the
newest one and schedules `apply_view` on the UI thread, so views are coalesced and the UI
thread never waits on the engine. Every command the screens send returns at once.
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.session_model import Screen, SessionCommands, SessionView

from . import kiosk_mode
from .audio import Guide
from .i18n import DEFAULT_LANGUAGE, _
from .keyboard import KeyRouter
from .screens.attract import AttractScreen
from .screens.base import new_message
from .screens.confirm import ConfirmScreen
from .screens.documents import DocumentsScreen
from .screens.done import DoneScreen
from .screens.error import ErrorScreen
from .screens.identify import IdentifyScreen
from .screens.idle_timeout import IdleOverlay
from .screens.out_of_service import OutOfServiceScreen
from .screens.pin import PinScreen
from .screens.printing import PrintingScreen
from .screens.maintenance import MaintenanceScreen
from .screens.staff_cleaning import StaffCleaningScreen
from .screens.staff_pin import StaffPinScreen
from .screens.supplies import SuppliesScreen
from .staff_mode import StaffMode
from .watchdog import SystemdNotifier
# Imported for their classes: Kivy's Factory knows a widget class once its module is loaded.
from .widgets import buttons, digits_display, filler, header, help_qr, keypad, text  # noqa: F401

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).resolve().parent
# Base rules before the rules that use them.
KV_FILES = (
    "widgets/text.kv", "widgets/buttons.kv", "widgets/keypad.kv", "widgets/digits_display.kv",
    "widgets/help_qr.kv", "widgets/header.kv",
    "screens/entry.kv", "screens/notice.kv",
    "screens/attract.kv", "screens/identify.kv", "screens/pin.kv", "screens/documents.kv",
    "screens/confirm.kv", "screens/printing.kv", "screens/done.kv", "screens/error.kv",
    "screens/out_of_service.kv", "screens/idle_timeout.kv", "screens/cancel_question.kv",
    "screens/staff_pin.kv", "screens/maintenance.kv", "screens/staff_cleaning.kv", "screens/supplies.kv",
    "app.kv",
)
SCREEN_CLASSES = {
    Screen.ATTRACT: AttractScreen, Screen.IDENTIFY: IdentifyScreen, Screen.PIN: PinScreen,
    Screen.DOCUMENTS: DocumentsScreen, Screen.CONFIRM: ConfirmScreen,
    Screen.PRINTING: PrintingScreen, Screen.DONE: DoneScreen, Screen.ERROR: ErrorScreen,
    Screen.OUT_OF_SERVICE: OutOfServiceScreen,
}


# The header's sound chip goes round these, one step per touch ("off" silences the voice).
SOUND_LEVELS = ("low", "medium", "high", "off")


class KioskRoot(BoxLayout):
    pass


def load_kv() -> None:
    for name in KV_FILES:
        path = str(UI_DIR / name)
        if path not in Builder.files:
            Builder.load_file(path)


class KioskApp(App):
    lang = StringProperty(DEFAULT_LANGUAGE)
    portrait = BooleanProperty(True)
    sound_level = OptionProperty("medium", options=SOUND_LEVELS)
    view = ObjectProperty(None, allownone=True)

    def __init__(self, commands: SessionCommands, *, guide: Guide | None = None,
                 notifier: SystemdNotifier | None = None, hide_cursor: bool = True, staff_desk=None, **kwargs):
        super().__init__(**kwargs)
        self.commands = commands
        self.guide = guide if guide is not None else Guide()
        self.sound_level = self.guide.volume if self.guide.enabled else "off"
        self._guide_allowed = self.guide.enabled
        self.notifier = notifier if notifier is not None else SystemdNotifier.from_environment()
        self.keys = KeyRouter(self)
        self.hide_cursor = hide_cursor
        self._pending: SessionView | None = None
        self._pending_lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._guidance_default: bool | None = None
        self._ready_sent = False
        self.idle_overlay: IdleOverlay | None = None
        self.screens: dict[str, object] = {}
        self.staff_screens: dict[str, object] = {}
        # The technician's way in (kiosk.staff_desk.StaffDesk over the runtime); none: no way in.
        self.staff = StaffMode(self, staff_desk)

    # -- building -------------------------------------------------------------------------
    def build(self):
        self.title = _("app.name", self.lang)
        load_kv()
        root = KioskRoot()
        manager: ScreenManager = root.ids.screens
        manager.transition = NoTransition()
        for screen_name, screen_class in SCREEN_CLASSES.items():
            screen = screen_class()
            screen.warm_up()
            self.screens[screen_name.value] = screen
            manager.add_widget(screen)
        for screen in (StaffPinScreen(), MaintenanceScreen(), StaffCleaningScreen(), SuppliesScreen()):
            self.staff_screens[screen.name] = screen      # not the engine's: no view, no voice
            manager.add_widget(screen)
        manager.current = Screen.ATTRACT.value
        self.idle_overlay = IdleOverlay()
        Window.bind(size=self._window_resized)
        self._window_resized(Window, Window.size)
        Window.bind(on_key_down=self.keys.on_key_down, on_touch_down=self._any_touch,
                    on_touch_up=self._touch_up)
        kiosk_mode.lock_window(Window, hide_cursor=self.hide_cursor)
        return root

    def on_start(self):
        # Everything built so far lives as long as the kiosk: move it out of the garbage
        # collector's sight, so that a full collection (which stops every thread, the UI's
        # too) scans only what a session makes; measured, it drops from 50-170 ms to a few.
        gc.collect()
        gc.freeze()
        self._unsubscribe = self.commands.subscribe(self._view_from_engine)

    def _ready(self, _dt) -> None:
        """The attract screen is on the glass: tell systemd, then keep telling it we live."""
        self.notifier.notify("READY=1")
        self.notifier.start_pinging(Clock)

    def on_stop(self):
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._pending_lock:
            self._pending = None
        self.notifier.stop_pinging()
        self.guide.close()
        Window.unbind(on_key_down=self.keys.on_key_down, on_touch_down=self._any_touch,
                      on_touch_up=self._touch_up)
        self.staff.close()
        Window.unbind(size=self._window_resized)
        kiosk_mode.unlock_window(Window)

    def open_settings(self, *args) -> bool:
        """Kivy opens its settings panel on F1; a citizen's keyboard must not reach it."""
        return False

    # -- views from the engine ------------------------------------------------------------
    def _view_from_engine(self, view: SessionView) -> None:
        """Runs on an engine thread: hand over, never touch a widget here."""
        with self._pending_lock:
            first = self._pending is None
            self._pending = view
        if first:
            Clock.schedule_once(self._apply_pending, 0)

    def _apply_pending(self, _dt) -> None:
        with self._pending_lock:
            view, self._pending = self._pending, None
        if view is not None and self._unsubscribe is not None:
            # Not after on_stop: a view scheduled just before the stop must not touch widgets
            # (nor resolve kv's `app` to a stopped app).
            self.apply_view(view)

    def apply_view(self, view: SessionView) -> None:
        if self.staff.active:
            # The technician's screens stay; the newest view is shown when they leave.
            self.view = view
            self.lang = view.language if view.language in ("id", "en") else DEFAULT_LANGUAGE
            return
        previous, self.view = self.view, view
        self.lang = view.language if view.language in ("id", "en") else DEFAULT_LANGUAGE
        screen = self.screens[view.screen.value]
        screen.view = view
        if view.screen in (Screen.ATTRACT, Screen.OUT_OF_SERVICE):
            for each in self.screens.values():
                each.forget()
        manager: ScreenManager = self.root.ids.screens
        if manager.current != view.screen.value:
            manager.current = view.screen.value
        if view.idle_warning:
            self.idle_overlay.show(view.idle_deadline)
        else:
            self.idle_overlay.hide()
        if view.screen is Screen.ATTRACT and (previous is None or previous.screen is not Screen.ATTRACT
                                              or view.spoken_guidance != self._guidance_default):
            # settings.spoken_guidance (pushable): each new citizen starts with this default, at
            # the middle volume; a guide made disabled (muted install, tests) stays silent.
            self._guidance_default = view.spoken_guidance
            self.guide.enabled = view.spoken_guidance and self._guide_allowed
            self.guide.volume = "medium"
            self.sound_level = "medium" if self.guide.enabled else "off"
        self._speak_news(previous, view, screen)
        if not self._ready_sent and view.screen is Screen.ATTRACT:
            # READY=1 once the attract screen is really on the glass: the next frame.
            self._ready_sent = True
            Clock.schedule_once(self._ready, 0)

    # -- citizen input --------------------------------------------------------------------
    def current_screen(self):
        return self.root.ids.screens.current_screen if self.root else None

    def _any_touch(self, _window, touch) -> bool:
        self.staff.touch_down(touch)
        if not self.staff.active:
            self.commands.touch()
        return False

    def _touch_up(self, _window, touch) -> bool:
        self.staff.touch_up(touch)
        return False

    def choose_language(self, language: str) -> None:
        self.commands.set_language(language)

    # -- the voice ------------------------------------------------------------------------
    def _speak_news(self, old: SessionView | None, new: SessionView, screen) -> None:
        """Say what just changed on the glass: a new screen (or language) whole, the idle
        warning, else whatever the screen finds new (a message, waiting, a failed step)."""
        if new.idle_warning and not (old is not None and old.idle_warning):
            self.say(_("idle.spoken", self.lang))
        elif old is None or old.screen != new.screen or old.language != new.language:
            self.say(screen.spoken(new, self.lang))
        else:
            self.say(screen.spoken_news(old, new, self.lang))
            if new.message == old.message and new_message(old, new):
                screen.flash_message()

    def say(self, text: str) -> None:
        self.guide.say(text, self.lang)

    def hear_again(self) -> None:
        """The header's "Dengar lagi": the current screen's sentence again, whole."""
        screen = self.current_screen()
        if self.view is not None and screen is not None:
            text = screen.spoken(self.view, self.lang)
            if self.view.idle_warning:
                text = _("idle.spoken", self.lang) + " " + text
            self.say(text)

    def cycle_sound(self) -> None:
        levels = SOUND_LEVELS
        self.sound_level = levels[(levels.index(self.sound_level) + 1) % len(levels)]
        self.guide.enabled = self.sound_level != "off"
        if self.guide.enabled:
            self.guide.volume = self.sound_level
            self.hear_again()          # at the new volume, so the citizen hears the difference

    def _window_resized(self, _window, size) -> None:
        width, height = size
        self.portrait = height >= width
