"""Runs benchmark modules: `python -m benchmarks [bench_name ...]` (all of them when none given).

Each module is `benchmarks/bench_*.py` with a `main() -> int`; it is run with no arguments of
its own, so it uses its defaults.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = [name.removeprefix("benchmarks.").removesuffix(".py") for name in argv] or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    worst = 0
    for name in names:
        print(f"=== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        saved, sys.argv = sys.argv, [f"benchmarks.{name}"]
        try:
            worst = max(worst, int(module.main() or 0))
        finally:
            sys.argv = saved
        print(flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
