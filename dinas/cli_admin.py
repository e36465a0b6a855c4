"""`adm-dinas` commands that change or read the store: applications, kiosks, tokens, messages,
the fleet, settings, reviews and the retention purge. `cli.py` holds the parser and `serve`.

No command prints a PIN: only the notifier gets it (`adm-dinas messages` reads the recorded
gateway copy of a demo).
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path
from typing import Callable

from . import applications, auth, db, fleet, kinds, retention, settings, validation
from .applications import NewDocument
from .clock import iso
from .errors import ApiError
from .notifier import RecordingNotifier, WebhookNotifier
from .storage import Store, StoreError, open_store
from .vault import mask_phone


class CliError(Exception):
    """Bad input: printed as one line, exit status 2."""


def open_existing(args: argparse.Namespace) -> Store:
    """The store `--db` names; a SQLite path must exist (a typo must not make a new database)."""
    if not db.is_postgres(args.db) and not Path(args.db).is_file():
        raise CliError(f"no database at {args.db} (make one with `adm-dinas seed-demo` or `adm-dinas serve`)")
    return open_any(args)


def open_any(args: argparse.Namespace) -> Store:
    try:
        return open_store(args.db, key_path=args.key)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def _with_store(args: argparse.Namespace, work: Callable[[Store, db.Connection], int]) -> int:
    store = open_existing(args)
    try:
        with store.database.session() as connection:
            return work(store, connection)
    finally:
        store.close()


def _notifier(args: argparse.Namespace, store: Store) -> RecordingNotifier | WebhookNotifier:
    if getattr(args, "webhook_url", None):
        return WebhookNotifier(args.webhook_url, args.webhook_timeout)
    return RecordingNotifier(store.database, store.vault)


def _read_pdfs(args: argparse.Namespace) -> list[NewDocument]:
    """One document per kind option given (--kk, --kia, --akta-lahir …), titled by its kind."""
    documents = []
    for kind in kinds.KINDS:
        path = vars(args).get(kind.code.lower())
        if path is None:
            continue
        try:
            documents.append(NewDocument(kind.code, kind.name, Path(path).read_bytes()))
        except OSError as exc:
            raise CliError(f"cannot read {kind.cli_option} {path}: {exc.strerror}") from None
    return documents


def _hand_out_pin(args: argparse.Namespace, verb: str,
                  hand_out: Callable[..., applications.IssuedApplication]) -> int:
    """Runs `hand_out` (applications.issue or .reissue, its own arguments bound) with the
    store's vault, the notifier and --valid-days, then says what became of the PIN."""
    if not 1 <= args.valid_days <= applications.MAX_VALID_DAYS:
        raise CliError(f"--valid-days must be 1 to {applications.MAX_VALID_DAYS}")

    def work(store: Store, connection: db.Connection) -> int:
        try:
            issued = hand_out(connection, store.vault, _notifier(args, store), time.time(),
                              valid_days=args.valid_days)
        except ApiError as exc:
            raise CliError(exc.detail) from None
        print(f"request {issued.request_no}: PIN {verb}, valid until {iso(issued.pin_expires_at)}")
        print(f"WhatsApp message handed to the notifier for {mask_phone(issued.message.to)} "
              f"(QR {issued.message.qr_payload}); the PIN is only in that message")
        return 0
    return _with_store(args, work)


def cmd_application_create(args: argparse.Namespace) -> int:
    if not validation.nik_is_well_formed(args.nik):
        raise CliError("--nik must be a 16-digit NIK (region code, birth date DDMMYY, serial)")
    if not validation.NAME.fullmatch(args.name):
        raise CliError("--name must be letters, spaces and . , ' - (at most 100)")
    documents = _read_pdfs(args)
    if not documents:
        raise CliError("give at least one document: " + ", ".join(f"{k.cli_option} FILE.pdf" for k in kinds.KINDS))
    return _hand_out_pin(args, "issued", partial(applications.issue, nik=args.nik, name=args.name,
                                                 phone=args.phone, documents=documents))


def cmd_application_reissue(args: argparse.Namespace) -> int:
    if not validation.REQUEST_NO.fullmatch(args.request_no):
        raise CliError("--request-no must be a request number like REQ-20261122-AB12CD")
    return _hand_out_pin(args, "re-issued (the old PIN no longer works; lockouts cleared)",
                         partial(applications.reissue, request_no=args.request_no, name=args.name,
                                 phone=args.phone))


def cmd_messages(args: argparse.Namespace) -> int:
    if args.last is not None and args.last < 1:
        raise CliError("--last must be at least 1")

    def work(store: Store, _connection: db.Connection) -> int:
        try:
            messages = RecordingNotifier(store.database, store.vault).messages(args.last)
        except ValueError as exc:
            raise CliError(f"{exc} (is {store.key_path} the key this database was made with?)") from None
        if not messages:
            print("no messages recorded")
        for message in messages:
            print(f"--- #{message.id} {message.created_at} to {message.to} ({message.request_no}, "
                  f"QR {message.qr_payload})")
            print(message.text)
            print()
        return 0
    return _with_store(args, work)


def _kiosk_id(value: str, option: str = "--kiosk-id") -> str:
    if not validation.KIOSK_ID.fullmatch(value):
        raise CliError(f"{option} must be 1-64 letters, digits, . _ - (starting with a letter or digit)")
    return value


def cmd_kiosk_add(args: argparse.Namespace) -> int:
    _kiosk_id(args.kiosk_id)
    if args.group is not None and not validation.KIOSK_ID.fullmatch(args.group):
        raise CliError("--group must be 1-64 letters, digits, . _ -")
    store = open_any(args)
    try:
        with store.database.write() as connection:
            token = auth.add_kiosk(connection, store.vault, args.kiosk_id, args.group, time.time())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    print(token)
    return 0


def _token_change(args: argparse.Namespace, change: Callable[[Store, db.Connection], str | None]) -> int:
    store = open_existing(args)
    try:
        with store.database.write() as connection:
            token = change(store, connection)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    if token is not None:
        print(token)
    return 0


def cmd_kiosk_revoke(args: argparse.Namespace) -> int:
    kiosk_id = _kiosk_id(args.kiosk_id, "ID")
    code = _token_change(args, lambda store, c: auth.revoke_kiosk(c, kiosk_id, time.time()))
    print(f"kiosk {kiosk_id} revoked: its token no longer works (`adm-dinas kiosk rotate-token` re-enrols it)")
    return code


def cmd_kiosk_rotate(args: argparse.Namespace) -> int:
    kiosk_id = _kiosk_id(args.kiosk_id, "ID")
    return _token_change(args, lambda store, c: auth.rotate_kiosk_token(c, store.vault, kiosk_id, time.time()))


def cmd_admin_token_rotate(args: argparse.Namespace) -> int:
    return _token_change(args, lambda store, c: auth.rotate_admin_token(c, store.vault, time.time()))


def cmd_fleet(args: argparse.Namespace) -> int:
    def work(_store: Store, connection: db.Connection) -> int:
        kiosks = fleet.listing(connection, time.time())
        if args.json:
            print(json.dumps({"kiosks": kiosks}, indent=2))
            return 0
        print(f"{'KIOSK':<16} {'GROUP':<16} {'STATE':<8} {'LAST SEEN':<21} {'VERSION':<10} {'OUTBOX':>6}  NEEDS")
        for kiosk in kiosks:
            state = "revoked" if kiosk["revoked"] else "online" if kiosk["online"] else "offline"
            print(f"{kiosk['kiosk_id']:<16} {kiosk['group'] or '-':<16} {state:<8} "
                  f"{kiosk['last_seen'] or 'never':<21} {kiosk['software_version'] or '-':<10} "
                  f"{kiosk['outbox_depth'] if kiosk['outbox_depth'] is not None else '-':>6}  "
                  f"{', '.join(kiosk['needs']) or '-'}")
        return 0
    return _with_store(args, work)


def cmd_reviews(args: argparse.Namespace) -> int:
    def work(_store: Store, connection: db.Connection) -> int:
        rows = connection.all("SELECT d.id, d.kind, d.request_no, d.review_reason, d.review_at FROM documents d "
                              "WHERE d.review_reason IS NOT NULL ORDER BY d.review_at")
        if not rows:
            print("no documents to review")
        for row in rows:
            print(f"{row['id']} {row['kind']} {row['request_no']}: {row['review_reason']} at {iso(row['review_at'])}")
        return 0
    return _with_store(args, work)


def cmd_settings(args: argparse.Namespace) -> int:
    def work(_store: Store, connection: db.Connection) -> int:
        changes = {key: value for key, value in (("dinas_name", args.dinas_name),
                                                 ("kiosk_locations", args.kiosk_locations),
                                                 ("contact", args.contact)) if value is not None}
        with db.transaction(connection):
            settings.write(connection, **changes)
        for key, value in vars(settings.read(connection)).items():
            print(f"{key}: {value}")
        return 0
    return _with_store(args, work)


def cmd_purge(args: argparse.Namespace) -> int:
    if args.document_days < 1:
        raise CliError("--document-days must be at least 1")

    def work(_store: Store, connection: db.Connection) -> int:
        purged = retention.purge(connection, time.time(), document_days=args.document_days)
        print(", ".join(f"{count} {what}" for what, count in purged.as_dict().items()))
        return 0
    return _with_store(args, work)


def add_commands(command: Callable[..., argparse.ArgumentParser], commands: argparse._SubParsersAction) -> None:
    """The store commands, on the parser `cli.build_parser` makes."""
    application = commands.add_parser("application", help="verified applications")
    application_commands = application.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = command("create", cmd_application_create, "issue a PIN for an application and send the message",
                     application_commands)
    create.add_argument("--nik", required=True)
    for sub in (create, reissue := command("reissue", cmd_application_reissue,
                                           "a new PIN for an application (after a block); the old one stops",
                                           application_commands)):
        sub.add_argument("--name", required=True)
        sub.add_argument("--phone", required=True)
        sub.add_argument("--valid-days", type=int, default=applications.DEFAULT_VALID_DAYS)
        sub.add_argument("--webhook-url", help="send the message to this gateway instead of recording it")
        sub.add_argument("--webhook-timeout", type=float, default=10.0)
    reissue.add_argument("--request-no", required=True)
    for kind in kinds.KINDS:
        pages = f"{kind.pages} pages, " if kind.pages else ""
        create.add_argument(kind.cli_option, dest=kind.code.lower(), metavar="FILE.pdf",
                            help=f"the {kind.name} PDF ({pages}{'CR-80' if kind.media == 'card' else 'A4'})")

    messages = command("messages", cmd_messages, "show the recorded WhatsApp messages (they hold PINs)")
    messages.add_argument("--last", type=int, help="only the last N")

    kiosk = commands.add_parser("kiosk", help="kiosks")
    kiosk_commands = kiosk.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = command("add", cmd_kiosk_add, "register a kiosk and print its new token", kiosk_commands)
    add.add_argument("--kiosk-id", required=True)
    add.add_argument("--group")
    revoke = command("revoke", cmd_kiosk_revoke, "revoke a kiosk's token at once (a stolen kiosk)", kiosk_commands)
    revoke.add_argument("kiosk_id", metavar="ID")
    rotate = command("rotate-token", cmd_kiosk_rotate, "a new token for a kiosk; the old one stops at once",
                     kiosk_commands)
    rotate.add_argument("kiosk_id", metavar="ID")

    admin_token = commands.add_parser("admin-token", help="the admin token")
    admin_commands = admin_token.add_subparsers(dest="action", metavar="ACTION", required=True)
    command("rotate", cmd_admin_token_rotate, "a new admin token; the old one stops at once", admin_commands)

    fleet_cmd = command("fleet", cmd_fleet, "show every kiosk: online, versions, what it needs")
    fleet_cmd.add_argument("--json", action="store_true")
    command("reviews", cmd_reviews, "documents flagged for review (printed after their reservation lapsed)")

    settings_cmd = command("settings", cmd_settings, "show or change what the WhatsApp message says")
    settings_cmd.add_argument("--dinas-name")
    settings_cmd.add_argument("--kiosk-locations")
    settings_cmd.add_argument("--contact")

    purge = command("purge", cmd_purge, "delete what the retention rules say is no longer kept")
    purge.add_argument("--document-days", type=int, default=retention.DOCUMENT_DAYS,
                       help="days after printing or expiry that a document's bytes are kept")


