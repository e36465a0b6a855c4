"""`adm-dinas`: run the reference dinas server and administer its store.

    adm-dinas serve --db dinas.db --host 127.0.0.1 --port 8080 [--workers 4]
    adm-dinas serve --db 'postgresql://adm@/dinas?host=/run/postgresql' --key /etc/adm-dinas/dinas.key
    adm-dinas seed-demo --db dinas.db --json
    adm-dinas application create --db dinas.db --nik NIK --name NAME --phone PHONE --kk kk.pdf --kia kia.pdf
    adm-dinas application reissue --db dinas.db --request-no REQ --name NAME --phone PHONE
    adm-dinas kiosk add --db dinas.db --kiosk-id ADM-01 --group kota
    adm-dinas kiosk revoke --db dinas.db ADM-01 / kiosk rotate-token --db dinas.db ADM-01
    adm-dinas admin-token rotate --db dinas.db
    adm-dinas fleet --db dinas.db / messages / reviews / settings / purge

`--db` is a SQLite file or a PostgreSQL URI; `--key` the server key (default `<db>.key`
beside a SQLite file; required, or $ADM_DINAS_KEY, for PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from . import auth, cli_admin, cli_config, db, seed
from .cli_admin import CliError
from .config_admin import AdminError
from .storage import KEY_ENV, StoreError
from .vault import mask_nik


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


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from . import wsgi

    if not 1 <= args.workers <= 64:
        raise CliError("--workers must be 1 to 64")
    store = cli_admin.open_any(args)       # migrates and checks the key once, before any worker starts
    try:
        with store.database.write() as connection:
            if not auth.has_admin_token(connection):
                token = auth.issue_admin_token(connection, store.vault, time.time())
                print(f"admin token (shown once, keep it safe): {token}", flush=True)
    finally:
        store.close()
    configure_logging()
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    logging.getLogger(__name__).info("the fleet page for admins: http://%s:%d/admin (docs/FLEET-PAGE.md)",
                                     shown_host, args.port)
    wsgi.run(db=args.db, key=args.key, host=args.host, port=args.port, workers=args.workers,
             webhook_url=args.webhook_url, webhook_timeout=args.webhook_timeout)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    try:
        result = seed.seed_demo(args.db, key_path=args.key)
    except (ValueError, StoreError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    # Demo data for invented citizens: the one place a PIN is printed, so a demo can start at once.
    print(f"admin token: {result['admin_token']}")
    for kiosk in result["kiosks"]:
        print(f"kiosk {kiosk['kiosk_id']} ({kiosk['group']}): {kiosk['token']}")
    for citizen in result["citizens"]:
        kinds = "+".join(d["kind"] for d in citizen["documents"])
        print(f"{citizen['name']}: NIK {citizen['nik']} PIN {citizen['pin']} {citizen['request_no']} ({kinds})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adm-dinas", description="Reference dinas server and admin tool for ADM kiosks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help_text: str, parent=commands) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--db", required=True, help="a SQLite file, or a PostgreSQL URI "
                         "(postgresql://user@/db?host=/run/postgresql&port=5432)")
        sub.add_argument("--key", help=f"the server key file (default: <db>.key beside a SQLite file; "
                         f"for PostgreSQL give it, or set ${KEY_ENV})")
        sub.set_defaults(func=func)
        return sub

    serve = command("serve", cmd_serve, "run the dinas API server (gunicorn, N worker processes)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (about 1 per core; docs/DEPLOYMENT.md)")
    serve.add_argument("--webhook-url", help="send WhatsApp messages to this gateway instead of recording them")
    serve.add_argument("--webhook-timeout", type=float, default=10.0)
    seed_demo = command("seed-demo", cmd_seed_demo, "fill a new database with demo families, kiosks and tokens")
    seed_demo.add_argument("--json", action="store_true", help="print the result as JSON")
    cli_admin.add_commands(command, commands)
    cli_config.register(commands)          # keygen, config sign/push/status/rollout
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, AdminError) as exc:
        print(f"adm-dinas: error: {exc}", file=sys.stderr)
        return 2
    except db.DatabaseUnavailable as exc:
        print(f"adm-dinas: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
