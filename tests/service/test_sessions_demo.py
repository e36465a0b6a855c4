"""`make demo`'s headless run: the reference server as a subprocess, the demo seed, a derived
kiosk.toml and a whole session per demo citizen."""

import re
import socket
import subprocess
import sys

from kiosk.config import load_config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_headless_once(tmp_path):
    out = tmp_path / "demo-output"
    proc = subprocess.run([sys.executable, "-m", "kiosk.demo", "--output", str(out), "--port", str(free_port()),
                           "--headless-once"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("NIK ") == 5 and "events still waiting for the dinas: 0" in proc.stdout
    assert all(f"{kind} printed" in proc.stdout for kind in ("KK", "KIA", "AKTA_LAHIR", "AKTA_MATI", "SKPWNI"))
    assert "unavailable" not in proc.stdout
    cfg = load_config(out / "kiosk.toml")
    assert cfg.kiosk.id == "ADM-BDG-01" and cfg.settings.announcement.startswith("Demo")
    assert list((out / "printed" / "a4_printer").glob("*.pdf"))
    assert list((out / "printed" / "card_printer").glob("*.png"))
    # nothing personal in the kiosk's state: no NIK
    secrets = re.findall(r"NIK (\d{16})  PIN (\d{6})", proc.stdout)
    assert len(secrets) == 5
    state = b"".join(p.read_bytes() for p in (out / "state").iterdir() if p.is_file())
    assert not any(nik.encode() in state for nik, _ in secrets)
