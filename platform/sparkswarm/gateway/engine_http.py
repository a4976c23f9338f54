"""The Engine API over the standard library's ``http.client``: the gateway's fast transport.

A command of ours makes a handful of small JSON requests: docker-py (with
requests and urllib3 under it) would load far more than that needs, so the
stdlib's ``http.client`` carries them on the engine's Unix socket (or a
plain ``tcp://`` port; ``bench/engine_imports.py`` prints the cost). The
stdlib parses HTTP; what is ours is the connection
(:class:`UnixHTTPConnection`) and the policy on top: one keep-alive
connection, an idle connection the engine closed is replaced before use, a
read (GET) that meets a connection dropped under it is sent once more, the
API version the engine announces on ``/_ping``, JSON in and out, and every
failure in the error tree of :mod:`sparkswarm.errors`.

TLS and ``ssh://`` endpoints, and images (save/load/build), keep using
docker-py: :func:`speaks_plain_http` says which endpoints a :class:`Wire`
can serve.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
from collections.abc import Iterator, Mapping
from typing import Any, TypedDict, Unpack
from urllib.parse import quote, urlencode, urlsplit

from sparkswarm.errors import InvalidRequest, Unavailable
from sparkswarm.gateway.engine_errors import classify

# Failures of a reused keep-alive connection the engine closed in between
# (RemoteDisconnected is a ConnectionResetError): safe to send an idempotent
# request once more on a new connection.
_STALE = (BrokenPipeError, ConnectionResetError)
# What can go wrong on the wire: the socket's errors and answers that are not HTTP.
_WIRE_ERRORS = (OSError, http.client.HTTPException)


def speaks_plain_http(endpoint: str) -> bool:
    """Whether ``endpoint`` is a Unix socket or a plain (not TLS) TCP address."""
    return endpoint.startswith(("unix://", "tcp://", "http://"))


def engine_path(template: str, *parts: str) -> str:
    """``template`` with each ``{}`` replaced by ``part``, percent-encoded whole.

    Every character that could change the path's shape is encoded: ``/``,
    ``?``, ``#``, and ``.`` / ``..`` as a whole segment (the engine's router
    would otherwise resolve ``../info`` to another endpoint). The engine
    decodes the segment back, so image references keep their slashes.

    Raises InvalidRequest for an empty part (it would name the collection).
    """
    encoded = []
    for part in parts:
        if not part:
            raise InvalidRequest(f"an empty name cannot be looked up in {template.format('…')}")
        text = quote(part, safe="")
        encoded.append(text.replace(".", "%2E") if part in (".", "..") else text)
    return template.format(*encoded)


def filters_param(filters: Mapping[str, str | list[str]] | None) -> dict[str, str]:
    """The Engine's ``filters`` query parameter: JSON of name -> list of values."""
    if not filters:
        return {}
    as_lists = {
        name: [value] if isinstance(value, str) else list(value) for name, value in filters.items()
    }
    return {"filters": json.dumps(as_lists)}


class RequestParts(TypedDict, total=False):
    """What a JSON request to the Engine carries besides its method and path:
    query ``params`` (None values left out), a JSON ``body`` (None values left
    out: the Engine's Go decoder refuses null for strings) and extra ``headers``."""

    params: Mapping[str, Any] | None
    body: Mapping[str, Any] | None
    headers: Mapping[str, str] | None


def encoded_request(
    api_version: str | None, path: str, parts: RequestParts
) -> tuple[str, bytes | None, dict[str, str]]:
    """The request line's target (``/v<version><path>?<query>``), the JSON body
    and the headers of one request."""
    query = query_string(parts.get("params"))
    target = f"/v{api_version}{path}" + (f"?{query}" if query else "")
    data, headers = json_body(parts.get("body"), parts.get("headers"))
    return target, data, headers


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client``'s connection, on a Unix socket (``Host: localhost``, as the docker CLI)."""

    def __init__(self, socket_path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        """Open the Unix socket; OSError (refused, missing, timeout) if it cannot."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the other side.

    Idle, it has nothing to read: readable means EOF (or junk), and a
    request sent on it could be lost without an answer.
    """
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Wire:
    """JSON requests to one engine over one keep-alive HTTP connection.

    Raises :class:`~sparkswarm.errors.Unavailable` when the engine cannot be
    reached or stops answering, and the class :func:`classify` gives for an
    answer that is not a success (``NotFound``, ``Conflict``, ``Refused`` for
    a redirect, which is never followed, ...).
    """

    def __init__(self, endpoint: str, *, timeout: float) -> None:
        if not speaks_plain_http(endpoint):
            raise ValueError(f"not a plain HTTP endpoint: {endpoint}")
        self.endpoint = endpoint
        self.timeout = timeout
        self.api_version: str | None = None
        self._connection: http.client.HTTPConnection | None = None
        self._used = False

    def ping(self) -> str:
        """Check that the engine answers; the API version it speaks (used from now on)."""
        status, headers, payload = self._exchange("ping", "GET", "/_ping", None, {})
        if status != 200:
            raise Unavailable(f"ping: the engine answered {status}: {_message(payload)}")
        self.api_version = headers.get("api-version")
        return self.api_version or ""

    def request(self, what: str, method: str, path: str, **parts: Unpack[RequestParts]) -> Any:
        """Send one request to the versioned ``path``; the decoded JSON answer or None.

        ``what`` names the request in errors ("list services: ...").
        """
        target, data, sent_headers = self._prepared(path, parts)
        status, _, payload = self._exchange(what, method, target, data, sent_headers)
        if status >= 300:
            raise classify(status, _message(payload) or f"{what}: the engine answered {status}")
        if not payload:
            return None
        try:
            return json.loads(payload)
        except ValueError as exc:
            raise Unavailable(f"{what}: the engine's answer is not JSON: {exc}") from exc

    def stream(
        self,
        what: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | None,
    ) -> Iterator[bytes]:
        """The raw answer of one request, in chunks as they arrive (logs, exec output).

        On a connection of its own, so that other requests can go on
        meanwhile, with a read ``timeout`` of its own (None: wait for ever, for
        a followed log that may be quiet for long); it is closed when the
        iterator ends or is closed.
        """
        target, data, headers = self._prepared(path, {"params": params, "body": body})
        connection = self._new_connection(timeout)
        try:
            try:
                connection.request(method, target, body=data, headers=headers)
                response = connection.getresponse()
                if response.status >= 300:
                    text = _message(response.read())
                    raise classify(response.status, text or f"{what}: answered {response.status}")
                while chunk := response.read1(65536):
                    yield chunk
                if response.length:  # a sized answer cut short
                    raise http.client.IncompleteRead(b"", response.length)
            except _WIRE_ERRORS as exc:
                raise Unavailable(f"{what}: engine unreachable: {_reason(exc)}") from exc
        finally:
            connection.close()

    def _prepared(self, path: str, parts: RequestParts) -> tuple[str, bytes | None, dict[str, str]]:
        """As :func:`encoded_request`, in the API version the engine speaks."""
        if self.api_version is None:
            self.ping()
        return encoded_request(self.api_version, path, parts)

    def _exchange(
        self, what: str, method: str, target: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One round trip; a stale reused connection is replaced once for reads."""
        for attempt in (1, 2):
            reused = self._used
            connection = self._open()
            try:
                connection.request(method, target, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except _STALE as exc:
                self.close()
                if reused and attempt == 1 and method == "GET":
                    continue
                raise Unavailable(f"{what}: engine unreachable: {_reason(exc)}") from exc
            except _WIRE_ERRORS as exc:
                self.close()
                raise Unavailable(f"{what}: engine unreachable: {_reason(exc)}") from exc
            self._used = True
            return response.status, response.headers, payload
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self) -> http.client.HTTPConnection:
        if self._connection is not None and closed_by_peer(self._connection):
            self.close()
        if self._connection is None:
            self._connection = self._new_connection(self.timeout)
            self._used = False
        return self._connection

    def _new_connection(self, timeout: float | None) -> http.client.HTTPConnection:
        address = urlsplit(self.endpoint)
        if address.scheme == "unix":
            return UnixHTTPConnection(address.path, timeout)
        return http.client.HTTPConnection(
            address.hostname or "localhost", address.port or 2375, timeout=timeout
        )

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _reason(exc: BaseException) -> str:
    """An exception as a sentence (``http.client``'s own often have an empty text)."""
    return str(exc) or type(exc).__name__


def demultiplexed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The payloads of the Engine's multiplexed stream (logs or exec without a TTY).

    Each frame is an 8-byte header (stream type, 3 zero bytes, big-endian
    payload size) and its payload; stdout and stderr come out in the order
    they were written. A frame may arrive split across chunks.
    """
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= 8:
            size = int.from_bytes(buffer[4:8], "big")
            if len(buffer) < 8 + size:
                break
            payload, buffer = buffer[8 : 8 + size], buffer[8 + size :]
            if payload:
                yield payload


def json_body(
    body: Mapping[str, Any] | None, headers: Mapping[str, str] | None
) -> tuple[bytes | None, dict[str, str]]:
    """A request's JSON body and its headers; None values are left out of the body
    (the Engine's Go decoder refuses null for strings)."""
    sent_headers = dict(headers or {})
    if body is None:
        return None, sent_headers
    sent_headers["Content-Type"] = "application/json"
    cleaned = {key: value for key, value in body.items() if value is not None}
    return json.dumps(cleaned).encode(), sent_headers


def query_string(params: Mapping[str, Any] | None) -> str:
    """URL query of ``params``: booleans as the Engine spells them, None left out."""
    if not params:
        return ""
    pairs = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append((name, str(value)))
    return urlencode(pairs)


def _message(payload: bytes) -> str:
    """The ``message`` of an Engine error answer (its text if it is not JSON)."""
    text = payload.decode("utf-8", "replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
        return str(decoded["message"])
    return text
