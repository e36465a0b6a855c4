"""TLS to the dinas is always verified: against `ca_file` when it is set, the system's CAs
otherwise. A server whose certificate does not chain to them gets no request at all."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.dinas_client import DinasClient
from kiosk.dinas_errors import DinasUnavailable
from tests.fixtures.hostile_server import HostileServer, json_reply

HEARTBEAT = "/api/v1/kiosk/heartbeat"


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A CA-less self-signed certificate for 127.0.0.1; returns (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path):
    cert, key = self_signed(tmp_path, "dinas")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HostileServer(tls=context)
    server.on("POST", HEARTBEAT, json_reply(200, {"server_time": "2026-11-22T10:00:00Z"}))
    try:
        yield server, cert
    finally:
        server.close()


def test_the_configured_ca_is_trusted(tls_server) -> None:
    server, cert = tls_server
    assert server.url.startswith("https://")
    client = DinasClient(server.url, "t", ca_file=str(cert), read_timeout=2)
    assert client.heartbeat({"kiosk_id": "K1"}) == {"server_time": "2026-11-22T10:00:00Z"}
    assert server.hits("POST", HEARTBEAT) == 1


def test_an_untrusted_certificate_is_refused(tls_server, tmp_path: Path) -> None:
    server, _ = tls_server
    other_ca, _ = self_signed(tmp_path, "someone-else")
    for client in (DinasClient(server.url, "t", read_timeout=2, retries=0),
                   DinasClient(server.url, "t", ca_file=str(other_ca), read_timeout=2, retries=0)):
        with pytest.raises(DinasUnavailable, match="TLS"):
            client.heartbeat({"kiosk_id": "K1"})
    assert server.hits("POST", HEARTBEAT) == 0
