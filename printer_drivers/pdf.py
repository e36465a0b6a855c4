"""Opening a document with pdfium, once for every driver and the kiosk's previews.

pdfium is not thread-safe, and the kiosk renders on more than one thread (previews and
card rendering on the session's I/O thread, test prints and tools on others), so every use
holds one lock for as long as the document is open. A document that cannot be opened, or
has no pages or more than the medium takes, raises `DocumentUnprintable` (or the caller's
own subclass, through `error`) with a detail that is safe to log.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import pypdfium2

from .base import TOO_MANY_PAGES, UNREADABLE, DocumentUnprintable

_PDFIUM = threading.RLock()

ErrorFactory = Callable[[str, str], Exception]   # (reason, detail) -> the exception to raise


@contextmanager
def open_pdf(document: bytes, *, max_pages: int | None = None, what: str = "the document",
             error: ErrorFactory = DocumentUnprintable) -> Iterator[pypdfium2.PdfDocument]:
    """The open document, under the pdfium lock; render its pages inside the `with`."""
    if not document.startswith(b"%PDF-"):
        raise error(UNREADABLE, "not a readable PDF: not a PDF at all (no %PDF- header)")
    with _PDFIUM:
        try:
            pdf = pypdfium2.PdfDocument(document)
        except pypdfium2.PdfiumError as exc:
            raise error(UNREADABLE, f"not a readable PDF (corrupt PDF: {exc})") from None
        try:
            pages = len(pdf)
            if pages == 0:
                raise error(UNREADABLE, f"{what} is a PDF with no pages")
            if max_pages is not None and pages > max_pages:
                raise error(TOO_MANY_PAGES, f"{what} has 1 to {max_pages} pages, this one has {pages}")
            yield pdf
        finally:
            pdf.close()
