"""The pieces `make demo` is made of, reusable by the UI's demo: a fresh output folder, the
reference dinas server as a subprocess (`adm-dinas serve`), its demo seed, and a kiosk.toml
derived from config/kiosk.demo.toml with simulated devices writing into the output folder.

The demo's citizens are invented; printing their NIKs and PINs to the terminal is the point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from printer_drivers.registry import document_printer_roles

REPO = Path(__file__).resolve().parent.parent
DEMO_TEMPLATE = REPO / "config" / "kiosk.demo.toml"
DEFAULT_PORT = 8765


def stop_process(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Ends a child process: SIGTERM, `grace_s` seconds to exit, then SIGKILL (5 s to reap)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "dinas.db"

    @property
    def token(self) -> Path:
        return self.root / "kiosk-token"

    @property
    def config(self) -> Path:
        return self.root / "kiosk.toml"

    @property
    def printed(self) -> Path:
        return self.root / "printed"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def server_log(self) -> Path:
        return self.root / "dinas-server.log"


def fresh_output(root: str | Path) -> DemoPaths:
    """Empty the demo's own output folder: each demo starts from a new database."""
    paths = DemoPaths(Path(root).resolve())
    if paths.root.exists():
        shutil.rmtree(paths.root)
    paths.printed.mkdir(parents=True)
    return paths


def _adm_dinas(*args: str) -> list[str]:
    return [sys.executable, "-m", "dinas.cli", *args]


def seed(paths: DemoPaths) -> dict[str, Any]:
    """`adm-dinas seed-demo --json`: the admin token, kiosks (with tokens) and citizens (with PINs)."""
    proc = subprocess.run(_adm_dinas("seed-demo", "--db", str(paths.db), "--json"), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"adm-dinas seed-demo failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


class DinasProcess:
    """`adm-dinas serve` on loopback, stopped on `stop()` or when leaving a `with` block."""

    def __init__(self, paths: DemoPaths, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        self.url = f"http://{host}:{port}/api/v1"
        self._log = paths.server_log.open("ab")
        self._proc = subprocess.Popen(_adm_dinas("serve", "--db", str(paths.db), "--host", host, "--port", str(port)),
                                      cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(paths)

    def _wait_ready(self, paths: DemoPaths, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"the dinas server exited at start (is port in use?); see {paths.server_log}")
            try:
                requests.get(f"{self.url}/openapi.yaml", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the dinas server did not answer within {timeout:.0f}s; see {paths.server_log}")

    def wait(self) -> int:
        return self._proc.wait()

    def stop(self) -> None:
        stop_process(self._proc)
        self._log.close()

    def __enter__(self) -> DinasProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_config(paths: DemoPaths, seed_data: dict[str, Any], dinas_url: str,
                 template: Path = DEMO_TEMPLATE) -> Path:
    """kiosk.toml for the first seeded kiosk: the template's settings, absolute paths into
    the output folder, and simulated printers writing there."""
    data = tomllib.loads(template.read_text(encoding="utf-8"))
    kiosk = seed_data["kiosks"][0]
    paths.token.write_text(kiosk["token"] + "\n", encoding="utf-8")
    os.chmod(paths.token, 0o600)
    data["kiosk"].update(id=kiosk["kiosk_id"], state_dir=str(paths.state))
    data["dinas"].update(url=dinas_url, token_file=str(paths.token))
    for role in document_printer_roles():
        if role in data.get("devices", {}):
            data["devices"][role]["url"] = f"sim:{role}?out={paths.printed / role}"
    paths.config.write_text("# Written by kiosk.demo from config/kiosk.demo.toml\n" + to_toml(data),
                            encoding="utf-8")
    return paths.config


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Enough TOML for a kiosk.toml: tables of strings, numbers, booleans and lists of them."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        name = f"{prefix}.{key}" if prefix else key
        body = to_toml(value, name)
        text += f"\n[{name}]\n{body}" if any(not isinstance(v, dict) for v in value.values()) else body
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def describe(seed_data: dict[str, Any], paths: DemoPaths, dinas_url: str) -> str:
    lines = [f"Reference dinas server: {dinas_url}", f"Kiosk configuration:    {paths.config}",
             f"Printed output:         {paths.printed}/ (a4_printer/*.pdf, card_printer/*.png)",
             f"Fleet (heartbeats):     adm-dinas fleet --db {paths.db}", "",
             "Demo citizens (fictional):"]
    for citizen in seed_data["citizens"]:
        kinds = ", ".join(d["kind"] for d in citizen["documents"])
        lines.append(f"  NIK {citizen['nik']}  PIN {citizen['pin']}  request {citizen['request_no']}  "
                     f"documents: {kinds}  ({citizen['name']})")
    return "\n".join(lines)
