"""`adm-kiosk diag [--json]`: every figure of the technician's screens, at a console.

    adm-kiosk --config kiosk.toml diag            # readable, Indonesian first
    adm-kiosk --config kiosk.toml diag --json     # kiosk.diagnostics.Diagnostics.report()

Each device (state, ready, faults with what to do, supplies with counts — the kiosk's own
count where a feeder or a receipt roll cannot sense it — counters, model, firmware, serial),
the supplies (last refilled, by whom; the card and receipt counts), today's counters, the outbox (depth, oldest event, last error), the faults present,
the dinas (reachable, latency, TLS) and the configuration (version, last result).

Exit 0 when every required device is ready, 1 when one is not, 2 when the configuration
does not load, 75 when another process owns the devices (the kiosk service: stop it first).
It reads only, but it talks to the devices directly, like `maintenance status`, so it takes
the device lock (kiosk/device_lock.py) and is refused while the kiosk service runs, before it
opens anything; it audits nothing and needs no PIN.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import Any, Mapping

from devices.status import DeviceStatus

from ..config import ConfigError, KioskConfig, load_config
from ..device_lock import DeviceLock
from ..diagnostics import Diagnostics, config_figures, probe_dinas
from ..journal import Journal, journal_path
from ..remote_config.store import with_running_settings
from ..supplies import SupplyCount
from .maintenance import read_devices as read_device_board
from ..supplies_console import supply_lines

EXIT_READY, EXIT_NOT_READY, EXIT_BAD_CONFIG = 0, 1, 2
COUNTERS_TIMEOUT_S = 5.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diag", help="every diagnostic figure: devices, supplies, counters, outbox, dinas, configuration",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


class ConsoleSnapshots:
    """One fresh snapshot of each configured device, taken by the console (no running kiosk)."""

    def __init__(self, statuses: Mapping[str, DeviceStatus], required: tuple[str, ...], adjust) -> None:
        self._statuses = dict(statuses)
        self.required_roles = required
        self._adjust = adjust

    def statuses(self) -> dict[str, DeviceStatus]:
        return {role: self._adjust(status) for role, status in self._statuses.items()}


def read_devices(config: KioskConfig) -> tuple[dict[str, DeviceStatus], dict[str, dict[str, int] | None]]:
    """Every configured device's snapshot and the counters of those that keep them."""
    return read_device_board(config, counters_timeout=COUNTERS_TIMEOUT_S)


def dinas_figures(config: KioskConfig) -> dict[str, Any]:
    from ..dinas_client import DinasClient

    try:
        client = DinasClient.from_config(config, retries=0)
    except (ConfigError, OSError, ValueError) as exc:
        return {"url": config.dinas.url, "reachable": False, "latency_ms": None, "tls": "unknown",
                "detail": str(exc).splitlines()[0]}
    with client:
        return probe_dinas(client, config.dinas.url)


def build_report(config: KioskConfig, journal: Journal) -> dict[str, Any]:
    statuses, counters = read_devices(config)
    required = tuple(role for role, device in config.devices.items() if device.required)
    settings = lambda: config.settings   # noqa: E731 - the running settings, read once
    snapshots = ConsoleSnapshots(statuses, required, SupplyCount(journal, settings).apply)
    diagnostics = Diagnostics(snapshots, journal, settings=settings)
    return diagnostics.report(counters=counters, dinas=dinas_figures(config),
                              config=config_figures(config.kiosk.state_dir, config.settings),
                              kiosk_id=config.kiosk.id)


def run(args: argparse.Namespace) -> int:
    try:
        config = with_running_settings(load_config(args.config))
    except ConfigError as exc:
        print(f"diag: gagal / failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    with DeviceLock(config.kiosk.state_dir, "adm-kiosk diag"):      # it opens every device: kiosk/device_lock.py
        try:
            journal = Journal(journal_path(config.kiosk.state_dir))
        except (OSError, sqlite3.Error) as exc:
            print(f"diag: gagal / failed: {config.kiosk.state_dir}: journal cannot be opened ({exc})",
                  file=sys.stderr)
            return EXIT_BAD_CONFIG
        try:
            report = build_report(config, journal)
        finally:
            journal.close()
    print(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) if args.json else format_report(report))
    return EXIT_READY if report["ready"] else EXIT_NOT_READY


def cleaning_line(cleaning: Mapping[str, Any]) -> str:
    """kiosk.diagnostics.cleaning_figures in the console's two languages."""
    if cleaning["last_at"] is None:
        parts = ["belum pernah dari kiosk ini / never from this kiosk"]
    else:
        since = "?" if cleaning["cards_since"] is None else cleaning["cards_since"]
        parts = [f"{since} kartu sejak terakhir / cards since the last, {cleaning['last_at']} ({cleaning['last_by']})"]
    if cleaning["cleanings_done"] is not None:
        parts.append(f"hitungan printer / printer's count {cleaning['cleanings_done']}")
    if cleaning["due"]:
        parts.append("PERLU SEKARANG / DUE NOW")
    return "pembersihan / cleaning: " + "; ".join(parts)


def format_report(report: Mapping[str, Any]) -> str:
    lines = [f"kiosk {report['kiosk']}  ({report['at']})",
             "SIAP / READY" if report["ready"] else
             "TIDAK SIAP / NOT READY: " + ", ".join(f"{r} ({why})" for r, why in report["not_ready"].items())]
    for role, device in report["devices"].items():
        mark = "*" if device["required"] else " "
        lines.append(f"{mark}{role}: {device['state']}{'' if device['ready'] else ' (tidak siap / not ready)'}")
        identity = ", ".join(f"{k} {device[k]}" for k in ("model", "firmware", "serial") if device[k])
        if identity:
            lines.append(f"   {identity}")
        supplies = ", ".join(f"{name} {s['level']}" + (f" ({s['count']})" if s["count"] is not None else "")
                             for name, s in device["supplies"].items())
        lines.append(f"   persediaan / supplies: {supplies or '-'}")
        if device["counters"]:
            lines.append("   penghitung / counters: " + ", ".join(f"{k} {v}" for k, v in sorted(device["counters"].items())))
        if device.get("cleaning"):
            lines.append("   " + cleaning_line(device["cleaning"]))
        for fault in device["faults"]:
            lines.append(f"   gangguan / fault [{fault['code']}]: {fault['message']['id']} / {fault['message']['en']}")
            lines.append(f"     tindakan / do: {fault['what_to_do']['id']} / {fault['what_to_do']['en']}")
    lines += supply_lines(report["supplies"])
    outbox = report["outbox"]
    lines.append(f"antrean kirim / outbox: {outbox['depth']} waiting"
                 + (f", oldest {outbox['oldest_at']}" if outbox["oldest_at"] else "")
                 + (f", last error: {outbox['last_error']}" if outbox["last_error"] else ""))
    dinas = report["dinas"]
    lines.append(f"dinas {dinas['url']}: " + (f"terjangkau / reachable in {dinas['latency_ms']} ms, TLS {dinas['tls']}"
                                             if dinas["reachable"] else
                                             f"tidak terjangkau / unreachable (TLS {dinas['tls']}): {dinas['detail']}"))
    config = report["config"]
    last = config["last"]
    lines.append(f"konfigurasi / config: {config['source']}"
                 + (f" v{config['version']}" if config["version"] is not None else "")
                 + (f"; last v{last['version']} {last['result']}" if last else ""))
    for name in report["settings_unset"]:
        lines.append(f"PERHATIAN / NOTE: [settings] {name} kosong / is empty: pesan 'hubungi dinas' tanpa nomor"
                     f" / 'call the dinas' messages give no number")
    return "\n".join(lines)
