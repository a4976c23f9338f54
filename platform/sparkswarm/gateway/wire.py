"""The Engine API over a plain HTTP/1.1 connection: the gateway's fast transport.

A command of ours makes a handful of small JSON requests. docker-py (with
requests and urllib3 under it) costs ~0.1 s of imports before the first one;
our own HTTP/1.1 (:mod:`.http11`) on the engine's Unix socket (or a plain
``tcp://`` port) costs ~1 ms. :class:`Wire` is that transport: one keep-alive connection,
the API version the engine announces on ``/_ping``, JSON in and out, and
every failure already in the error tree of :mod:`sparkswarm.errors`.

TLS and ``ssh://`` endpoints, and images (save/load/build), keep using
docker-py: :func:`speaks_plain_http` says which endpoints a :class:`Wire`
can serve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from sparkswarm.errors import Unavailable
from sparkswarm.gateway.http11 import Connection, Disconnected
from sparkswarm.gateway.translate import classify

# Failures of a reused keep-alive connection the engine closed in between:
# safe to send an idempotent request once more on a new connection.
_STALE = (Disconnected, BrokenPipeError, ConnectionResetError)


def speaks_plain_http(endpoint: str) -> bool:
    """Whether ``endpoint`` is a Unix socket or a plain (not TLS) TCP address."""
    return endpoint.startswith(("unix://", "tcp://", "http://"))


def engine_path(template: str, *parts: str) -> str:
    """``template`` with each ``{}`` replaced by a quoted ``part``.

    ``/`` and ``:`` stay as they are, as the Docker CLI sends them: image
    references (``sparkswarm/spark:4.3.0``) are routed with their slashes.
    """
    return template.format(*(quote(part, safe="/:") for part in parts))


def filters_param(filters: Mapping[str, str | list[str]] | None) -> dict[str, str]:
    """The Engine's ``filters`` query parameter: JSON of name -> list of values."""
    if not filters:
        return {}
    as_lists = {
        name: [value] if isinstance(value, str) else list(value) for name, value in filters.items()
    }
    return {"filters": json.dumps(as_lists)}


class Wire:
    """JSON requests to one engine over one keep-alive HTTP connection.

    Raises :class:`~sparkswarm.errors.Unavailable` when the engine cannot be
    reached or stops answering, and the class :func:`classify` gives for an
    error answer (``NotFound``, ``Conflict``, ``InvalidRequest``, ...).
    """

    def __init__(self, endpoint: str, *, timeout: float) -> None:
        if not speaks_plain_http(endpoint):
            raise ValueError(f"not a plain HTTP endpoint: {endpoint}")
        self.endpoint = endpoint
        self.timeout = timeout
        self.api_version: str | None = None
        self._connection: Connection | None = None
        self._used = False

    def ping(self) -> str:
        """Check that the engine answers; the API version it speaks (used from now on)."""
        status, headers, payload = self._exchange("ping", "GET", "/_ping", None, {})
        if status != 200:
            raise Unavailable(f"ping: the engine answered {status}: {_message(payload)}")
        self.api_version = headers.get("api-version")
        return self.api_version or ""

    def request(
        self,
        what: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request to the versioned ``path``; the decoded JSON answer or None.

        ``what`` names the request in errors ("list services: ...").
        ``body`` is sent as JSON with its None values left out (the Engine's
        Go decoder refuses null for strings).
        """
        target, data, sent_headers = self._prepared(path, params, body, headers)
        status, _, payload = self._exchange(what, method, target, data, sent_headers)
        if status >= 400:
            raise classify(status, _message(payload))
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
        target, data, headers = self._prepared(path, params, body, None)
        connection = self._new_connection(timeout)
        try:
            try:
                response = connection.request(method, target, data, headers)
                if response.status >= 400:
                    raise classify(response.status, _message(response.read()))
                yield from response.chunks()
            except OSError as exc:
                raise Unavailable(f"{what}: engine unreachable: {exc}") from exc
        finally:
            connection.close()

    def _prepared(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[str, bytes | None, dict[str, str]]:
        """The request line's target, the JSON body and the headers of one request."""
        if self.api_version is None:
            self.ping()
        query = query_string(params)
        target = f"/v{self.api_version}{path}" + (f"?{query}" if query else "")
        data, sent_headers = json_body(body, headers)
        return target, data, sent_headers

    def _exchange(
        self, what: str, method: str, target: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """One round trip; a stale reused connection is replaced once for reads."""
        for attempt in (1, 2):
            reused = self._used
            connection = self._open()
            try:
                response = connection.request(method, target, data, headers)
                payload = response.read()
            except _STALE as exc:
                self.close()
                if reused and attempt == 1 and method == "GET":
                    continue
                raise Unavailable(f"{what}: engine unreachable: {exc}") from exc
            except OSError as exc:
                self.close()
                raise Unavailable(f"{what}: engine unreachable: {exc}") from exc
            self._used = True
            if response.will_close:
                self.close()
            return response.status, response.headers, payload
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self) -> Connection:
        if self._connection is not None and self._connection.closed_by_peer():
            self.close()
        if self._connection is None:
            self._connection = self._new_connection(self.timeout)
            self._used = False
        return self._connection

    def _new_connection(self, timeout: float | None) -> Connection:
        address = urlsplit(self.endpoint)
        if address.scheme == "unix":
            return Connection(("unix", address.path), timeout)
        return Connection(
            ("tcp", address.hostname or "localhost", str(address.port or 2375)), timeout
        )

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


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
