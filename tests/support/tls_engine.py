"""A real Docker Engine that listens with ``--tlsverify``, and certificates for it.

The test makes its own certificate authority, a server certificate for the
engine's address and client certificates (good, expired, from another CA)
with ``cryptography``, then starts a second ``dockerd`` in a network
namespace of its own on the lab bridge (an extra node's namespace and test
address, as tests/support/multinode.py makes them) listening with
``--tlsverify``. :func:`stop_tls_engine` removes all of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.multinode import BACKEND, ExtraNode, new_node
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
    """A leaf certificate signed by ``ca``: for the address ``common`` (server) or a client."""
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
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(common))]),
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
    """A running TLS-verifying dockerd in its own namespace, and its CA."""

    node: ExtraNode
    port: int
    ca: Issued
    process: subprocess.Popen[bytes]

    @property
    def root(self) -> Path:
        return self.node.root

    @property
    def url(self) -> str:
        return f"tcp://{self.node.address}:{self.port}"

    def log_tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]


def start_tls_engine(prefix: str) -> TlsEngine:
    """Start dockerd with ``--tlsverify`` on ``<address>:2376`` in a network
    namespace of its own on the lab bridge (an extra node's address and
    namespace, made by the product's lab backend); wait until it listens.

    Its own namespace matters: a second dockerd in the host's namespace
    shares (and, started without a bridge, deletes) the main engine's docker0.
    """
    node = new_node(prefix, 1)
    BACKEND.create(node.record)
    try:
        return _start(node)
    except BaseException:
        node.destroy()
        raise


def _start(node: ExtraNode) -> TlsEngine:
    ca = make_ca("sparkswarm test CA")
    server = write_pem(node.root / "server", ca, issue(ca, node.address, server=True))
    port = 2376
    root = node.root
    command = ["nsenter", f"--net=/var/run/netns/{node.netns}", "dockerd"]
    command += ["--data-root", str(root / "data"), "--exec-root", str(root / "exec")]
    command += ["--pidfile", str(root / "dockerd.pid"), "-H", f"unix://{root / 'docker.sock'}"]
    command += ["-H", f"tcp://{node.address}:{port}", "--tlsverify"]
    command += ["--tlscacert", str(server / "ca.pem"), "--tlscert", str(server / "cert.pem")]
    command += ["--tlskey", str(server / "key.pem")]
    command += ["--containerd-namespace", node.netns]
    command += ["--containerd-plugins-namespace", f"{node.netns}p"]
    with (root / "dockerd.log").open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    engine = TlsEngine(node=node, port=port, ca=ca, process=process)
    listening = f"API listen on {node.address}:{port}"
    wait_for(
        lambda: listening in engine.log_tail() or process.poll() is not None,
        60,
        "the TLS engine to listen",
    )
    if process.poll() is not None:
        raise RuntimeError(f"the TLS dockerd exited:\n{engine.log_tail()}")
    return engine


def stop_tls_engine(engine: TlsEngine) -> list[str]:
    """Stop the engine and remove its namespace, address claim and folder;
    what went wrong (never raises)."""
    problems = engine.node.destroy()
    with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
        engine.process.wait(10)
    shutil.rmtree(engine.root, ignore_errors=True)
    return problems
