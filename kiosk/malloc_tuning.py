"""The C allocator's thresholds for the kiosk process (glibc's malloc), fixed once at start.

A session allocates a few large, short-lived buffers on several threads: the downloaded PDFs,
pdfium's bitmaps, a card's rasters and panel streams (up to about 8 MB each). glibc serves a
request above its mmap threshold with its own mapping and unmaps it on free. But the threshold
is dynamic: each time such a buffer is freed it rises to that buffer's size (up to 32 MB) and
the trim threshold to twice that. From then on the buffers come from the arenas' heaps (one
per thread that allocated, up to 8 per core), where the small blocks allocated between them
keep the freed space from going back: bench_memory measured 1.1 MB more resident memory a
session, with no end in sight after 100 sessions (docs/PERFORMANCE.md, "Memory").

Fixed thresholds turn the dynamic raise off: every buffer over MMAP_THRESHOLD is mapped and
unmapped, and a heap's free top beyond TRIM_THRESHOLD is given back. The cost is a mapping and
its page faults per large buffer, which measured no slower (the soak throughput figure). We
set it in code rather than in the unit's environment (MALLOC_MMAP_THRESHOLD_) so the demo, the
headless command, the benchmarks and the soak run with what the kiosk runs with; an operator's
MALLOC_* variable still wins. Capping the arenas (MALLOC_ARENA_MAX=2) also flattened the growth
but makes the device workers and the imaging threads contend for two locks; it is left alone.

What stays is free space inside the arenas' heaps, a few MB that settle in the first hundred
sessions. `give_back_free_memory` (glibc's malloc_trim) returns its whole pages to the system:
the runtime calls it when a session ends (back on the attract screen) and the housekeeping
every 30 s while the kiosk is idle (kiosk/app.py), when no citizen waits on the few
milliseconds it takes.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1          # glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024    # anything this large is a document, a raster or a bitmap
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD   # glibc's own ratio
OPERATOR_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _glibc_function(name: str):
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def fix_malloc_thresholds() -> bool:
    """True when both thresholds are fixed; False when the C library has no glibc `mallopt`
    or the operator set the thresholds in the environment. Safe to call more than once."""
    if any(name in os.environ for name in OPERATOR_VARIABLES):
        return False
    mallopt = _glibc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not done:
        log.warning("the C allocator's thresholds could not be fixed; memory may grow with sessions")
    return done


def give_back_free_memory() -> None:
    """Return the arenas' free pages to the system (no-op without glibc's malloc_trim)."""
    trim = _glibc_function("malloc_trim")
    if trim is not None:
        trim.argtypes = (ctypes.c_size_t,)
        trim(0)
