"""Managers over TLS (``tcp://...`` with ``SPARKSWARM_TLS_VERIFY`` and
``SPARKSWARM_CERT_PATH``) against a real dockerd listening with ``--tlsverify``.

The engine and every certificate are made by the test (tests/support/tls_engine.py):
a verified connection works; a wrong CA, a client without a certificate and
an expired client certificate are each refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkswarm.errors import SparkswarmError
from sparkswarm.gateway import Gateway
from tests.conftest import unavailable
from tests.support.cli import sparkswarm
from tests.support.tls_engine import (
    TlsEngine,
    issue,
    make_ca,
    start_tls_engine,
    stop_tls_engine,
    write_pem,
)

# Its engine lives in a network namespace on the lab bridge, as extra nodes do.
pytestmark = [pytest.mark.integration, pytest.mark.multinode]


@pytest.fixture(scope="module")
def tls_engine(gw: object) -> Iterator[TlsEngine]:
    from tests.conftest import SESSION_ID
    from tests.support.multinode import why_unavailable

    reason = why_unavailable()
    if reason:
        unavailable(reason)
    engine = start_tls_engine(f"{SESSION_ID}tls")
    try:
        yield engine
    finally:
        problems = stop_tls_engine(engine)
        assert not problems, problems


def _gateway(engine: TlsEngine, certs: Path) -> Gateway:
    return Gateway([engine.url], tls_verify=True, cert_path=str(certs), timeout=15)


def _refusal(engine: TlsEngine, certs: Path) -> str:
    gateway = _gateway(engine, certs)
    try:
        with pytest.raises(SparkswarmError) as caught:
            gateway.info()
    finally:
        gateway.close()
    return str(caught.value)


def test_a_verified_connection_reaches_the_engine(tls_engine: TlsEngine, tmp_path: Path) -> None:
    certs = write_pem(tmp_path / "good", tls_engine.ca, issue(tls_engine.ca, "me", server=False))
    gateway = _gateway(tls_engine, certs)
    try:
        info = gateway.info()
    finally:
        gateway.close()
    assert info["ServerVersion"], info
    # The data root proves it is the TLS engine, not the main one.
    assert info["DockerRootDir"] == str(tls_engine.root / "data")


def test_the_cli_reaches_a_tls_manager_from_the_settings(
    tls_engine: TlsEngine, tmp_path: Path
) -> None:
    certs = write_pem(tmp_path / "good", tls_engine.ca, issue(tls_engine.ca, "me", server=False))
    env = {
        "SPARKSWARM_MANAGERS": tls_engine.url,
        "SPARKSWARM_TLS_VERIFY": "true",
        "SPARKSWARM_CERT_PATH": str(certs),
    }
    done = sparkswarm("node", "ls", env=env)
    # That engine is no swarm manager: the answer says so, which it can only
    # know after a verified TLS handshake and an answered request.
    assert done.returncode != 0
    assert "swarm" in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
    assert "certificate" not in (done.stdout + done.stderr).lower()


def test_a_server_signed_by_another_ca_is_refused(tls_engine: TlsEngine, tmp_path: Path) -> None:
    other = make_ca("another CA")
    certs = write_pem(tmp_path / "wrong-ca", other, issue(other, "me", server=False))
    message = _refusal(tls_engine, certs)
    assert "the manager's certificate is not trusted by ca.pem" in message, message
    assert "unable to get local issuer certificate" in message, message
    assert tls_engine.url in message, message


def test_a_client_without_a_certificate_is_refused(tls_engine: TlsEngine, tmp_path: Path) -> None:
    certs = write_pem(tmp_path / "no-cert", tls_engine.ca, None)
    message = _refusal(tls_engine, certs)
    assert tls_engine.url in message, message
    assert "client certificate is missing" in message, message


def test_an_expired_client_certificate_is_refused(tls_engine: TlsEngine, tmp_path: Path) -> None:
    expired = issue(tls_engine.ca, "me", server=False, expired=True)
    certs = write_pem(tmp_path / "expired", tls_engine.ca, expired)
    message = _refusal(tls_engine, certs)
    assert tls_engine.url in message, message
    assert "the manager refused our client certificate" in message, message
