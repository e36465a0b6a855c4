"""`adm-kiosk run`: bad arguments and a bad configuration are clear errors, before any window."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def adm_kiosk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_an_unknown_window_size_is_refused():
    result = adm_kiosk("run", "--windowed", "--size", "800x600")
    assert result.returncode == 2
    assert "expected one of 1080x1920, 1280x800, got '800x600'" in result.stderr


def test_a_missing_or_broken_config_is_a_clear_error(tmp_path):
    result = adm_kiosk("--config", str(tmp_path / "nope.toml"), "run")
    assert result.returncode == 2 and "no such configuration file" in result.stderr
    broken = tmp_path / "kiosk.toml"
    broken.write_text("[kiosk]\nid = 3\n")
    result = adm_kiosk("--config", str(broken), "run", "--windowed")
    assert result.returncode == 2 and "kiosk.toml" in result.stderr


def test_the_kiosk_core_never_imports_kivy():
    probe = "import kiosk.cli, kiosk.commands.run, sys; kiosk.cli.build_parser(); print('kivy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
