"""`adm-kiosk config`: the kiosk's remote configuration, for a technician or a script.

    adm-kiosk --config kiosk.toml config sync --once     # fetch, verify, apply, report
    adm-kiosk --config kiosk.toml config show --json     # what runs and the last outcome

`sync --once` starts the kiosk core (devices, engine, heartbeat) so that the health check
after applying is the real one, runs one sync, reports to the dinas and stops. Exit 0 when
the envelope was applied or nothing is new, 1 when it was refused or rolled back, 2 when the
dinas could not be asked or the configuration does not load, 75 when another process owns
the kiosk's devices (the running kiosk service: `sudo systemctl stop adm-kiosk` first). That
last is decided by the device lock (kiosk/device_lock.py) before anything is opened: no
device, no envelope fetched or applied, no report sent. The running kiosk polls on its
own; this command is for checking a push now (docs/REMOTE-CONFIG.md). `show` opens no
device and works beside the running kiosk.

`show --json` prints `{"applied_version": int|null, "settings": {…}, "last": {"version": int,
"result": "applied"|"rejected"|"rolled_back", "reason": str|null}}` (`last` is null before
any envelope was handled; the PIN hashes in `settings` show as "(set)").
"""

from __future__ import annotations

import json
import sys

from ..config import ConfigError, load_config


def register(subparsers) -> None:
    parser = subparsers.add_parser("config", help="signed remote configuration: sync now, or show what runs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = actions.add_parser("sync", help="fetch, verify, apply and report the dinas's envelope")
    sync.add_argument("--once", action="store_true", required=True, help="one sync, then exit")
    sync.add_argument("--device-timeout", type=float, default=15.0,
                      help="seconds to wait for the devices at start (default 15)")
    sync.set_defaults(func=run_sync)
    show = actions.add_parser("show", help="the applied version, the settings in force and the last outcome")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    show.set_defaults(func=run_show)


def _config(args):
    try:
        return load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def run_sync(args) -> int:
    from ..app import KioskRuntime
    from ..dinas_errors import DinasError

    cfg = _config(args)
    if cfg is None:
        return 2
    runtime = KioskRuntime.from_config(cfg, owner="adm-kiosk config sync")   # DevicesInUse: kiosk/cli.py
    try:
        runtime.start(device_timeout=args.device_timeout, config_worker=False)
        result = runtime.config_sync.sync_once()
    except DinasError as exc:
        print(f"config sync: the dinas could not be asked: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as exc:       # the state file: damaged, or the folder not writable
        print(f"config sync: the remote-config state in {cfg.kiosk.state_dir} cannot be used: {exc}",
              file=sys.stderr)
        return 2
    finally:
        runtime.stop(flush_timeout=5.0)
    version = f"v{result.version}" if result.version is not None else "none"
    line = {"applied": f"applied {version}", "unchanged": f"nothing new (running {version})",
            "none": "the dinas holds no configuration for this kiosk",
            "rejected": f"rejected {version}: {result.reason} ({result.detail})",
            "rolled_back": f"rolled back {version}: {result.reason} ({result.detail})"}[result.result]
    print(f"config sync: {line}", file=sys.stdout if result.exit_status == 0 else sys.stderr)
    return result.exit_status


def run_show(args) -> int:
    from ..remote_config.store import ConfigStore, running_settings

    cfg = _config(args)
    if cfg is None:
        return 2
    try:
        state = ConfigStore(cfg.kiosk.state_dir).load()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    settings, version = running_settings(state, cfg.settings)
    shown = {"applied_version": version, "settings": settings.redacted(), "last": state.last}
    if args.json:
        print(json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    print(f"applied version: {version if version is not None else 'none (kiosk.toml settings)'}")
    if state.last:
        print(f"last: v{state.last['version']} {state.last['result']}"
              + (f" ({state.last['reason']})" if state.last.get("reason") else ""))
    if state.applied_expires_at:
        print(f"expires: {state.applied_expires_at}")
    for key, value in shown["settings"].items():
        print(f"  {key} = {json.dumps(value, ensure_ascii=False)}")
    return 0
