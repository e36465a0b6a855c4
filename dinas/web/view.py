"""What the fleet page shows about a kiosk, from `dinas.fleet`'s status rows: words and a
tone for each thing, so the templates only lay them out.

Tones: "ok" (green), "warn" (amber: look soon), "bad" (red: someone must act), "muted"
(grey: nothing known). Every tone is also said in words: colour is never the only signal.

"Needs action" is what someone must go and do: a supply low or out, a device alarm, or a
configuration the kiosk rejected or rolled back. Offline is its own filter: an offline
kiosk's last supplies and faults are still shown, as last reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..clock import parse_iso
from .i18n import Words

# The supplies the page names (ARCHITECTURE §4 heartbeats); others still count in `needs`.
SUPPLY_ORDER = ("cards", "ribbon", "paper_a4", "receipt_paper", "toner", "reject_box")
STATE_TONE = {"ready": "ok", "busy": "ok", "offline": "bad", "user_error": "bad", "hardware_error": "bad",
              "no_device": "bad", "unknown": "muted"}
LEVEL_TONE = {"full": "ok", "low": "warn", "out": "bad", "unknown": "muted"}
CONFIG_TONE = {"applied": "ok", "rejected": "bad", "rolled_back": "warn"}
OUTBOX_WARN = 10        # events waiting at the kiosk: a few is a slow link, more is an outage


@dataclass(frozen=True)
class Chip:
    text: str
    tone: str


@dataclass(frozen=True)
class Device:
    role: str
    state: Chip
    supplies: tuple[Chip, ...]
    faults: tuple[Chip, ...]


@dataclass(frozen=True)
class KioskView:
    kiosk_id: str
    group: str | None
    online: bool
    status: Chip
    last_seen: str
    last_seen_ago: str
    devices: tuple[Device, ...]
    device_states: tuple[Chip, ...]
    supplies_needing_action: tuple[Chip, ...]
    faults: tuple[Chip, ...]
    config: Chip
    outbox: Chip
    software: str
    printed_today: int
    failed_today: int
    needs_action: bool
    card_stock: dict[str, Any] = field(default_factory=dict)
    receipt_stock: dict[str, Any] = field(default_factory=dict)    # the kiosk's own receipt count


def _supply_chips(words: Words, supplies: dict[str, Any], *, needing_action_only: bool) -> tuple[Chip, ...]:
    names = sorted(supplies, key=lambda n: (SUPPLY_ORDER.index(n) if n in SUPPLY_ORDER else len(SUPPLY_ORDER), n))
    chips = []
    for name in names:
        supply = supplies[name] if isinstance(supplies[name], dict) else {}
        level = supply.get("level", "unknown")
        if needing_action_only and level not in ("low", "out"):
            continue
        text = words("supply.item", supply=words.open_word("supply", name), level=words.open_word("level", level))
        count = supply.get("count")
        if isinstance(count, int) and not isinstance(count, bool):
            text = words("supply.item_count", item=text, count=count)
        chips.append(Chip(text, LEVEL_TONE.get(level, "muted")))
    return tuple(chips)


def _fault_chips(words: Words, faults: list[Any]) -> tuple[Chip, ...]:
    chips = []
    for fault in faults:
        if isinstance(fault, dict) and isinstance(fault.get("code"), str):
            tone = "bad" if fault.get("severity") == "alarm" else "warn"
            chips.append(Chip(words.open_word("fault", fault["code"]), tone))
    return tuple(chips)


def devices(words: Words, reported: dict[str, Any]) -> tuple[Device, ...]:
    """Each device in `reported` (a heartbeat's `devices`), by role."""
    found = []
    for role, device in sorted(reported.items()):
        state = device.get("state", "unknown")
        found.append(Device(words.open_word("role", role), Chip(words.open_word("state", state),
                                                                 STATE_TONE.get(state, "muted")),
                            _supply_chips(words, device.get("supplies") or {}, needing_action_only=False),
                            _fault_chips(words, device.get("faults") or [])))
    return tuple(found)


TONE_RANK = {"bad": 0, "warn": 1, "muted": 2, "ok": 3}


def device_states(words: Words, shown: tuple[Device, ...]) -> tuple[Chip, ...]:
    """Every device's state in few words: one chip per state naming its devices
    ("Printer A4, Pemindai: siap"), the worst first."""
    roles: dict[Chip, list[str]] = {}
    for device in shown:
        roles.setdefault(device.state, []).append(device.role)
    return tuple(Chip(words("device.states", roles=", ".join(names), state=state.text), state.tone)
                 for state, names in sorted(roles.items(), key=lambda item: TONE_RANK.get(item[0].tone, 9)))


def _config(words: Words, status: dict[str, Any]) -> Chip:
    report = status.get("last_config_report")
    version = status.get("config_version")
    shown = words("config.none") if version is None else words("config.version", version=version)
    if report is None:
        chip = Chip(words("config.no_report", version=shown), "muted")
    else:
        result = words.open_word("config", report["result"])
        key = "config.report_same" if report["version"] == version else "config.report"
        chip = Chip(words(key, version=shown, result=result, reported=report["version"]),
                    CONFIG_TONE.get(report["result"], "muted"))
    if status.get("config_stale"):
        # The kiosk runs a configuration past its expiry (remote configuration): the dinas
        # must publish a new one.
        return Chip(words("config.stale", config=chip.text), "bad" if chip.tone == "bad" else "warn")
    return chip


def supplies_needing_action(words: Words, reported: dict[str, Any]) -> tuple[Chip, ...]:
    """Every supply low or out, over all devices (`reported` is a heartbeat's `devices`)."""
    return tuple(chip for device in reported.values()
                 for chip in _supply_chips(words, device.get("supplies") or {}, needing_action_only=True))


@dataclass(frozen=True)
class Triage:
    """What a kiosk's status chip says, from its status row. (The page's filters and order
    come from the same rules kept as flags on the kiosk's row: `dinas.fleet.fleet_page`.)"""
    kiosk_id: str
    group: str | None
    online: bool
    ever_seen: bool
    needs_action: bool
    urgent: bool                # something is out or in alarm, or a configuration was rejected
    revoked: bool = False       # `adm-dinas kiosk revoke`: it cannot send anything until re-enrolled

    @property
    def offline(self) -> bool:
        """Offline and expected to be heard from: a revoked kiosk is silent on purpose."""
        return not self.online and not self.revoked


def triage(status: dict[str, Any]) -> Triage:
    report = status.get("last_config_report") or {}
    config_failed = report.get("result") in ("rejected", "rolled_back") or bool(status.get("config_stale"))
    urgent = report.get("result") == "rejected" or any(
        any(isinstance(s, dict) and s.get("level") == "out" for s in (device.get("supplies") or {}).values())
        or any(isinstance(f, dict) and f.get("severity") == "alarm" for f in device.get("faults") or [])
        for device in status["devices"].values())
    revoked = bool(status.get("revoked"))
    return Triage(status["kiosk_id"], status.get("group"), status["online"], status.get("last_seen") is not None,
                  (bool(status["needs"]) or config_failed) and not revoked, urgent, revoked)


def _status_chip(words: Words, kiosk: Triage) -> Chip:
    if kiosk.revoked:
        return Chip(words("status.revoked"), "muted")
    if not kiosk.ever_seen:
        return Chip(words("status.never"), "muted")
    if not kiosk.online:
        return Chip(words("status.offline"), "bad")
    if kiosk.needs_action:
        return Chip(words("status.needs_action"), "bad" if kiosk.urgent else "warn")
    return Chip(words("status.ok"), "ok")


def kiosk_view(words: Words, status: dict[str, Any], now: float, today: tuple[int, int]) -> KioskView:
    kiosk = triage(status)
    shown_devices = devices(words, status["devices"])
    last_seen_at = parse_iso(status["last_seen"]) if status.get("last_seen") else None
    depth = status.get("outbox_depth")
    outbox = Chip(words("outbox.unknown") if depth is None else words("outbox.depth", depth=depth),
                  "muted" if depth is None else "warn" if depth >= OUTBOX_WARN else "ok")
    counters = status.get("counters") or {}
    return KioskView(
        kiosk_id=kiosk.kiosk_id, group=kiosk.group, online=kiosk.online, status=_status_chip(words, kiosk),
        last_seen=words("status.never_seen") if last_seen_at is None else words.moment(last_seen_at),
        last_seen_ago="" if last_seen_at is None else words.ago(now - last_seen_at),
        devices=shown_devices, device_states=device_states(words, shown_devices),
        supplies_needing_action=supplies_needing_action(words, status["devices"]),
        faults=tuple(chip for device in shown_devices for chip in device.faults), config=_config(words, status),
        outbox=outbox, software=status.get("software_version") or words("software.unknown"),
        printed_today=today[0], failed_today=today[1], needs_action=kiosk.needs_action,
        card_stock=counters.get("card_stock") if isinstance(counters.get("card_stock"), dict) else {},
        receipt_stock=counters.get("receipt_stock") if isinstance(counters.get("receipt_stock"), dict) else {})
