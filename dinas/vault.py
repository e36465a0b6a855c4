"""Keys and the ways personal data is kept: keyed hashes for lookup, masks for display,
encryption for what must be read back (documents, the recorded WhatsApp outbox).

One 32-byte server secret lives in a file beside the database (`<db>.key`, mode 0600), not
in it: a copy of the database alone gives no way to test PIN guesses offline or to read a
document. Every key is derived from that secret for one purpose only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

SECRET_BYTES = 32


def secret_path(db_path: str | os.PathLike) -> Path:
    """Where a SQLite database's key lives by default: `<db>.key` beside it."""
    db = Path(db_path)
    return db.with_name(db.name + ".key")


def load_or_create_secret(path: str | os.PathLike, *, may_create: bool = True) -> bytes:
    """Reads the 32-byte key at `path`; makes it first when `may_create` (a new database)."""
    path = Path(path)
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        if not may_create:
            raise
        secret = secrets.token_bytes(SECRET_BYTES)
        # O_EXCL: two processes starting on a new database must not write two secrets.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_secret(path, may_create=False)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
        return secret
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"{path} is not a {SECRET_BYTES}-byte server secret")
    return secret


def missing_key_message(key_path: str | os.PathLike, database: str) -> str:
    return (f"the server key {key_path} is missing, and the database {database} holds data made with it "
            "(token, PIN and NIK hashes, sealed documents and messages). Restore that file from your key "
            "backup (docs/DEPLOYMENT.md), mode 0600, then start again. Do not make a new key: with another "
            "key every kiosk token, the admin token and every PIN stop working.")


class Vault:
    def __init__(self, secret: bytes | str) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        if len(secret) < 16:
            raise ValueError("the server secret must be at least 16 bytes")
        self._secret = secret
        self._fernet = Fernet(base64.urlsafe_b64encode(self._derive(b"seal")))
        # One keyed HMAC per purpose, copied for each value: every request hashes its token.
        self._keyed_by: dict[bytes, Any] = {}

    def _derive(self, purpose: bytes) -> bytes:
        return hmac.new(self._secret, b"adm-dinas/" + purpose, hashlib.sha256).digest()

    def _keyed(self, purpose: bytes, value: str) -> str:
        keyed = self._keyed_by.get(purpose)
        if keyed is None:
            keyed = self._keyed_by[purpose] = hmac.new(self._derive(purpose), digestmod=hashlib.sha256)
        mac = keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()

    def nik_hash(self, nik: str) -> str:
        return self._keyed(b"nik", nik)

    def pin_hash(self, request_no: str, pin: str) -> str:
        # Keyed per application too: the same PIN on two applications hashes differently.
        return self._keyed(b"pin", f"{request_no}:{pin}")

    def pin_matches(self, request_no: str, pin: str, stored_hash: str) -> bool:
        return hmac.compare_digest(self.pin_hash(request_no, pin), stored_hash)

    def key_check(self) -> str:
        """Stored in the database: tells whether a key file is the one the data was made with."""
        return self._keyed(b"key-check", "adm-dinas")

    def token_hash(self, token: str) -> str:
        return self._keyed(b"token", token)

    def form_mac(self, value: str) -> str:
        """Binds a login form's CSRF token to its browser's cookie (dinas/web/login.py)."""
        return self._keyed(b"form", value)

    def seal(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def unseal(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken as exc:
            raise ValueError("sealed data does not open with this server's key") from exc


def new_pin() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def mask_nik(text: str) -> str:
    """'3273051203840001' -> '327305******0001'; masks every NIK inside any text."""
    return _SIXTEEN_DIGITS.sub(r"\1******\2", text)


def mask_name(name: str) -> str:
    """'Hendra Wiratmaja' -> 'He**** Wi*******': enough for a citizen to know it is them."""
    return " ".join(word[:2] + "*" * max(len(word) - 2, 0) for word in name.split())


def mask_phone(phone: str) -> str:
    return phone[:6] + "*" * max(len(phone) - 9, 0) + phone[-3:]
