"""Logging that cannot leak a NIK.

Every record passes through `MaskingFilter`, which replaces any run of 16 digits with its
masked form (first 6 and last 4 kept), whatever the message or its arguments hold. Code
should still log `mask_nik(nik)` itself; the filter is the net under it.
"""

from __future__ import annotations

import logging
import re
import sys

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def mask_nik(text: str) -> str:
    """'3201014501900003' -> '320101******0003'; works on any text containing NIKs."""
    return _SIXTEEN_DIGITS.sub(r"\1******\2", text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_nik(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_nik(logging.Formatter().formatException(record.exc_info))
        return True


def configure_logging(level: int = logging.INFO, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
