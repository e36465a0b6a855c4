"""kiosk.toml: the shipped configs load, and each bad case is one clear line naming the file,
the dotted key and what was expected."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kiosk.config import (
    DEFAULT_STATE_DIR, ConfigError, Settings, hash_technician_pin, load_config,
)
from printer_drivers import registry

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "config"

MINIMAL = """
[kiosk]
id = "K1"

[dinas]
url = "https://dinas.example.go.id/api/v1"
token_file = "token"
"""


def write(tmp_path: Path, text: str, token: str | None = "secret-token") -> Path:
    if token is not None:
        (tmp_path / "token").write_text(token)
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == "\n".join(error.value.problems)
    for line in error.value.problems:
        assert line.startswith(f"{path}: ") and "\n" not in line
    return error.value.problems


def test_the_example_config_loads(tmp_path: Path) -> None:
    shutil.copy(CONFIG_DIR / "kiosk.example.toml", tmp_path / "kiosk.toml")
    (tmp_path / "token").write_text("t")
    config = load_config(tmp_path / "kiosk.toml")
    assert config.dinas.token_file == tmp_path / "token"            # relative to the config's folder
    assert config.kiosk.state_dir == DEFAULT_STATE_DIR
    assert set(config.devices) == {"card_printer", "a4_printer", "receipt_printer", "scanner"}
    assert config.device("a4_printer").required and not config.device("card_printer").required
    assert config.dinas.trusted_config_keys[0].verifier() is not None
    assert not config.settings.is_open_at(datetime(2026, 11, 20, 12, 0))   # Friday prayers
    assert config.settings.is_open_at(datetime(2026, 11, 20, 13, 0))
    assert not config.settings.is_open_at(datetime(2026, 11, 22, 10, 0))  # Sunday closed


def test_the_demo_config_loads_with_paths_beside_it(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    shutil.copy(CONFIG_DIR / "kiosk.demo.toml", config_dir)
    (tmp_path / "demo-output").mkdir()
    (tmp_path / "demo-output" / "kiosk-token").write_text("demo-token\n")
    config = load_config(config_dir / "kiosk.demo.toml")
    assert config.dinas.url == "http://127.0.0.1:8765/api/v1"
    assert config.dinas.read_token() == "demo-token"
    assert config.kiosk.state_dir.resolve() == (tmp_path / "demo-output" / "state").resolve()
    assert {role: d.parsed.scheme for role, d in config.devices.items()} == dict.fromkeys(
        ("card_printer", "a4_printer", "receipt_printer", "scanner"), "sim")


def test_a_minimal_config_takes_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.devices == {} and config.settings == Settings()
    assert config.dinas.timeout_s.connect == 3.05 and config.kiosk.group is None
    assert config.settings.is_open_at(datetime(2026, 11, 22, 3, 0))     # always open by default
    assert "secret-token" not in repr(config)


def test_the_default_path_is_etc(tmp_path: Path) -> None:
    if Path("/etc/adm-kiosk/kiosk.toml").exists():
        pytest.skip("a real kiosk.toml is installed here")
    with pytest.raises(ConfigError, match=r"^/etc/adm-kiosk/kiosk.toml: no such configuration file"):
        load_config(None)


@pytest.mark.parametrize("text, key, expected", [
    pytest.param(MINIMAL + "\n[kiosk.extra]\n", "kiosk.extra", "unknown key", id="unknown-table"),
    pytest.param(MINIMAL.replace('id = "K1"', 'id = "K1"\nplcae = "x"'), "kiosk.plcae", "unknown key (did you mean 'place'?)",
                 id="unknown-key"),
    pytest.param(MINIMAL + "\n[settings]\nidle_timeout_s = \"90\"\n", "settings.idle_timeout_s",
                 "expected an integer, got '90'", id="wrong-type"),
    pytest.param(MINIMAL + "\n[settings]\nidle_timeout_s = 5\n", "settings.idle_timeout_s",
                 "from 60 to 600", id="out-of-range"),
    pytest.param(MINIMAL + "\n[settings]\nmaintenance_mode = 1\n", "settings.maintenance_mode",
                 "expected true or false, got 1", id="int-for-bool"),
    pytest.param(MINIMAL.replace('id = "K1"\n', ""), "kiosk.id", "required, expected a string",
                 id="missing-key"),
    pytest.param(MINIMAL.replace('url = "https://dinas.example.go.id/api/v1"\n', ""), "dinas.url",
                 "required", id="missing-url"),
    pytest.param(MINIMAL.split("[dinas]")[0], "dinas", "required, expected a table", id="missing-section"),
    pytest.param(MINIMAL + '\n[devices.card_printer]\nurl = "gopher://x"\n', "devices.card_printer.url",
                 "unsupported device URL scheme", id="bad-device-url"),
    pytest.param(MINIMAL + '\n[devices.card_printer]\nurl = "usb://zz:1"\n', "devices.card_printer.url",
                 "usb://VID:PID", id="bad-usb-url"),
    pytest.param(MINIMAL + '\n[devices.receipt_printer]\nurl = "sim:receipt_printer"\nrequired = true\n',
                 "devices.receipt_printer.required", "unknown key", id="receipt-cannot-be-required"),
    pytest.param(MINIMAL + '\n[devices.fax]\nurl = "sim:fax"\n', "devices.fax", "unknown key",
                 id="unknown-device"),
    pytest.param(MINIMAL + '\n[settings.opening_hours]\nmon = "8-16"\n', "settings.opening_hours.mon",
                 "expected 'HH:MM-HH:MM'", id="bad-hours"),
    pytest.param(MINIMAL + '\n[settings.opening_hours]\nmon = "16:00-08:00"\n', "settings.opening_hours.mon",
                 "ends before it starts", id="reversed-hours"),
    pytest.param(MINIMAL + '\n[settings.opening_hours]\nmon = "08:00-12:00, 11:00-13:00"\n',
                 "settings.opening_hours.mon", "overlap", id="overlapping-hours"),
    pytest.param(MINIMAL + '\n[settings.opening_hours]\nmon = "08:00-25:00"\n', "settings.opening_hours.mon",
                 "not a time of day", id="hour-25"),
    pytest.param(MINIMAL + '\n[settings.opening_hours]\nmonday = "08:00-16:00"\n',
                 "settings.opening_hours.monday", "unknown key", id="bad-weekday"),
    pytest.param(MINIMAL.replace("https://dinas.example.go.id", "http://dinas.example.go.id"), "dinas.url",
                 "plain http is allowed only to a loopback host", id="http-remote"),
    pytest.param(MINIMAL.replace("https://dinas.example.go.id/api/v1", "dinas.example.go.id"), "dinas.url",
                 "expected an https:// URL", id="no-scheme"),
    pytest.param(MINIMAL + '\n[settings]\nenabled_kinds = ["KK", "SIM"]\n', "settings.enabled_kinds",
                 f"expected a list of {', '.join(map(repr, registry.kind_codes()))}, got 'SIM'", id="unknown-kind"),
    pytest.param(MINIMAL + '\n[settings]\nlanguage = "jv"\n', "settings.language", "one of 'id', 'en'",
                 id="unknown-language"),
    pytest.param(MINIMAL + '\n[settings]\ntimezone = "Mars/Olympus"\n', "settings.timezone",
                 "IANA time zone", id="bad-timezone"),
    pytest.param(MINIMAL + '\n[settings]\ntechnician_pin_hash = "135792"\n', "settings.technician_pin_hash",
                 "never a clear PIN", id="clear-pin"),
    pytest.param(MINIMAL + '\n[settings]\ntechnician_pin_hash = 246810\n', "settings.technician_pin_hash",
                 "expected a string, got a value of type int (not shown)", id="clear-pin-as-number"),
    pytest.param(MINIMAL + '\n[settings]\nhelp_url = "javascript:alert(1)"\n', "settings.help_url",
                 "http(s)://", id="bad-help-url"),
    pytest.param(MINIMAL + '\n[[dinas.trusted_config_keys]]\nkeyid = "k"\npublic_key = "bm90IGEga2V5"\n',
                 "dinas.trusted_config_keys[0].public_key", "Ed25519", id="bad-public-key"),
    pytest.param(MINIMAL + '\n[dinas.timeout_s]\nconnect = "3"\n', "dinas.timeout_s.connect",
                 "expected a number", id="timeout-type"),
    pytest.param(MINIMAL.replace('id = "K1"', 'id = "K 1/../x"'), "kiosk.id", "letters, digits",
                 id="bad-kiosk-id"),
])
def test_each_bad_case_is_one_line_naming_file_and_key(tmp_path: Path, text: str, key: str, expected: str) -> None:
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 1, problems
    assert "246810" not in problems[0] and "135792" not in problems[0]       # a clear PIN is never echoed
    assert problems[0].startswith(f"{tmp_path / 'kiosk.toml'}: {key}: ")
    assert expected in problems[0]


def test_a_missing_token_file_is_named(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, MINIMAL, token=None))
    assert problems == [f"{tmp_path / 'kiosk.toml'}: dinas.token_file: expected a path to an existing token "
                        f"file, {str(tmp_path / 'token')!r} does not exist"]


def test_an_empty_or_unreadable_token_file_is_refused(tmp_path: Path) -> None:
    assert "is empty" in problems_of(write(tmp_path, MINIMAL, token="  \n"))[0]
    if os.geteuid() != 0:          # root reads anything: the mode bits cannot be tested as root
        (tmp_path / "token").write_text("x")
        (tmp_path / "token").chmod(0)
        assert "cannot be read" in problems_of(tmp_path / "kiosk.toml")[0]


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, MINIMAL + 'ca_file = "ca.pem"\n'))
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path / 'kiosk.toml'}: dinas.ca_file: ")


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, MINIMAL + "\n[settings]\nannouncement = \"unclosed\n"))
    assert len(problems) == 1 and "not valid TOML" in problems[0] and "line 10" in problems[0]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.toml") == [
        f"{tmp_path / 'nope.toml'}: no such configuration file (use --config to point at another)"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("https://", "http://") + '\n[settings]\nidle_timeout_s = 1\ncolour = "red"\n'
    keys = [line.split(": ")[1] for line in problems_of(write(tmp_path, text, token=None))]
    assert keys == ["dinas.url", "dinas.token_file", "settings.idle_timeout_s", "settings.colour"]


def test_loopback_http_is_allowed(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:8765/api/v1", "http://localhost/api/v1", "http://[::1]:80/api/v1"):
        assert load_config(write(tmp_path, MINIMAL.replace("https://dinas.example.go.id/api/v1", url))).dinas.url == url


# --- settings: the gate and the technician PIN -----------------------------------------------

def test_opening_hours_follow_the_kiosk_timezone() -> None:
    settings = Settings.from_mapping({"timezone": "Asia/Jayapura", "opening_hours": {"mon": "08:00-16:00"}})
    assert settings.is_open_at(datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc))      # Mon 08:30 WIT
    assert not settings.is_open_at(datetime(2026, 11, 22, 22, 30, tzinfo=timezone.utc))  # Mon 07:30 WIT
    assert not settings.is_open_at(datetime(2026, 11, 23, 7, 30, tzinfo=timezone.utc))   # Mon 16:30 WIT
    assert settings.is_open_at(datetime(2026, 11, 23, 9, 30))          # naive: the kiosk's wall time
    assert not settings.is_open_at(datetime(2026, 11, 23, 7, 30))


def test_opening_hours_edges() -> None:
    settings = Settings.from_mapping({"opening_hours": {"tue": "08:00-16:00", "wed": "00:00-24:00"}})
    tuesday = datetime(2026, 11, 24)
    assert not settings.is_open_at(tuesday.replace(hour=7, minute=59))
    assert settings.is_open_at(tuesday.replace(hour=8, minute=0))
    assert settings.is_open_at(tuesday.replace(hour=15, minute=59))
    assert not settings.is_open_at(tuesday.replace(hour=16, minute=0))
    assert settings.is_open_at(datetime(2026, 11, 25, 23, 59))
    assert not settings.is_open_at(datetime(2026, 11, 23, 12, 0))            # Monday not listed: closed


def test_the_gate_says_why() -> None:
    noon_monday = datetime(2026, 11, 23, 12, 0)
    assert Settings().refusal("KIA", noon_monday) is None
    assert Settings.from_mapping({"enabled_kinds": ["KK"]}).refusal("KIA", noon_monday) == "kind_disabled"
    assert Settings.from_mapping({"maintenance_mode": True}).refusal("KK", noon_monday) == "maintenance"
    assert Settings.from_mapping({"opening_hours": {}}).refusal("KK", noon_monday) == "closed"


def test_pushed_settings_validate_the_same_way() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_mapping({"idle_timeout_s": 9000, "volume": 3}, source="config v7")
    assert error.value.problems == [
        "config v7: settings.idle_timeout_s: expected a value from 60 to 600, got 9000",
        "config v7: settings.volume: unknown key"]
    original = Settings.from_mapping({"enabled_kinds": ["KK"], "opening_hours": {"mon": "08:00-12:00, 13:00-16:00"}})
    assert Settings.from_mapping(original.as_dict()) == original


def test_the_technician_pin_is_stored_only_as_a_salted_hash() -> None:
    first, second = hash_technician_pin("246810"), hash_technician_pin("246810")
    assert first != second and "246810" not in first
    settings = Settings.from_mapping({"technician_pin_hash": first})
    assert settings.check_technician_pin("246810")
    assert not settings.check_technician_pin("246811")
    assert not Settings().check_technician_pin("246810")
    assert first not in repr(settings)
    with pytest.raises(ValueError):
        hash_technician_pin("12")


_GOOD_SALT_AND_HASH = "c2FsdHNhbHRzYWx0c2FsdA==$" + "A" * 43 + "="


@pytest.mark.parametrize("pin_hash", [
    pytest.param("scrypt$4194304$1$1$" + _GOOD_SALT_AND_HASH, id="needs-512-MiB"),
    pytest.param("scrypt$1048576$8$1$" + _GOOD_SALT_AND_HASH, id="needs-1-GiB"),
    pytest.param("scrypt$16384$8$1$AAAA$A", id="hash-not-whole-base64"),
    pytest.param("scrypt$16384$8$1$A=AA$" + "A" * 44, id="salt-padding-inside"),
    pytest.param("scrypt$16384$8$1$$" + "A" * 44, id="no-salt"),
    pytest.param("scrypt$16384$8$1$AAAA$" + "A" * 44, id="salt-of-3-bytes"),
    pytest.param("scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$AAAA", id="hash-of-3-bytes"),
    pytest.param("scrypt$١٦٣٨٤$8$1$" + _GOOD_SALT_AND_HASH, id="other-digits"),
])
def test_a_pin_hash_that_could_not_be_checked_is_refused_up_front(pin_hash: str) -> None:
    # Found by tests/fuzz/test_fuzz_settings.py: these validated, then the technician's first
    # PIN raised ValueError (scrypt's memory cap) or binascii.Error instead of saying no.
    with pytest.raises(ConfigError, match="technician_pin_hash"):
        Settings.from_mapping({"technician_pin_hash": pin_hash})
    assert not Settings(technician_pin_hash=pin_hash).check_technician_pin("246810")


def test_a_pin_hash_with_costlier_parameters_than_ours_still_checks() -> None:
    # 48 MiB of scrypt memory: above hashlib's default cap, within what the validator allows.
    import base64
    import hashlib
    salt = b"salt-of-16-bytes"
    digest = hashlib.scrypt(b"246810", salt=salt, n=2 ** 15, r=12, p=1, dklen=32, maxmem=64 * 2 ** 20)
    costlier = f"scrypt$32768$12$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    settings = Settings.from_mapping({"technician_pin_hash": costlier})
    assert settings.check_technician_pin("246810") and not settings.check_technician_pin("246811")


def test_hash_pin_prints_a_line_for_kiosk_toml(monkeypatch, capsys) -> None:
    from kiosk.config import _print_pin_hash
    answers = iter(["246810", "246810"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.argv", ["kiosk.config", "hash-pin"])
    assert _print_pin_hash() == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith('technician_pin_hash = "scrypt$') and "246810" not in line
    pin_hash = line.split('"')[1]
    assert Settings.from_mapping({"technician_pin_hash": pin_hash}).check_technician_pin("246810")

    answers = iter(["246810", "246811"])
    assert _print_pin_hash() == 1 and "differ" in capsys.readouterr().err
