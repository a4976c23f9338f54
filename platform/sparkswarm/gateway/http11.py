"""Just enough HTTP/1.1 for the Engine API, on a Unix or TCP socket.

``http.client`` would do, but it imports ``email`` and ``ssl`` for features
the Engine API never uses (~15 ms of every command's start). This client
speaks the part of HTTP/1.1 the engine answers with: a status line, headers,
and a body sized by ``Content-Length``, sent ``chunked``, or running until
the engine closes the connection (a hijacked exec stream). Keep-alive
connections are reused; header sizes are bounded so a confused peer cannot
make us buffer without end.

Raises ``OSError`` for every failure: :class:`Disconnected` when the peer
closed before answering, :class:`ProtocolError` for an answer that is not
HTTP/1.1, the socket's own errors (timeouts, refused, reset) otherwise.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE = 64 * 1024  # bytes in a status, header or chunk-size line
MAX_HEADERS = 100


class Disconnected(ConnectionError):
    """The peer closed the connection before sending an answer."""


class ProtocolError(OSError):
    """The answer is not well-formed HTTP/1.1."""


class Response:
    """One answer: ``status``, ``headers`` (lower-case names) and a body to read once."""

    def __init__(self, status: int, headers: dict[str, str], body: Iterator[bytes]) -> None:
        self.status = status
        self.headers = headers
        self._body = body
        self.will_close = headers.get("connection", "").lower() == "close"

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives."""
        return self._body

    def read(self) -> bytes:
        """The whole body."""
        return b"".join(self._body)


class Connection:
    """One HTTP/1.1 connection to ``("unix", path)`` or ``("tcp", host, port)``.

    Opened on the first request; ``timeout`` (seconds, None: none) bounds
    the connect and every read.
    """

    def __init__(self, address: tuple[str, ...], timeout: float | None) -> None:
        self.address = address
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None

    def request(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        """Send one request and read the answer's status and headers.

        The body must be read (or the connection closed) before the next request.
        """
        sock, reader = self._open()
        host = self.address[1] if self.address[0] == "tcp" else "localhost"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        sock.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b""))
        status, answer_headers = _read_head(reader)
        body_chunks = self._body(method, status, answer_headers)  # may mark it "close"
        return Response(status, answer_headers, body_chunks)

    def closed_by_peer(self) -> bool:
        """Whether an idle kept-alive connection was closed by the other side.

        Idle, it has nothing to read: readable means EOF (or junk), and a
        request sent on it could be lost without an answer.
        """
        if self._sock is None:
            return False
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        """Close the socket (a later request opens a new one)."""
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock, self._reader = None, None

    def _open(self) -> tuple[socket.socket, BinaryIO]:
        if self._sock is None or self._reader is None:
            if self.address[0] == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(self.address[1])
                except OSError:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection(
                    (self.address[1], int(self.address[2])), timeout=self.timeout
                )
            self._sock, self._reader = sock, sock.makefile("rb")
        return self._sock, self._reader

    def _body(self, method: str, status: int, headers: dict[str, str]) -> Iterator[bytes]:
        reader = self._reader
        assert reader is not None
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return iter(())
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _chunked(reader)
        if "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from None
            return _sized(reader, length)
        # Neither: the body runs until the peer closes (and so must we).
        headers["connection"] = "close"
        return _until_closed(reader)


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ProtocolError("line too long in the answer")
    return line


def _read_head(reader: BinaryIO) -> tuple[int, dict[str, str]]:
    status_line = _line(reader)
    if not status_line:
        raise Disconnected("the engine closed the connection without answering")
    parts = status_line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.1 answer: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = _line(reader)
        if line in (b"\r\n", b"\n", b""):
            return int(parts[1]), headers
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    raise ProtocolError("too many headers in the answer")


def _sized(reader: BinaryIO, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        data = reader.read(min(left, 65536))
        if not data:
            raise Disconnected(f"the answer ended {left} bytes early")
        left -= len(data)
        yield data


def _chunked(reader: BinaryIO) -> Iterator[bytes]:
    while True:
        size_line = _line(reader)
        if not size_line:
            raise Disconnected("the chunked answer ended early")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line[:40]!r}") from None
        if size == 0:
            while _line(reader) not in (b"\r\n", b"\n", b""):
                pass  # trailers: none that we use
            return
        yield from _sized(reader, size)
        _line(reader)  # the CRLF after the chunk


def _until_closed(reader: BinaryIO) -> Iterator[bytes]:
    while data := reader.read1(65536):  # type: ignore[attr-defined]
        yield data
