"""`adm-dinas`: run the reference dinas server and administer its database.

    adm-dinas serve --db dinas.db --host 127.0.0.1 --port 8080
    adm-dinas seed-demo --db dinas.db --json
    adm-dinas application create --db dinas.db --nik NIK --name NAME --phone PHONE --kk kk.pdf --kia kia.pdf
    adm-dinas messages --db dinas.db --last 3
    adm-dinas kiosk add --db dinas.db --kiosk-id ADM-01 --group kota
    adm-dinas fleet --db dinas.db
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import applications, auth, db, fleet, seed, settings, validation
from . import cli_config
from .applications import NewDocument
from .config_admin import AdminError
from .clock import iso
from .errors import ApiError
from .notifier import RecordingNotifier, WebhookNotifier
from .vault import Vault, load_or_create_secret, mask_nik


class CliError(Exception):
    """Bad input: printed as one line, exit status 2."""


class MaskingFilter(logging.Filter):
    """The net under the code's own masking: no 16-digit run leaves in a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if mask_nik(message) != message:
            record.msg, record.args = mask_nik(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # a traceback quotes values too (a failed lookup, a bad row)
            record.exc_text = mask_nik(logging.Formatter().formatException(record.exc_info))
        return True


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _existing_db(path: str) -> str:
    if not Path(path).is_file():
        raise CliError(f"no database at {path} (make one with `adm-dinas seed-demo` or `adm-dinas serve`)")
    db.initialise(path)
    return path


def _new_db(path: str) -> str:
    if not Path(path).parent.is_dir():
        raise CliError(f"folder {Path(path).parent} does not exist")
    return path


def _vault(path: str) -> Vault:
    return Vault(load_or_create_secret(path))


def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from .server import create_app
    path = _new_db(args.db)
    notifier = WebhookNotifier(args.webhook_url, args.webhook_timeout) if args.webhook_url else None
    app = create_app(path, notifier=notifier)
    connection = db.connect(path)
    try:
        with db.transaction(connection):
            if not auth.has_admin_token(connection):
                token = auth.issue_admin_token(connection, _vault(path), time.time())
                print(f"admin token (shown once, keep it safe): {token}", flush=True)
    finally:
        connection.close()
    _configure_logging()
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    try:
        result = seed.seed_demo(_new_db(args.db))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"admin token: {result['admin_token']}")
    for kiosk in result["kiosks"]:
        print(f"kiosk {kiosk['kiosk_id']} ({kiosk['group']}): {kiosk['token']}")
    for citizen in result["citizens"]:
        kinds = "+".join(d["kind"] for d in citizen["documents"])
        print(f"{citizen['name']}: NIK {citizen['nik']} PIN {citizen['pin']} {citizen['request_no']} ({kinds})")
    return 0


def _read_pdf(path: str | None, kind: str, title: str) -> list[NewDocument]:
    if path is None:
        return []
    try:
        return [NewDocument(kind, title, Path(path).read_bytes())]
    except OSError as exc:
        raise CliError(f"cannot read --{kind.lower()} {path}: {exc.strerror}") from None


def cmd_application_create(args: argparse.Namespace) -> int:
    if not validation.nik_is_well_formed(args.nik):
        raise CliError("--nik must be a 16-digit NIK (region code, birth date DDMMYY, serial)")
    if not validation.NAME.fullmatch(args.name):
        raise CliError("--name must be letters, spaces and . , ' - (at most 100)")
    documents = _read_pdf(args.kk, "KK", "Kartu Keluarga") + _read_pdf(args.kia, "KIA", "Kartu Identitas Anak")
    if not documents:
        raise CliError("give at least one document: --kk FILE.pdf and/or --kia FILE.pdf")
    if not 1 <= args.valid_days <= applications.MAX_VALID_DAYS:
        raise CliError(f"--valid-days must be 1 to {applications.MAX_VALID_DAYS}")
    path = _existing_db(args.db)
    vault = _vault(path)
    connection = db.connect(path)
    try:
        issued = applications.issue(connection, vault, RecordingNotifier(path, vault), time.time(), nik=args.nik,
                                    name=args.name, phone=args.phone, documents=documents,
                                    valid_days=args.valid_days)
    except ApiError as exc:
        raise CliError(exc.detail) from None
    finally:
        connection.close()
    print(f"request {issued.request_no}, PIN valid until {iso(issued.pin_expires_at)}")
    print(f"WhatsApp to {issued.message.to} (QR {issued.message.qr_payload}):\n")
    print(issued.message.text)
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    if args.last is not None and args.last < 1:
        raise CliError("--last must be at least 1")
    path = _existing_db(args.db)
    try:
        messages = RecordingNotifier(path, _vault(path)).messages(args.last)
    except ValueError as exc:
        raise CliError(f"{exc} (is {path}.key the key this database was made with?)") from None
    if not messages:
        print("no messages recorded")
    for message in messages:
        print(f"--- #{message.id} {message.created_at} to {message.to} ({message.request_no}, QR {message.qr_payload})")
        print(message.text)
        print()
    return 0


def cmd_kiosk_add(args: argparse.Namespace) -> int:
    if not validation.KIOSK_ID.fullmatch(args.kiosk_id):
        raise CliError("--kiosk-id must be 1-64 letters, digits, . _ - (starting with a letter or digit)")
    if args.group is not None and not validation.KIOSK_ID.fullmatch(args.group):
        raise CliError("--group must be 1-64 letters, digits, . _ -")
    path = _existing_db(args.db) if Path(args.db).exists() else _new_db(args.db)
    db.initialise(path)
    connection = db.connect(path)
    try:
        with db.transaction(connection):
            token = auth.add_kiosk(connection, _vault(path), args.kiosk_id, args.group, time.time())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    finally:
        connection.close()
    print(token)
    return 0


def cmd_fleet(args: argparse.Namespace) -> int:
    path = _existing_db(args.db)
    connection = db.connect(path)
    try:
        kiosks = fleet.listing(connection, time.time())
    finally:
        connection.close()
    if args.json:
        print(json.dumps({"kiosks": kiosks}, indent=2))
        return 0
    print(f"{'KIOSK':<16} {'GROUP':<16} {'STATE':<8} {'LAST SEEN':<21} {'VERSION':<10} {'OUTBOX':>6}  NEEDS")
    for kiosk in kiosks:
        print(f"{kiosk['kiosk_id']:<16} {kiosk['group'] or '-':<16} {'online' if kiosk['online'] else 'offline':<8} "
              f"{kiosk['last_seen'] or 'never':<21} {kiosk['software_version'] or '-':<10} "
              f"{kiosk['outbox_depth'] if kiosk['outbox_depth'] is not None else '-':>6}  "
              f"{', '.join(kiosk['needs']) or '-'}")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    path = _existing_db(args.db)
    connection = db.connect(path)
    try:
        changes = {key: value for key, value in (("dinas_name", args.dinas_name),
                                                 ("kiosk_locations", args.kiosk_locations),
                                                 ("contact", args.contact)) if value is not None}
        with db.transaction(connection):
            settings.write(connection, **changes)
        current = settings.read(connection)
    finally:
        connection.close()
    for key, value in vars(current).items():
        print(f"{key}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adm-dinas", description="Reference dinas server and admin tool for ADM kiosks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help_text: str, parent=commands) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--db", required=True, help="the SQLite database file")
        sub.set_defaults(func=func)
        return sub

    serve = command("serve", cmd_serve, "run the reference dinas API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--webhook-url", help="send WhatsApp messages to this gateway instead of recording them")
    serve.add_argument("--webhook-timeout", type=float, default=10.0)
    seed_demo = command("seed-demo", cmd_seed_demo, "fill a new database with demo families, kiosks and tokens")
    seed_demo.add_argument("--json", action="store_true", help="print the result as JSON")

    application = commands.add_parser("application", help="verified applications")
    application_commands = application.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = command("create", cmd_application_create, "issue a PIN for an application and record the message",
                     application_commands)
    create.add_argument("--nik", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--phone", required=True)
    create.add_argument("--kk", metavar="FILE.pdf", help="the KK PDF (A4)")
    create.add_argument("--kia", metavar="FILE.pdf", help="the KIA PDF (2 pages, CR-80)")
    create.add_argument("--valid-days", type=int, default=applications.DEFAULT_VALID_DAYS)

    messages = command("messages", cmd_messages, "show the recorded WhatsApp messages (they hold PINs)")
    messages.add_argument("--last", type=int, help="only the last N")

    kiosk = commands.add_parser("kiosk", help="kiosks")
    kiosk_commands = kiosk.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = command("add", cmd_kiosk_add, "register a kiosk and print its new token", kiosk_commands)
    add.add_argument("--kiosk-id", required=True)
    add.add_argument("--group")

    fleet_cmd = command("fleet", cmd_fleet, "show every kiosk: online, versions, what it needs")
    fleet_cmd.add_argument("--json", action="store_true")

    settings_cmd = command("settings", cmd_settings, "show or change what the WhatsApp message says")
    settings_cmd.add_argument("--dinas-name")
    settings_cmd.add_argument("--kiosk-locations")
    settings_cmd.add_argument("--contact")
    cli_config.register(commands)          # keygen, config sign/push/status/rollout
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, AdminError) as exc:
        print(f"adm-dinas: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
