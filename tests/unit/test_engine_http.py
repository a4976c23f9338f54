"""The gateway's http.client transport against a small Engine stand-in on a Unix socket.

The stand-in speaks real HTTP/1.1 over a real socket (``socketserver``); it
answers from a table and records what it was sent, so these tests check the
bytes on the wire and the error mapping without an engine. The same
transport against the real engine is covered by the integration tests.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    OutOfSequence,
    Refused,
    Unavailable,
)
from sparkswarm.gateway.engine_http import (
    Wire,
    demultiplexed,
    engine_path,
    filters_param,
    speaks_plain_http,
)

Answer = tuple[int, Any]


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)  # the socket is closed now
        self.closed.set()

    answers: dict[tuple[str, str], Answer]
    seen: list[dict[str, Any]]
    closed: threading.Event  # set when the server ended a connection
    close_after_each: str  # no, saying so, silently (a keep-alive dropped)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def address_string(self) -> str:  # a Unix socket has no (host, port)
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        self.server.seen.append(
            {
                "method": self.command,
                "path": path,
                "query": query,
                "body": body,
                "headers": dict(self.headers),
            }
        )
        status, payload = self.server.answers.get((self.command, path), (404, {"message": "no"}))
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("API-Version", "1.41")
        if self.server.close_after_each != "no":
            if self.server.close_after_each == "saying so":
                self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[_Server]:
    server = _Server(str(tmp_path / "engine.sock"), _Handler)
    server.answers = {("GET", "/_ping"): (200, b"OK")}
    server.seen = []
    server.closed = threading.Event()
    server.close_after_each = "no"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _wire(server: _Server) -> Wire:
    return Wire(f"unix://{server.server_address}", timeout=5)


def test_requests_use_the_announced_api_version_and_one_connection(engine: _Server) -> None:
    engine.answers[("GET", "/v1.41/services")] = (200, [{"ID": "a"}])
    wire = _wire(engine)
    first = wire.request("list services", "GET", "/services", params={"status": True})
    second = wire.request("list services", "GET", "/services")
    wire.close()
    assert first == second == [{"ID": "a"}]
    assert [s["path"] for s in engine.seen] == ["/_ping", "/v1.41/services", "/v1.41/services"]
    assert engine.seen[1]["query"] == "status=true"


def test_a_json_body_leaves_out_unset_values(engine: _Server) -> None:
    engine.answers[("POST", "/v1.41/networks/create")] = (201, {"Id": "n1"})
    wire = _wire(engine)
    answer = wire.request(
        "create network", "POST", "/networks/create", body={"Name": "x", "Driver": None}
    )
    assert answer == {"Id": "n1"}
    sent = engine.seen[-1]
    assert json.loads(sent["body"]) == {"Name": "x"}
    assert sent["headers"]["Content-Type"] == "application/json"


def test_an_empty_answer_is_none(engine: _Server) -> None:
    engine.answers[("DELETE", "/v1.41/services/web")] = (200, b"")
    assert _wire(engine).request("remove service", "DELETE", "/services/web") is None


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (404, "service web not found", NotFound),
        (409, "name conflicts with an existing object", Conflict),
        (400, "invalid mount config", InvalidRequest),
        (500, "rpc error: code = Unknown desc = update out of sequence", OutOfSequence),
        (503, "the swarm does not have a leader", Unavailable),
    ],
)
def test_error_answers_become_our_errors_with_the_engines_message(
    engine: _Server, status: int, message: str, error: type[Exception]
) -> None:
    engine.answers[("GET", "/v1.41/services/web")] = (status, {"message": message})
    with pytest.raises(error) as raised:
        _wire(engine).request("inspect service", "GET", "/services/web")
    assert str(raised.value) == message


def test_an_answer_that_is_not_json_is_unavailable(engine: _Server) -> None:
    engine.answers[("GET", "/v1.41/info")] = (200, b"<html>proxy</html>")
    with pytest.raises(Unavailable, match="info: the engine's answer is not JSON"):
        _wire(engine).request("info", "GET", "/info")


def test_a_missing_socket_is_unavailable(tmp_path: Path) -> None:
    wire = Wire(f"unix://{tmp_path}/none.sock", timeout=2)
    with pytest.raises(Unavailable, match="engine unreachable"):
        wire.request("list nodes", "GET", "/nodes")


@pytest.mark.parametrize("closing", ["saying so", "silently"])
def test_a_connection_the_engine_closed_is_reopened_for_reads(
    engine: _Server, closing: str
) -> None:
    engine.answers[("GET", "/v1.41/info")] = (200, {"ok": 1})
    engine.close_after_each = closing
    wire = _wire(engine)
    assert [wire.request("info", "GET", "/info") for _ in range(3)] == [{"ok": 1}] * 3
    assert [s["path"] for s in engine.seen].count("/v1.41/info") == 3


def test_a_write_after_the_engine_dropped_the_connection_goes_out_once(
    engine: _Server,
) -> None:
    engine.answers[("POST", "/v1.41/services/create")] = (201, {"ID": "s1"})
    engine.close_after_each = "silently"
    wire = _wire(engine)
    wire.ping()
    assert engine.closed.wait(5)  # the keep-alive connection is gone, unannounced
    answer = wire.request("create service", "POST", "/services/create", body={"Name": "x"})
    assert answer == {"ID": "s1"}
    assert [s["path"] for s in engine.seen].count("/v1.41/services/create") == 1


def test_filters_and_paths_are_encoded_as_the_docker_cli_sends_them() -> None:
    assert filters_param(None) == {}
    assert json.loads(filters_param({"label": "a=b", "name": ["x", "y"]})["filters"]) == {
        "label": ["a=b"],
        "name": ["x", "y"],
    }
    assert engine_path("/images/{}/json", "sparkswarm/spark:4.3.0") == (
        "/images/sparkswarm%2Fspark%3A4.3.0/json"
    )
    assert engine_path("/services/{}", "a b?") == "/services/a%20b%3F"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("../../info", "/services/..%2F..%2Finfo"),
        ("..", "/services/%2E%2E"),
        (".", "/services/%2E"),
        ("a/b#c", "/services/a%2Fb%23c"),
        ("web.1", "/services/web.1"),
    ],
)
def test_every_path_segment_is_encoded_whole(name: str, path: str) -> None:
    assert engine_path("/services/{}", name) == path


def test_an_empty_name_is_refused_before_any_request() -> None:
    with pytest.raises(InvalidRequest, match="empty name"):
        engine_path("/nodes/{}", "")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_error_never_followed(engine: _Server, status: int) -> None:
    engine.answers[("GET", "/v1.41/services/x")] = (status, b"")
    with pytest.raises(Refused, match=f"inspect service: the engine answered {status}"):
        _wire(engine).request("inspect service", "GET", "/services/x")
    engine.answers[("GET", "/v1.41/services/x/logs")] = (status, b"")
    with pytest.raises(Refused):
        list(_wire(engine).stream("service logs", "GET", "/services/x/logs", timeout=5))


@pytest.mark.parametrize(
    ("endpoint", "plain"),
    [
        ("unix:///var/run/docker.sock", True),
        ("tcp://127.0.0.1:2375", True),
        ("http://10.0.0.1:2375", True),
        ("https://10.0.0.1:2376", False),
        ("ssh://me@host", False),
    ],
)
def test_which_endpoints_the_wire_serves(endpoint: str, plain: bool) -> None:
    assert speaks_plain_http(endpoint) is plain


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_multiplexed_frames_are_unpacked_even_when_split_across_chunks() -> None:
    raw = _frame(1, b"out line\n") + _frame(2, b"err line\n") + _frame(1, b"") + _frame(1, b"x")
    for cut in range(len(raw) + 1):
        assert b"".join(demultiplexed(iter([raw[:cut], raw[cut:]]))) == (b"out line\nerr line\nx")
    assert list(demultiplexed(iter([raw[:5]]))) == []  # a cut-off header is not a frame


def test_a_stream_arrives_in_chunks_on_its_own_connection(engine: _Server) -> None:
    logs = _frame(1, b"hello\n") * 3
    engine.answers[("GET", "/v1.41/services/web/logs")] = (200, logs)
    engine.answers[("GET", "/v1.41/info")] = (200, {"ok": 1})
    wire = _wire(engine)
    chunks = wire.stream("service logs", "GET", "/services/web/logs", timeout=5)
    first = next(chunks)
    assert wire.request("info", "GET", "/info") == {"ok": 1}  # meanwhile, on the other
    assert b"".join(demultiplexed(iter([first, *chunks]))) == b"hello\n" * 3


def test_a_stream_refused_by_the_engine_raises_our_error(engine: _Server) -> None:
    engine.answers[("GET", "/v1.41/services/gone/logs")] = (404, {"message": "no such service"})
    with pytest.raises(NotFound, match="no such service"):
        list(_wire(engine).stream("service logs", "GET", "/services/gone/logs", timeout=5))


class _Canned:
    """A one-connection server that answers each request head with raw bytes, then closes."""

    def __init__(self, path: str, answers: list[bytes]) -> None:
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
                sized = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")]
                if sized:  # read the body before answering, as the engine does
                    reader.read(int(sized[0].split(b":")[1]))
                conn.sendall(answer)

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)


_PING = b"HTTP/1.1 200 OK\r\nAPI-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    ],
)
def test_an_answer_that_is_not_http_is_unavailable(tmp_path: Path, answer: bytes) -> None:
    server = _Canned(str(tmp_path / "junk.sock"), [_PING, answer])
    wire = Wire(f"unix://{tmp_path}/junk.sock", timeout=5)
    try:
        with pytest.raises(Unavailable, match="info: engine unreachable"):
            wire.request("info", "POST", "/info")
    finally:
        wire.close()
        server.close()


def test_an_exec_stream_runs_until_the_engine_closes(tmp_path: Path) -> None:
    raw = _frame(1, b"out\n") + _frame(2, b"err\n")
    hijacked = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    server = _Canned(str(tmp_path / "exec.sock"), [hijacked + raw])
    wire = Wire(f"unix://{tmp_path}/exec.sock", timeout=5)
    wire.api_version = "1.41"
    try:
        chunks = wire.stream("exec", "POST", "/exec/1/start", body={"Tty": False}, timeout=5)
        assert b"".join(demultiplexed(chunks)) == b"out\nerr\n"
    finally:
        server.close()


def test_a_sized_stream_cut_short_is_unavailable(tmp_path: Path) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + _frame(1, b"partial\n")
    server = _Canned(str(tmp_path / "cut.sock"), [cut])
    wire = Wire(f"unix://{tmp_path}/cut.sock", timeout=5)
    wire.api_version = "1.41"
    try:
        with pytest.raises(Unavailable, match="service logs: engine unreachable"):
            list(wire.stream("service logs", "GET", "/services/x/logs", timeout=5))
    finally:
        server.close()


def test_an_engine_that_never_answers_is_unavailable_after_the_timeout(tmp_path: Path) -> None:
    path = str(tmp_path / "hung.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)  # accepts (in the backlog), never reads nor answers
    wire = Wire(f"unix://{path}", timeout=0.3)
    try:
        with pytest.raises(Unavailable, match="ping: engine unreachable: timed out"):
            wire.ping()
    finally:
        wire.close()
        listener.close()
