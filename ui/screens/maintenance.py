"""Maintenance, for the technician who got in by PIN (issue 12): every device (state, faults
with what to do, supplies with counts, counters, model, firmware, serial), the kiosk's own
counts and refills (ui/screens/supplies.py), the outbox, the last faults, the dinas (reachable,
latency, TLS), the configuration; test prints with their result, the way to the supplies
screen, cleaning the card printer (its own screen, ui/screens/staff_cleaning.py), restarting
the application and leaving. The figures come whole from kiosk.diagnostics (`report`, read off the UI thread by
ui/staff_mode.py); this screen only words them, in the technician's language."""

from __future__ import annotations

from typing import Any, Mapping

from kivy.app import App
from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from ..i18n import _
from ..widgets.buttons import fill_buttons
from .staff_cleaning import cleaning_text
from .supplies import supply_lines, supply_name


def device_name(role: str, language: str) -> str:
    return _("staff.storage", language) if role == "storage" else _("role." + role, language)


def device_lines(role: str, device: Mapping[str, Any], language: str) -> list[str]:
    state = _("staff.state.ready" if device["ready"] else "staff.state.not_ready", language)
    lines = [f"[b]{device_name(role, language)}[/b]: {state} ({device['state']})"
             + (f" — {_('staff.required', language)}" if device["required"] else "")]
    for fault in device["faults"]:
        lines.append(f"  • {fault['message'][language]}. {_('staff.do', language)}: {fault['what_to_do'][language]}")
    supplies = ", ".join(f"{supply_name(name, language)} {_('staff.level.' + s['level'], language)}"
                         + (f" ({s['count']})" if s["count"] is not None else "")
                         for name, s in device["supplies"].items())
    if supplies:
        lines.append(f"  {_('staff.supplies', language)}: {supplies}")
    if device["counters"]:
        lines.append(f"  {_('staff.counters', language)}: "
                     + ", ".join(f"{k} {v}" for k, v in sorted(device["counters"].items())))
    if device.get("cleaning"):
        lines.append(f"  {_('staff.clean.counter', language)}: {cleaning_text(device['cleaning'], language)}")
    identity = ", ".join(f"{_('staff.' + k, language)} {device[k]}" for k in ("model", "firmware", "serial") if device[k])
    if identity:
        lines.append(f"  {identity}")
    return lines


def report_lines(report: Mapping[str, Any], language: str) -> list[str]:
    lines = []
    for role, device in report["devices"].items():
        lines += device_lines(role, device, language)
    lines += supply_lines(report["supplies"], language)
    outbox = report["outbox"]
    lines.append(_("staff.outbox", language, depth=outbox["depth"], oldest=outbox["oldest_at"] or "-",
                   error=outbox["last_error"] or "-"))
    faults = report["last_faults"][-5:]
    lines.append(_("staff.last_faults", language) + ": " + (", ".join(
        f"{device_name(f['device'], language)}: {_('fault.' + f['code'], language)}"
        + (f" ({f['at']})" if f.get("at") else "") for f in faults) or "-"))
    dinas = report["dinas"]
    tls = _("staff.tls." + dinas["tls"].replace(" ", "_"), language)
    lines.append(_("staff.dinas.ok", language, latency=dinas["latency_ms"], tls=tls) if dinas["reachable"]
                 else _("staff.dinas.down", language, tls=tls, detail=dinas["detail"] or "-"))
    config = report["config"]
    last = config["last"]
    lines.append(_("staff.config", language, version=config["version"] if config["version"] is not None else "kiosk.toml",
                   last=f"v{last['version']} {last['result']}" if last else "-"))
    return lines


class MaintenanceScreen(Screen):
    report = DictProperty({})
    result = StringProperty("")              # the last action's outcome, in the technician's words
    result_is_error = BooleanProperty(False)
    loading = BooleanProperty(False)
    exporting = BooleanProperty(False)       # waiting for a USB stick
    test_roles = ListProperty([])
    clean_roles = ListProperty([])           # printers whose driver runs a cleaning cycle

    def mode(self):
        return App.get_running_app().staff

    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=lambda *_args: self._build_test_buttons())

    def on_test_roles(self, *_args) -> None:
        self._build_test_buttons()

    def on_loading(self, *_args) -> None:
        for button in self.ids.tests.children:
            button.disabled = self.loading

    def _build_test_buttons(self) -> None:
        """The desk's test_print_roles (from the registry), in registry order: no role is named here."""
        language = App.get_running_app().lang
        fill_buttons(self.ids.tests, [(_("staff.test." + role, language), lambda r=role: self.mode().test_print(r))
                                      for role in self.test_roles], disabled=self.loading)

    def text(self, report, language: str) -> str:
        return "\n".join(report_lines(report, language)) if report else ""

    def hardware_key(self, key: str) -> bool:
        return False
