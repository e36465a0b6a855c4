"""`make mutate`: mutmut over the critical modules, one module at a time.

    python -m tests.mutation                  # every target of tests/mutation/targets.py, in order
    python -m tests.mutation nik dinas-jobs   # some of them
    python -m tests.mutation --list

mutmut reads its settings from the folder it runs in, and one folder holds one set of tests.
So each target runs in its own folder, build/mutation/<target>/: links to the sources, and a
pyproject.toml that is the project's own with [tool.mutmut] narrowed to that module and its
tests. The folder is made anew on every run, because mutmut keeps files it copied before and
would test yesterday's code. Everything runs under `nice -n 19` with one worker unless
MUTATE_CHILDREN says more (the machine is shared).

Per target it writes summary.json (the counts and the score) and survivors.txt (the diff of
every mutant no test killed), and at the end prints one Markdown row per target for
docs/MUTATION.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import fnmatch
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from kiosk.demo_support import to_toml

from .targets import BY_NAME, TARGETS, Target

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "mutation"
LINKED = ("kiosk", "devices", "printer_drivers", "dinas", "ui", "tests", "config", "benchmarks")
# mutmut's verdicts (mutmut.stats): a timeout means the tests noticed, too, and so does a test
# process killed outright ("segfault": the journal's crash hook SIGKILLs at a mutated point).
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
NOT_RUN = {"skipped", "not checked"}


def project_settings() -> tuple[str, dict[str, Any]]:
    """The project's pyproject.toml without its [tool.mutmut] table, and that table."""
    text = (ROOT / "pyproject.toml").read_text()
    base = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    without = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    return without, base


def prepare(target: Target, resume: bool = False) -> Path:
    folder = WORK / target.name
    if resume and (folder / "mutants").exists():
        return folder          # mutmut goes on where it stopped (same sources: do not edit them meanwhile)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    text, base = project_settings()
    settings = dict(base)
    settings["only_mutate"] = list(target.files)
    settings["pytest_add_cli_args"] = list(base.get("pytest_add_cli_args", [])) + list(target.pytest_args)
    settings["pytest_add_cli_args_test_selection"] = list(target.tests)
    (folder / "pyproject.toml").write_text(f"{text.rstrip()}\n{to_toml({'tool': {'mutmut': settings}})}")
    return folder


def _nice(command: list[str]) -> list[str]:
    return ["nice", "-n", "19", *command]


def results(folder: Path, target: Target) -> dict[str, str]:
    """mutant name -> mutmut's verdict, for the target's files and globs."""
    from mutmut.stats import status_by_exit_code
    verdicts = {}
    for path in target.files:
        meta = json.loads((folder / "mutants" / f"{path}.meta").read_text())
        for name, code in meta["exit_code_by_key"].items():
            if not target.mutants or any(fnmatch.fnmatchcase(name, glob) for glob in target.mutants):
                verdicts[name] = status_by_exit_code[code]
    return verdicts


# Upper case in the original, as the project writes its SQL: English words ("from") do not count.
SQL_WORD = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|FROM|JOIN|SET|CASE|WHEN|ORDER BY|GROUP BY|COALESCE|LIMIT|AND|OR|"
                      r"CREATE|PRAGMA|ON CONFLICT|BEGIN|COMMIT|ROLLBACK)\b")
SQL_LITERAL = re.compile(r"'[^']*'")


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    lines = diff.splitlines()
    removed = [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def sql_case_only(diff: str) -> bool:
    """The mutant only changed the letter case of SQL text: SQL keywords and unquoted names
    are case-insensitive on SQLite and PostgreSQL, so the statement is the same. Its quoted
    values ('printed', 'KK') must be untouched, and no quoted name may be in it."""
    removed, added = changed_lines(diff)
    before, after = "\n".join(removed), "\n".join(added)
    return (bool(removed) and before != after and before.lower() == after.lower()
            and bool(SQL_WORD.search(before)) and '\\"' not in before
            and SQL_LITERAL.findall(before) == SQL_LITERAL.findall(after))


def summarise(target: Target, verdicts: dict[str, str], seconds: float, finished: dt.datetime) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for verdict in verdicts.values():
        counts[verdict] = counts.get(verdict, 0) + 1
    detected = sum(n for verdict, n in counts.items() if verdict in DETECTED)
    checked = sum(n for verdict, n in counts.items() if verdict not in NOT_RUN)
    return {
        "target": target.name, "files": list(target.files), "tests": list(target.tests),
        "mutants": len(verdicts), "counts": counts,
        "score": round(100 * detected / checked, 1) if checked else None,
        "survivors": sorted(name for name, verdict in verdicts.items() if verdict not in DETECTED | NOT_RUN),
        "seconds": round(seconds), "date": finished.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()})",
    }


MUTMUT = str(Path(sys.executable).with_name("mutmut"))


def run(target: Target, children: int, resume: bool = False) -> dict[str, Any]:
    folder = prepare(target, resume)
    started = dt.datetime.now()
    print(f"== {target.name}: {', '.join(target.files)} against {', '.join(target.tests)}", flush=True)
    with open(folder / "mutmut.log", "a" if resume else "w") as log:
        done = subprocess.run(_nice([MUTMUT, "run", "--max-children", str(children), *target.mutants]),
                              cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = (folder / "mutmut.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"mutmut failed on {target.name} (exit {done.returncode}):\n{tail}")
    return report(target, (dt.datetime.now() - started).total_seconds())


def report(target: Target, seconds: float | None = None) -> dict[str, Any]:
    """Score and survivors of the last run in the target's folder (`--report` alone re-reads it)."""
    folder = WORK / target.name
    if seconds is None:
        seconds = json.loads((folder / "summary.json").read_text())["seconds"] if (folder / "summary.json").exists() \
            else 0
    mutmut = MUTMUT
    finished = dt.datetime.fromtimestamp((folder / "mutmut.log").stat().st_mtime, dt.timezone.utc)
    summary = summarise(target, results(folder, target), seconds, finished)
    sql_case = []
    with open(folder / "survivors.txt", "w") as out:
        for name in summary["survivors"]:
            shown = subprocess.run(_nice([mutmut, "show", name]), cwd=folder, capture_output=True, text=True)
            if sql_case_only(shown.stdout):
                sql_case.append(name)
            out.write(shown.stdout + shown.stderr + "\n")
    # Reported apart: equivalent by the rule in sql_case_only, so not a gap in the tests.
    summary["sql_case_equivalent"] = sql_case
    summary["survivors"] = [name for name in summary["survivors"] if name not in sql_case]
    checked = summary["mutants"] - summary["counts"].get("skipped", 0) - summary["counts"].get("not checked", 0)
    detected = sum(n for verdict, n in summary["counts"].items() if verdict in DETECTED)
    summary["score_without_sql_case"] = (round(100 * detected / (checked - len(sql_case)), 1)
                                         if checked > len(sql_case) else None)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def row(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    others = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())
                       if verdict not in ("killed", "survived"))
    return (f"| {summary['target']} | {summary['mutants']} | {counts.get('killed', 0)} | "
            f"{counts.get('survived', 0)} | {len(summary['sql_case_equivalent'])} | {others or '-'} | "
            f"{summary['score']}% | {summary['score_without_sql_case']}% | {summary['seconds']} s |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all, in order)")
    parser.add_argument("--list", action="store_true", help="list the targets and their tests")
    parser.add_argument("--children", type=int, default=int(os.environ.get("MUTATE_CHILDREN", "1")))
    parser.add_argument("--report", action="store_true", help="summarise the last run again, without running")
    parser.add_argument("--resume", action="store_true", help="go on with a run that was stopped")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="mutate only these mutant-name globs (repeatable), e.g. the functions a "
                             "stopped run never reached: 'kiosk.journal.xǁJournalǁprune__mutmut_*'")
    options = parser.parse_args(argv)
    if options.list:
        for target in TARGETS:
            print(f"{target.name:16} {' '.join(target.files)}  <-  {' '.join(target.tests)}")
        return 0
    unknown = [name for name in options.targets if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; --list shows them")
    chosen = [BY_NAME[name] for name in options.targets] or list(TARGETS)
    if options.only:
        chosen = [dataclasses.replace(target, mutants=tuple(options.only)) for target in chosen]
    summaries = [report(target) if options.report else run(target, options.children, options.resume)
                 for target in chosen]
    print("\n| target | mutants | killed | survived | of them SQL case | other | score | score without SQL case | time |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for summary in summaries:
        print(row(summary))
    for summary in summaries:
        if summary["survivors"]:
            print(f"\n{summary['target']}: {len(summary['survivors'])} survivor(s) to review, diffs in "
                  f"{(WORK / summary['target'] / 'survivors.txt').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
