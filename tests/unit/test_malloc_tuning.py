"""kiosk/malloc_tuning.py: with the thresholds fixed, a large buffer freed gives its memory back
to the system, even after a larger one raised glibc's dynamic threshold; free space left
between small blocks is given back by the housekeeping's chore. Each case runs in a fresh
interpreter, so the allocator starts as a kiosk process's does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.malloc_tuning import fix_malloc_thresholds, give_back_free_memory

ROOT = Path(__file__).resolve().parents[2]
# A session's pattern: the largest buffer so far (a raster) raises glibc's threshold when it is
# freed; the next large one (a PDF, a bitmap) then comes from the heap. Resident memory after
# both are freed, against before the first, is what stays.
PROGRAM = """
import json, sys
from pathlib import Path
def rss_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024
fixed = None
if sys.argv[1] == "fixed":
    from kiosk.malloc_tuning import fix_malloc_thresholds, give_back_free_memory
    fixed = fix_malloc_thresholds()
before = rss_mb()
largest = bytearray(b"\\x01") * (24 << 20)
del largest
buffer = bytearray(b"\\x02") * (16 << 20)
del buffer
print(json.dumps({"fixed": fixed, "kept_mb": rss_mb() - before}))
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                           reason="the kiosk's Debian runs glibc; the thresholds are glibc's")


def kept_after_free(mode: str, **env: str) -> dict:
    run = subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@glibc
def test_a_freed_large_buffer_goes_back_with_the_thresholds_fixed():
    result = kept_after_free("fixed")
    assert result["fixed"] is True
    assert result["kept_mb"] < 2, result


@glibc
def test_without_them_glibc_keeps_it_which_is_what_the_sessions_grew_by():
    # The reason for the module: if a new glibc stopped doing this, the tuning could go.
    assert kept_after_free("plain")["kept_mb"] > 12


@glibc
def test_an_operators_malloc_variable_wins():
    assert kept_after_free("fixed", MALLOC_MMAP_THRESHOLD_="33554432")["fixed"] is False
    assert fix_malloc_thresholds() is True      # in this process too; idempotent


SCATTERED = """
import json
from pathlib import Path
from kiosk.malloc_tuning import fix_malloc_thresholds, give_back_free_memory
def rss_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024
fix_malloc_thresholds()
before = rss_mb()
blocks = [bytearray(2048) for _ in range(20_000)]         # 40 MB of small blocks on the heap
kept = blocks[::50]                                       # one in fifty stays, the last one too
kept.append(blocks[-1])
del blocks
freed = rss_mb() - before
give_back_free_memory()
print(json.dumps({"freed_but_held_mb": freed, "after_mb": rss_mb() - before}))
"""


@glibc
def test_free_space_between_kept_blocks_is_given_back():
    run = subprocess.run([sys.executable, "-c", SCATTERED], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["freed_but_held_mb"] > 30, result        # what the chore is for
    assert result["after_mb"] < 8, result


def test_the_housekeeping_gives_memory_back_between_sessions(tmp_path, monkeypatch):
    import kiosk.app
    from kiosk.config import load_config
    from tests.fixtures.kiosk import write_kiosk_config

    class Server:                                          # write_kiosk_config needs a url and a kiosk
        url = "http://127.0.0.1:9/api/v1"
        kiosks = [{"kiosk_id": "K-TEST", "token": "t" * 32}]
    given_back = []
    monkeypatch.setattr(kiosk.app, "give_back_free_memory", lambda: given_back.append(True))
    runtime = kiosk.app.KioskRuntime.from_config(load_config(write_kiosk_config(Server(), tmp_path)))
    try:
        runtime.housekeeping.run_once()
        assert given_back == [True]
    finally:
        runtime.stop()
