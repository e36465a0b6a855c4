"""The contract's errors: every failure leaves the server as `{"error", "detail", ...}`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


def invalid_request(detail: str) -> ApiError:
    return ApiError(400, "invalid_request", detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, "not_found", detail)


def session_expired() -> ApiError:
    return ApiError(410, "session_expired", "the session has ended or expired; start again with NIK and PIN")
