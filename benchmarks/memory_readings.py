"""What a process's memory is made of, read cheaply enough to take between sessions: the
figures bench_memory and the soak print as a series, to tell real growth from a cache
filling up to its bound.

    reading = read_memory()      # after a full gc.collect() and malloc_trim
    reading.row()                # one line of figures; `HEADER` names the columns

- resident memory from /proc/self/smaps_rollup: Rss, Pss (this process's share of pages it
  shares, the figure that adds up across processes), Anonymous (heap, arenas, stacks);
- glibc's malloc (mallinfo2, every arena summed): bytes in use and free bytes kept inside
  the arenas' heaps (`fordblks`), mapped chunks (`hblkhd`);
- SQLite's own allocator (sqlite3_status64 MEMORY_USED: the page caches, schemas and
  statements of every connection in the process) and the open database files (fds);
- threads (the kernel's count, which includes threads Python never started) and open fds;
- Python's objects: tracemalloc's traced total when it is on, and gc's tracked objects.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import dataclasses
import gc
import os
import threading
import tracemalloc
from pathlib import Path

from kiosk.malloc_tuning import give_back_free_memory

SQLITE_STATUS_MEMORY_USED = 0      # sqlite3.h


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _function(library: str | None, name: str):
    try:
        return getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None


_mallinfo2 = _function(None, "mallinfo2")
if _mallinfo2 is not None:
    _mallinfo2.restype = _Mallinfo2
# The library Python's sqlite3 module is linked to (dlopen hands back the one already loaded).
_sqlite_status = _function(ctypes.util.find_library("sqlite3"), "sqlite3_status64")
if _sqlite_status is not None:
    _sqlite_status.argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64),
                               ctypes.c_int)


def sqlite_memory_kb() -> tuple[int, int]:
    """(in use, highest) bytes of SQLite's allocator in this process, in kB; (-1, -1) unknown."""
    if _sqlite_status is None:
        return -1, -1
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    _sqlite_status(SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), 0)
    return current.value // 1024, highest.value // 1024


def smaps_rollup_kb() -> dict[str, int]:
    figures = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        figures[name] = int(value.split()[0])
    return figures


def open_files() -> tuple[int, int]:
    """(open fds, of which SQLite database files, their -wal and -shm files included)."""
    fds = databases = 0
    for entry in os.scandir("/proc/self/fd"):
        fds += 1
        try:
            target = os.readlink(entry.path)
        except OSError:
            continue
        databases += target.rsplit("-", 1)[0].endswith((".db", ".sqlite", ".sqlite3"))
    return fds, databases


def kernel_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


@dataclasses.dataclass(frozen=True)
class MemoryReading:
    rss_kb: int
    pss_kb: int
    anonymous_kb: int
    malloc_used_kb: int        # mallinfo2 uordblks + hblkhd: what the program holds
    malloc_free_kb: int        # fordblks: freed, kept inside the arenas
    sqlite_kb: int
    db_files: int
    fds: int
    threads: int               # the kernel's
    python_threads: int
    gc_objects: int
    traced_kb: int             # tracemalloc's current total; -1 when it is off

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    def row(self, label: str = "") -> str:
        return (f"{label:>8} {self.rss_kb / 1024:8.1f} {self.pss_kb / 1024:8.1f} {self.anonymous_kb / 1024:8.1f} "
                f"{self.malloc_used_kb / 1024:8.2f} {self.malloc_free_kb / 1024:8.2f} {self.sqlite_kb / 1024:7.2f} "
                f"{self.db_files:4d} {self.fds:4d} {self.threads:4d} {self.python_threads:4d} "
                f"{self.gc_objects:8d} {self.traced_kb / 1024 if self.traced_kb >= 0 else float('nan'):8.2f}")


HEADER = (f"{'session':>8} {'RSS':>8} {'PSS':>8} {'anon':>8} {'m.used':>8} {'m.free':>8} {'sqlite':>7} "
          f"{'dbf':>4} {'fds':>4} {'thr':>4} {'pyth':>4} {'gc objs':>8} {'traced':>8}   (MB unless a count)")


def read_memory() -> MemoryReading:
    """Every figure after a full collection (what a cycle holds is not growth) and a trim of
    the allocator's free pages: the state an idle kiosk is in, whose housekeeping trims every
    30 s (kiosk/malloc_tuning.py). Without the trim a reading lands anywhere in the ±0.5 MB
    the arenas' free space wanders by from one session to the next."""
    gc.collect()
    give_back_free_memory()
    smaps = smaps_rollup_kb()
    info = _mallinfo2() if _mallinfo2 is not None else _Mallinfo2()
    fds, db_files = open_files()
    return MemoryReading(
        rss_kb=smaps.get("Rss", 0), pss_kb=smaps.get("Pss", 0), anonymous_kb=smaps.get("Anonymous", 0),
        malloc_used_kb=(info.uordblks + info.hblkhd) // 1024, malloc_free_kb=info.fordblks // 1024,
        sqlite_kb=sqlite_memory_kb()[0], db_files=db_files, fds=fds, threads=kernel_threads(),
        python_threads=threading.active_count(), gc_objects=len(gc.get_objects()),
        traced_kb=tracemalloc.get_traced_memory()[0] // 1024 if tracemalloc.is_tracing() else -1)


def objects_by_type() -> collections.Counter[str]:
    """gc-tracked objects by type name: a list that gains an entry a session shows here."""
    gc.collect()
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def type_growth(before: collections.Counter[str], after: collections.Counter[str], top: int) -> list[str]:
    grown = sorted(((after[name] - before[name], name) for name in after.keys() | before.keys()
                    if after[name] != before[name]), reverse=True)
    return [f"  {diff:+7d}  {name} ({after[name]})" for diff, name in grown[:top]]
