"""E-mail over TLS: `smtps://` and `smtp://` with STARTTLS, signing in with the user and password from the
environment, against a real aiosmtpd server on loopback with a certificate made for the test."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.serve_process import free_port
from timebok.backend.channels import Failed, Outgoing, SmtpChannel


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A certificate for 127.0.0.1 that the channel trusts through SSL_CERT_FILE (as an operator's own CA would be)."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    monkeypatch.setenv("TIMEBOK_SMTP_USER", "timebok")
    monkeypatch.setenv("TIMEBOK_SMTP_PASSWORD", "hemmelig")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server


class Keeper:
    def __init__(self) -> None:
        self.mails: list[tuple[str | None, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.mails.append((session.auth_data, envelope.content))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == b"timebok" and auth_data.password == b"hemmelig"
    return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


MESSAGE = Outgoing("reminder:1:email:kari", "kari.nordmann@innbygger.example", "Påminnelse om time", "Du har time.")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # it is TLS: see below
def test_smtps_signs_in_with_the_users_from_the_environment(certificate):
    keeper, port = Keeper(), free_port()
    # auth_require_tls off: aiosmtpd counts only STARTTLS as TLS, though here the whole connection is.
    controller = Controller(
        keeper,
        hostname="127.0.0.1",
        port=port,
        ssl_context=certificate,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        channel = SmtpChannel(f"smtps://127.0.0.1:{port}")
        channel.send(MESSAGE)
        channel.close()
    finally:
        controller.stop()
    assert [login for login, _ in keeper.mails] == [b"timebok"]


def test_starttls_switches_to_tls_before_signing_in_and_plain_smtp_is_refused(certificate):
    keeper, port = Keeper(), free_port()
    controller = Controller(
        keeper,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificate,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        channel = SmtpChannel(f"smtp://127.0.0.1:{port}", starttls=True)
        channel.send(MESSAGE)
        channel.close()
        plain = SmtpChannel(f"smtp://127.0.0.1:{port}")  # without --smtp-starttls: the server wants TLS first
        with pytest.raises(Failed):
            plain.send(MESSAGE)
        plain.close()
    finally:
        controller.stop()
    assert [login for login, _ in keeper.mails] == [b"timebok"]
