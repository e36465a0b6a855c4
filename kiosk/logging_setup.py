"""Logging that cannot leak a NIK.

Every record passes through `MaskingFilter`, which masks any run of 16 or more digits
(first 6 and last 4 kept), whatever the message, its arguments, its exception or its extra
fields hold. Longer runs are masked too, since a NIK glued to another digit is still a NIK.
Code should still log `mask_nik(nik)` itself; the filter is the net under it.
"""

from __future__ import annotations

import logging
import re
import sys

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")
_LONG_DIGIT_RUN = re.compile(r"(?<!\d)(\d{6})(\d{6,})(\d{4})(?!\d)")
# What every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask_nik(text: str) -> str:
    """'3201014501900003' -> '320101******0003'; works on any text containing NIKs."""
    return _SIXTEEN_DIGITS.sub(r"\1******\2", text)


def mask_digit_runs(text: str) -> str:
    """Every run of 16 or more digits with only its first 6 and last 4 digits shown."""
    return _LONG_DIGIT_RUN.sub(lambda m: m[1] + "*" * len(m[2]) + m[3], text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_digit_runs(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_digit_runs(logging.Formatter().formatException(record.exc_info))
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, mask_digit_runs(value))
        return True


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted, not when the handler was
    made: a background thread logging after stderr was swapped (a test's capture, a daemon's
    redirection) must not write to a closed stream."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: int = logging.INFO, stream=None) -> None:
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
