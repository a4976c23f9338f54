"""The gateway's HTTP/1.1 client against canned answers on a real Unix socket.

Each test's server reads one request head and writes the exact bytes an
engine (Go's net/http) could send: sized, chunked, close-delimited, or junk.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkswarm.gateway.http11 import (
    MAX_HEADERS,
    Connection,
    Disconnected,
    ProtocolError,
)


class _Canned:
    """A one-connection server that answers every request with ``answers`` in turn."""

    def __init__(self, path: str, answers: list[bytes]) -> None:
        self.requests: list[bytes] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(1)
        self._answers = answers
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            reader = conn.makefile("rb")
            for answer in self._answers:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = [
                    int(h.split(b":")[1])
                    for h in head.split(b"\r\n")
                    if h.startswith(b"Content-Length")
                ]
                body = reader.read(length[0]) if length else b""
                self.requests.append(head + body)
                conn.sendall(answer)

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    servers: list[_Canned] = []
    connections: list[Connection] = []

    def start(*answers: bytes) -> Connection:
        path = str(tmp_path / f"s{len(servers)}.sock")
        servers.append(_Canned(path, list(answers)))
        connections.append(Connection(("unix", path), timeout=5))
        return connections[-1]

    yield start
    for connection in connections:
        connection.close()
    for server in servers:
        server.close()


def test_sized_answers_on_one_kept_alive_connection(serve) -> None:  # type: ignore[no-untyped-def]
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n"
    connection = serve(ok + b'{"a":1}', ok + b'{"b":2}')
    first = connection.request("GET", "/v1.41/info", None, {})
    assert (first.status, first.read(), first.will_close) == (200, b'{"a":1}', False)
    second = connection.request("POST", "/v1.41/x", b"{}", {"Content-Type": "application/json"})
    assert second.read() == b'{"b":2}'
    assert second.headers["content-type"] == "application/json"


def test_a_chunked_answer_is_joined_and_streamed_chunk_by_chunk(serve) -> None:  # type: ignore[no-untyped-def]
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n"
    )
    streamed = serve(answer).request("GET", "/logs", None, {})
    assert list(streamed.chunks()) == [b"hello", b" ", b"world!"]
    assert serve(answer).request("GET", "/logs", None, {}).read() == b"hello world!"


def test_an_answer_without_length_runs_until_the_engine_closes(serve) -> None:  # type: ignore[no-untyped-def]
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw bytes"
    response = serve(answer).request("POST", "/exec/1/start", b"{}", {})
    assert response.will_close
    # the canned server closes after its last answer: the body ends there
    assert response.read() == b"raw bytes"


def test_the_request_carries_host_length_and_body(tmp_path: Path) -> None:
    path = str(tmp_path / "r.sock")
    server = _Canned(path, [b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"])
    response = Connection(("unix", path), timeout=5).request(
        "POST", "/v1.41/images/a/tag?repo=b", None, {"X-Test": "1"}
    )
    assert (response.status, response.read()) == (201, b"")
    server.close()
    sent = server.requests[0]
    assert sent.startswith(b"POST /v1.41/images/a/tag?repo=b HTTP/1.1\r\nHost: localhost\r\n")
    assert b"X-Test: 1\r\n" in sent and b"Content-Length: 0\r\n" in sent


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", Disconnected),
        (b"SSH-2.0-OpenSSH\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", Disconnected),
    ],
)
def test_broken_answers_are_os_errors(serve, answer: bytes, error: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    connection = serve(answer)
    with pytest.raises(error):
        connection.request("GET", "/x", None, {}).read()
    assert issubclass(error, OSError)  # the wire turns every OSError into Unavailable
