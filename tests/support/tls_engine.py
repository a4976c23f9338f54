"""A real Docker Engine that listens with ``--tlsverify``, and certificates for it.

The test makes its own certificate authority, a server certificate for
127.0.0.1 and client certificates (good, expired, from another CA) with
``cryptography``, then starts a second ``dockerd`` in the host's network
namespace (own data, exec root and socket; no bridge, no iptables, so it
touches nothing of the main engine) listening on a loopback TCP port with
``--tlsverify``. Everything lives in one temporary folder, removed by
:func:`stop_tls_engine`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.queue_harness import free_port
from tests.support.wait import wait_for


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str) -> Issued:
    """A self-signed certificate authority."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def issue(ca: Issued, common: str, *, server: bool, expired: bool = False) -> Issued:
    """A leaf certificate signed by ``ca``: for 127.0.0.1 (server) or a client."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    start, end = (
        (now - dt.timedelta(days=10), now - dt.timedelta(days=1))
        if expired
        else (now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    )
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def write_pem(folder: Path, ca: Issued, leaf: Issued | None) -> Path:
    """``folder`` with ``ca.pem`` (and ``cert.pem``/``key.pem`` when a leaf is
    given): the layout DOCKER_CERT_PATH and SPARKSWARM_CERT_PATH expect."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    if leaf is not None:
        (folder / "cert.pem").write_bytes(leaf.cert.public_bytes(serialization.Encoding.PEM))
        key = folder / "key.pem"
        key.write_bytes(
            leaf.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        key.chmod(0o600)
    return folder


@dataclass
class TlsEngine:
    """A running TLS-verifying dockerd and the certificates around it."""

    root: Path
    port: int
    ca: Issued
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]


def start_tls_engine(root: Path) -> TlsEngine:
    """Start dockerd on 127.0.0.1:<free port> with ``--tlsverify`` (and its own
    unix socket in ``root`` for nothing else to use); wait until it listens."""
    ca = make_ca("sparkswarm test CA")
    server = write_pem(root / "server", ca, issue(ca, "127.0.0.1", server=True))
    port = free_port()
    log = (root / "dockerd.log").open("wb")
    command = ["dockerd", "--data-root", str(root / "data"), "--exec-root", str(root / "exec")]
    command += ["--pidfile", str(root / "dockerd.pid"), "-H", f"unix://{root / 'docker.sock'}"]
    command += ["-H", f"tcp://127.0.0.1:{port}", "--tlsverify"]
    command += ["--tlscacert", str(server / "ca.pem"), "--tlscert", str(server / "cert.pem")]
    command += ["--tlskey", str(server / "key.pem")]
    command += ["--bridge=none", "--iptables=false", "--ip-masq=false"]
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    engine = TlsEngine(root=root, port=port, ca=ca, process=process)
    try:
        wait_for(
            lambda: "API listen on 127.0.0.1" in engine.log_tail() or process.poll() is not None,
            60,
            "the TLS engine to listen",
        )
    except AssertionError:
        stop_tls_engine(engine)
        raise
    if process.poll() is not None:
        tail = engine.log_tail()
        stop_tls_engine(engine)
        raise RuntimeError(f"the TLS dockerd exited:\n{tail}")
    return engine


def stop_tls_engine(engine: TlsEngine) -> None:
    """Stop the engine (and its containerd) and remove its folder."""
    if engine.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.process.pid, signal.SIGTERM)
        try:
            engine.process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(engine.process.pid, signal.SIGKILL)
            engine.process.wait(10)
    # dockerd leaves its overlay mounts under data/ only while it runs; a
    # stopped engine's folder is plain files.
    subprocess.run(["umount", "-R", str(engine.root / "exec")], capture_output=True, check=False)
    shutil.rmtree(engine.root, ignore_errors=True)
