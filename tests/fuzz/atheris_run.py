"""Coverage-guided fuzzing of the byte and text parsers with atheris (libFuzzer), for `make fuzz`.

    python -m tests.fuzz.atheris_run [SECONDS] [TARGET ...]     # every target, 60 s each

Each target takes one input in the format of its kept corpus (tests/fuzz/corpus/<target>/),
which seeds it; libFuzzer writes the inputs it finds interesting into a temporary folder, not
into the repository, and a crash (an exception no caller is documented to handle) into
artifacts/fuzz/<target>/crash-*. Keep a crash as a corpus file once the bug is fixed
(docs/FUZZING.md). Each target runs in its own process: atheris.Fuzz() does not return.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "artifacts" / "fuzz"


def ipp(data: bytes) -> None:
    from devices.ipp import IppError, decode
    try:
        decode(data)
    except IppError:
        pass


def evolis_stream(data: bytes) -> None:
    from devices.sim.evolis_decode import StreamError, decode_stream
    try:
        decode_stream(data)
    except StreamError:
        pass


def escpos_status(data: bytes) -> None:
    from devices.status import DeviceError
    from devices.unreadable import UnreadableAnswers
    from printer_drivers.receipt import decode_status, status_byte
    replies = []
    for line in (data.split(b"\n") + [b"12"] * 4)[:4]:         # the corpus's format: hex, one a line
        try:
            replies.append(bytes.fromhex(line.decode("ascii")))
        except ValueError:
            replies.append(line)
    if not all(replies):
        return                                                  # no answer: the driver's DeviceTimeout
    unreadable = UnreadableAnswers(logging.getLogger("fuzz"), "receipt_printer")
    try:
        status = decode_status(*(status_byte(n, reply, unreadable) for n, reply in enumerate(replies, 1)))
    except DeviceError:
        return
    assert not (status.usable and status.alarms)


def scanner_serial(data: bytes) -> None:
    from devices.scanner import ScanEvent, ScanFraming, ScanRejected, _decode, parse_scan
    framing = ScanFraming(64)
    codes = framing.push(data) + [framing.take_partial()]
    for code in codes:
        assert b"\r" not in code and b"\n" not in code and len(code) <= 65
        try:
            parse_scan(ScanEvent(_decode(code), "fuzz"))
        except ScanRejected:
            pass


def scanner_qr(data: bytes) -> None:
    from devices.scanner import ScanRejected, parse_whatsapp_qr
    try:
        parse_whatsapp_qr(data.decode("utf-8", "replace"))
    except ScanRejected:
        pass


def nik(data: bytes) -> None:
    from kiosk.nik import InvalidNik, check_nik
    try:
        info = check_nik(data.decode("utf-8", "replace"))
    except InvalidNik:
        return
    assert len(info.nik) == 16 and info.nik.isascii() and info.nik.isdigit()


def dinas_replies(data: bytes) -> None:
    from kiosk.dinas_client import parse_session
    from kiosk.dinas_errors import ContractError
    try:
        body = json.loads(data.partition(b"\n")[2])
    except (ValueError, RecursionError):
        return                      # the client's _parse_json refuses these (tests/service)
    try:
        parse_session("fuzz", body)
    except ContractError:
        pass


def settings(data: bytes) -> None:
    from kiosk.config_schema import ConfigError
    from kiosk.settings import Settings
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not isinstance(value, dict):
        return
    try:
        result = Settings.from_mapping(value)
    except ConfigError as error:
        assert all("\n" not in line for line in error.problems)
        return
    assert Settings.from_mapping(result.as_dict()) == result


def config_envelopes(data: bytes) -> None:
    from kiosk.remote_config.envelope import Refusal
    try:
        envelope = json.loads(data)
    except (ValueError, RecursionError):
        return
    try:
        _verify(envelope)
    except Refusal:
        return
    raise AssertionError("an envelope not signed by the trusted key was verified")


def config_payloads(data: bytes) -> None:
    from kiosk.remote_config.envelope import Refusal
    try:
        _verify(_sign(data))
    except Refusal as refusal:
        assert refusal.reason not in ("signature", "payload_type")


_KEY = None


def _sign(body: bytes) -> dict:
    from tests.fixtures.config_envelopes import spec_sign
    return spec_sign(body, [_trusted()[0]])


def _trusted():
    global _KEY
    if _KEY is None:
        import base64
        from kiosk.config import TrustedKey
        from tests.fixtures.config_envelopes import TestKey
        key = TestKey.new("fuzz")
        _KEY = key, (TrustedKey("fuzz", base64.b64decode(key.public_b64)),)
    return _KEY


def _verify(envelope):
    from datetime import datetime, timezone
    from kiosk.remote_config.verify import verify
    return verify(envelope, trusted_keys=_trusted()[1], kiosk_id="ADM-1", group="g", floor=None,
                  now=datetime(2026, 12, 2, tzinfo=timezone.utc))


TARGETS = {f.__name__: f for f in (ipp, evolis_stream, escpos_status, scanner_serial, scanner_qr, nik, dinas_replies,
                                   settings, config_envelopes, config_payloads)}


def fuzz_one(target: str, libfuzzer_args: list[str]) -> None:
    """In the child process: instrument the product's modules and fuzz `target`."""
    import atheris
    with atheris.instrument_imports(include=["devices", "kiosk", "printer_drivers"]):
        import devices.ipp, devices.scanner, devices.sim.evolis_decode, kiosk.dinas_client  # noqa: E401,F401
        import kiosk.nik, kiosk.remote_config.verify, kiosk.settings, printer_drivers.receipt  # noqa: E401,F401
    function = TARGETS[target]
    atheris.Setup([sys.argv[0], *libfuzzer_args], lambda data: function(data))
    atheris.Fuzz()


def main(argv: list[str]) -> int:
    seconds = int(argv[0]) if argv and argv[0].isdigit() else 60
    chosen = [a for a in argv if not a.isdigit()] or list(TARGETS)
    failed = []
    for target in chosen:
        kept = HERE / "corpus" / target
        artifacts = ARTIFACTS / target
        artifacts.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"adm-fuzz-{target}-") as found:
            args = [found, str(kept), f"-max_total_time={seconds}", f"-artifact_prefix={artifacts}/",
                    "-max_len=100000", "-rss_limit_mb=1024", "-timeout=10", "-print_final_stats=1"]
            print(f"atheris: {target} for {seconds} s (kept corpus {kept.relative_to(REPO)})", flush=True)
            code = subprocess.run([sys.executable, "-m", "tests.fuzz.atheris_run", "--child", target, *args],
                                  cwd=REPO).returncode
        if code != 0:
            failed.append(target)
    if failed:
        print(f"atheris: crashes in {', '.join(failed)}; see {ARTIFACTS.relative_to(REPO)}/<target>/", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        fuzz_one(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(main(sys.argv[1:]))
