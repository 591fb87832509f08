"""The daemon's TLS certificate: self-signed at first start, or the administrator's.

Why self-signed like pcsd: nodes authenticate each other with tokens obtained
with the hacluster password; TLS protects those tokens and passwords on the
wire.  An administrator who wants a real certificate drops ``tandemd-api.crt``
and ``tandemd-api.key`` into the state directory (or passes ``--cert/--key``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tandem.util.files import write_private_file


def generate_self_signed(cert_path: Path, key_path: Path, hostname: str | None = None) -> None:
    """Write a 10-year self-signed EC P-256 certificate and its key (key 0600)."""
    hostname = hostname or socket.gethostname()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]
    alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    write_private_file(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    write_private_file(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ensure_certificate(cert_path: Path, key_path: Path) -> bool:
    """Create the certificate when either file is missing; True when created."""
    if cert_path.exists() and key_path.exists():
        return False
    generate_self_signed(cert_path, key_path)
    return True


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx


def client_context() -> ssl.SSLContext:
    """See :func:`tandem.api.client.client_context` (kept here for callers of this module)."""
    from tandem.api.client import client_context as ctx

    return ctx()
