"""kiosk/malloc_tuning.py: with the thresholds fixed, a large buffer freed gives its memory back
to the system, even after a larger one raised glibc's dynamic threshold. Each case runs in a
fresh interpreter, so the allocator starts as a kiosk process's does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.malloc_tuning import fix_malloc_thresholds

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
    from kiosk.malloc_tuning import fix_malloc_thresholds
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
