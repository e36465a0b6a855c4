"""What can go wrong talking to the dinas, as types the session engine can act on.

One class per stable error code of the contract (docs: /api/v1, `{"error", "detail"}`),
plus three the kiosk itself detects: the dinas could not be reached (`DinasUnavailable`), it
answered something the contract does not allow (`ContractError`), or a document failed its
size or sha256 check (`DocumentIntegrityError`). All derive from `DinasError`, so one
`except DinasError` covers every way a call can fail.

Messages carry no personal data: never a PIN, a NIK in clear, or document bytes.
"""

from __future__ import annotations

from typing import Any, Mapping


class DinasError(Exception):
    """A failed dinas call. `code` is the contract's stable code (or one of the kiosk's own:
    unavailable, contract_violation, integrity); `status` the HTTP status when there was one."""

    code = "error"
    status_expected: int | None = None      # the HTTP status the contract pairs with `code`
    extra_int: str | None = None            # the integer field the contract adds to its body

    def __init__(self, code: str | None = None, detail: str = "", status: int | None = None) -> None:
        self.code = code or type(self).code
        self.detail = detail
        self.status = status
        super().__init__(f"{self.code}: {detail}" if detail else self.code)

    @classmethod
    def from_reply(cls, detail: str, status: int, extra: Mapping[str, Any]) -> DinasError:
        """Build from a contract error body (its `extra_int` field already checked); the
        field becomes the keyword argument of the same name."""
        fields = {cls.extra_int: extra[cls.extra_int]} if cls.extra_int else {}
        return cls(cls.code, detail, status, **fields)


class _WithRetryAfter(DinasError):
    extra_int = "retry_after"

    def __init__(self, code: str | None = None, detail: str = "", status: int | None = None,
                 retry_after: int = 0) -> None:
        super().__init__(code, detail, status)
        self.retry_after = retry_after        # seconds until trying again makes sense


class InvalidRequest(DinasError):
    code, status_expected = "invalid_request", 400


class Unauthorized(DinasError):
    code, status_expected = "unauthorized", 401


class Forbidden(DinasError):
    code, status_expected = "forbidden", 403


class NotFound(DinasError):
    code, status_expected = "not_found", 404


class InvalidCredentials(DinasError):
    """Wrong PIN (or NIK/request number): `attempts_left` before the lock."""

    code, status_expected = "invalid_credentials", 401
    extra_int = "attempts_left"

    def __init__(self, code: str | None = None, detail: str = "", status: int | None = None,
                 attempts_left: int = 0) -> None:
        super().__init__(code, detail, status)
        self.attempts_left = attempts_left


class Locked(_WithRetryAfter):
    code, status_expected = "locked", 423


class PinBlocked(DinasError):
    """Locked three times over: only the dinas can re-issue the PIN (no retry_after)."""

    code, status_expected = "pin_blocked", 423


class PinExpired(DinasError):
    code, status_expected = "pin_expired", 410


class PinUsed(DinasError):
    code, status_expected = "pin_used", 410


class SessionExpired(DinasError):
    code, status_expected = "session_expired", 410


class AlreadyPrinted(DinasError):
    code, status_expected = "already_printed", 409


class ReservedElsewhere(DinasError):
    code, status_expected = "reserved_elsewhere", 409


class InvalidTransition(DinasError):
    code, status_expected = "invalid_transition", 409


class RateLimited(_WithRetryAfter):
    code, status_expected = "rate_limited", 429


class PayloadTooLarge(DinasError):
    code, status_expected = "payload_too_large", 413


class ServerError(DinasError):
    code, status_expected = "internal", 500


class DinasUnavailable(DinasError):
    """No usable answer: network down, refused, reset, timed out, or 5xx after the retries."""

    code = "unavailable"


class DinasTlsFailed(DinasUnavailable):
    """The dinas's certificate did not verify (wrong CA, expired, another name)."""


class ContractError(DinasError):
    """The dinas answered, but not what the contract says (bad JSON, missing or mistyped
    fields, unknown error code, unexpected status)."""

    code = "contract_violation"


class DocumentIntegrityError(DinasError):
    """A downloaded document's size or sha256 is not what the session announced."""

    code = "integrity"


ERRORS_BY_CODE: Mapping[str, type[DinasError]] = {
    cls.code: cls for cls in (
        InvalidRequest, Unauthorized, Forbidden, NotFound, InvalidCredentials, Locked, PinBlocked,
        PinExpired, PinUsed, SessionExpired, AlreadyPrinted, ReservedElsewhere,
        InvalidTransition, RateLimited, PayloadTooLarge, ServerError,
    )
}

# The extra integer field each code must carry (checked before `from_reply` reads it).
EXTRA_INT_FIELDS: Mapping[str, str] = {
    code: cls.extra_int for code, cls in ERRORS_BY_CODE.items() if cls.extra_int
}
