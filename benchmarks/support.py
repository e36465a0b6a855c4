"""What several benchmarks share. Imports nothing from dinas/, so a bench that measures the
kiosk process (memory) does not load the server's libraries into it."""

from __future__ import annotations

from pathlib import Path


def write_kiosk_config(directory: Path, url: str, kiosk: dict, *, card_options: str = "",
                       printed_out: bool = True) -> Path:
    """A kiosk.toml with every printer simulated; `card_options` adds to the card printer's
    sim: URL (e.g. "cards=100000&ribbon_prints=100000" for long runs). `printed_out`: the
    simulators write what they print into `directory` (cards as PNGs, A4 pages as PDFs); the
    throughput bench turns it off, as writing a card's PNGs takes the simulator 0.4-0.8 s."""
    (directory / "token").write_text(kiosk["token"])
    options = [o for o in (card_options, f"out={directory / 'cards'}" if printed_out else "") if o]
    card_url = f"sim:card_printer{'?' + '&'.join(options) if options else ''}"
    a4_url = f"sim:a4_printer?out={directory / 'a4'}" if printed_out else "sim:a4_printer"
    path = directory / "kiosk.toml"
    path.write_text(f'[kiosk]\nid = "{kiosk["kiosk_id"]}"\nstate_dir = "{directory / "state"}"\n\n'
                    f'[dinas]\nurl = "{url}"\ntoken_file = "{directory / "token"}"\n\n'
                    f'[devices.card_printer]\nurl = "{card_url}"\n\n'
                    f'[devices.a4_printer]\nurl = "{a4_url}"\n\n'
                    '[devices.receipt_printer]\nurl = "sim:receipt_printer"\n')
    return path


def recorded_pin(db_path: str | Path, request_no: str) -> str:
    """The PIN of an application, from the reference server's recorded WhatsApp outbox (the
    admin reply does not carry it; only the notifier gets it)."""
    import re

    from dinas.db import Database
    from dinas.notifier import RecordingNotifier
    from dinas.vault import Vault, load_or_create_secret, secret_path

    database = Database(str(db_path), pool_size=1)
    try:
        messages = RecordingNotifier(database, Vault(load_or_create_secret(secret_path(db_path),
                                                                          may_create=False))).messages(20)
    finally:
        database.dispose()
    text = [m.text for m in messages if m.request_no == request_no][-1]
    return re.search(r"PIN: \*([0-9]{6})\*", text).group(1)


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants still alive
    (Linux /proc): a server's master and its workers, or PostgreSQL's postmaster and backends.
    A descendant that exited in between takes its time with it: sample around a steady run."""
    import os

    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu.get(pid, 0.0) for pid in tree)
