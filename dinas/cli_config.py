"""`adm-dinas keygen` and `adm-dinas config …`: signed remote configuration for the admin.

    adm-dinas keygen --out keys/ [--keyid dinas-bdg-2026]
    adm-dinas config sign   --group kota-bandung --file settings.toml --key keys/dinas-bdg-2026.key [--out env.json]
    adm-dinas config push   --kiosk ADM-BDG-01 --file settings.toml --key KEY --url URL --token-file admin.token
    adm-dinas config status [--json] --url URL --token-file admin.token
    adm-dinas config rollout --group kota-bandung --file settings.toml --key KEY --waves 10,50,100 \
        --max-failures 10% [--timeout 900] --url URL --token-file admin.token

`push`, `status` and `rollout` talk to the dinas API (`--url …/api/v1` and the admin token's
file; or ADM_DINAS_URL and ADM_DINAS_TOKEN_FILE). Exit 0 on success, 1 when a rollout
stopped at its threshold, 2 for anything the admin must fix (said in one line or a list).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config_admin import DEFAULT_VALID_DAYS, AdminApi, AdminError, check_version_is_new, keygen, load_signer, \
    make_envelope
from .config_settings import read_settings_file
from .rollout import parse_threshold, parse_waves, run_rollout


def cmd_keygen(args: argparse.Namespace) -> int:
    keyid, public, key_path = keygen(Path(args.out), args.keyid)
    print(f"keyid: {keyid}")
    print(f"public key: {public}")
    print(f"private key: {key_path} (mode 0600; keep it off the server and the kiosks)")
    print("\nfor each kiosk's kiosk.toml:\n")
    print(f'[[dinas.trusted_config_keys]]\nkeyid = "{keyid}"\npublic_key = "{public}"')
    return 0


def _envelope(args: argparse.Namespace, *, kiosks: list[str], groups: list[str]):
    settings = read_settings_file(args.file)
    return make_envelope(settings, load_signer(args.key), kiosks=kiosks, groups=groups, version=args.version,
                         valid_days=args.valid_days)


def cmd_sign(args: argparse.Namespace) -> int:
    envelope, version = _envelope(args, kiosks=args.kiosk or [], groups=args.group or [])
    text = json.dumps(envelope, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
        print(f"v{version} signed into {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    api = AdminApi.from_args(args.url, args.token_file)
    kiosks, groups = args.kiosk or [], args.group or []
    envelope, version = _envelope(args, kiosks=kiosks, groups=groups)
    check_version_is_new(api.kiosks(), kiosks, groups, version)
    stored = api.publish(envelope, kiosks, groups)
    print(f"v{version} published for {', '.join(kiosks + groups)} (etag {stored['etag']}); "
          "kiosks apply it between sessions and report (see `adm-dinas config status`)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    api = AdminApi.from_args(args.url, args.token_file)
    kiosks, rollouts = api.kiosks(), api.rollouts()
    rows = [{"kiosk_id": k["kiosk_id"], "group": k.get("group"), "applied_version": k.get("config_version"),
             "stale": bool(k.get("config_stale")), "online": k.get("online"),
             "last_report": k.get("last_config_report")} for k in kiosks]
    if args.json:
        print(json.dumps({"kiosks": rows, "rollouts": rollouts}, indent=2))
        return 0
    print(f"{'KIOSK':<18} {'GROUP':<16} {'APPLIED':<16} {'LAST REPORT':<32} REASON")
    for row in rows:
        report = row["last_report"]
        last = f"v{report['version']} {report['result']}" if report else "-"
        applied = "-" if row["applied_version"] is None else f"v{row['applied_version']}"
        if row["stale"]:
            applied += " (stale)"
        print(f"{row['kiosk_id']:<18} {row['group'] or '-':<16} {applied:<16} {last:<32} "
              f"{(report or {}).get('reason') or '-'}")
    for rollout in rollouts:
        done = rollout.get("waves_done", [])
        print(f"\nrollout {rollout['rollout_id']}: v{rollout['version']} to {rollout['group']}, {rollout['state']}, "
              f"{len(done)}/{len(rollout.get('waves', []))} wave(s) done (updated {rollout['updated_at']})")
        for wave in done:
            print(f"  wave {wave['wave']}: {len(wave['applied'])} applied, {len(wave['failed'])} failed "
                  f"({wave['failed_percent']}%)" + (f": {'; '.join(wave['failed'])}" if wave["failed"] else ""))
        if rollout.get("message"):
            print(f"  {rollout['message']}")
    return 0


def cmd_rollout(args: argparse.Namespace) -> int:
    waves, threshold = parse_waves(args.waves), parse_threshold(args.max_failures)
    if args.timeout <= 0 or args.poll <= 0:
        raise AdminError("--timeout and --poll must be positive seconds")
    api = AdminApi.from_args(args.url, args.token_file)
    envelope, version = _envelope(args, kiosks=[], groups=[args.group])
    rollout_id = args.rollout_id or f"{args.group}-v{version}"
    progress = run_rollout(api, envelope, rollout_id=rollout_id, version=version, group=args.group, waves=waves,
                           max_failures=threshold, timeout_s=args.timeout, poll_s=args.poll)
    return 0 if progress["state"] == "completed" else 1


def register(commands) -> None:
    """Adds `keygen` and `config` to adm-dinas's subcommands."""
    keygen_cmd = commands.add_parser("keygen", help="make an Ed25519 key pair for signing kiosk configuration")
    keygen_cmd.add_argument("--out", required=True, help="folder for KEYID.key (0600) and KEYID.pub")
    keygen_cmd.add_argument("--keyid", help="the key's id (default: dinas- and a digest of the public key)")
    keygen_cmd.set_defaults(func=cmd_keygen)

    config = commands.add_parser("config", help="signed remote configuration for kiosks")
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)

    def api_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--url", help="the dinas API base, e.g. https://adm.example.go.id/api/v1 (or ADM_DINAS_URL)")
        parser.add_argument("--token-file", help="file holding the admin token (or ADM_DINAS_TOKEN_FILE)")

    def signing(parser: argparse.ArgumentParser, targets: bool = True) -> None:
        if targets:
            parser.add_argument("--kiosk", action="append", help="a kiosk id (repeatable)")
            parser.add_argument("--group", action="append", help="a group name (repeatable)")
        parser.add_argument("--file", required=True, help="settings.toml: the [settings] keys (docs/CONFIGURATION.md)")
        parser.add_argument("--key", required=True, help="the signing key, KEYID.key from `adm-dinas keygen`")
        parser.add_argument("--version", type=int, help="the version (default: the UTC time as YYYYMMDDHHMMSS)")
        parser.add_argument("--valid-days", type=float, default=DEFAULT_VALID_DAYS,
                            help=f"days until the envelope expires (default {DEFAULT_VALID_DAYS})")

    sign = actions.add_parser("sign", help="sign settings into an envelope (printed, or --out FILE)")
    signing(sign)
    sign.add_argument("--out", help="write the envelope here")
    sign.set_defaults(func=cmd_sign)

    push = actions.add_parser("push", help="sign settings and publish them for kiosks and/or groups")
    signing(push)
    api_options(push)
    push.set_defaults(func=cmd_push)

    status = actions.add_parser("status", help="per kiosk: the version applied, the last report and its reason")
    status.add_argument("--json", action="store_true")
    api_options(status)
    status.set_defaults(func=cmd_status)

    rollout = actions.add_parser("rollout", help="push to a group in waves, stopping when too many fail")
    rollout.add_argument("--group", required=True)
    signing(rollout, targets=False)
    rollout.add_argument("--waves", default="10,50,100", help="cumulative shares of the group (default 10,50,100)")
    rollout.add_argument("--max-failures", default="10%", help="stop when a wave's failed share passes this (10%%)")
    rollout.add_argument("--timeout", type=float, default=900.0,
                         help="seconds a wave's kiosks have to report; silence counts as failed (default 900)")
    rollout.add_argument("--poll", type=float, default=5.0, help="seconds between looks at the reports (default 5)")
    rollout.add_argument("--rollout-id", help="the id config status shows (default GROUP-vVERSION)")
    api_options(rollout)
    rollout.set_defaults(func=cmd_rollout)
