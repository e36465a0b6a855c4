"""Runs benchmark modules: `python -m benchmarks [bench_name ...]` (all of them when none given).

Each module is `benchmarks/bench_*.py` with a `main() -> int`; it is run with no arguments of
its own, so it uses its defaults. A bench returns non-zero when a figure is over its budget;
one that stops with an error counts as failed too. The others still run, and the exit code is
the worst of them, so a run over budget never passes silently.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = [name.removeprefix("benchmarks.").removesuffix(".py") for name in argv] or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    failed: dict[str, int] = {}
    for name in names:
        print(f"=== {name}", flush=True)
        code = run_one(name)
        if code:
            failed[name] = code
        print(flush=True)
    if failed:
        print("over budget or failed: " + ", ".join(f"{name} (exit {code})" for name, code in failed.items()),
              file=sys.stderr)
    return max(failed.values(), default=0)


def run_one(name: str) -> int:
    """The bench's exit code: its main()'s return, or 1 when it stopped with an error."""
    saved, sys.argv = sys.argv, [f"benchmarks.{name}"]
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        return exit_code(module.main())
    except SystemExit as stop:
        if stop.code not in (None, 0) and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
        return exit_code(stop.code)
    except Exception:       # one broken bench must not hide the others' figures
        traceback.print_exc()
        return 1
    finally:
        sys.argv = saved


def exit_code(result: object) -> int:
    """What sys.exit would make of `result`: None and 0 succeed, an int is itself, else 1."""
    if result is None:
        return 0
    return result if isinstance(result, int) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
