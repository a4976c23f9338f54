"""The Slack bot's speed: ack latency under a burst, and chat vs CLI for a scale.

Starts its own redis-server, one ``sparkswarm worker`` and ``sparkswarm bot
--http`` against the local Slack double (tests/support's harness), then:

1. ack latency: rounds of 50 concurrent, correctly signed slash commands
   (``/sparkswarm runs ls``) sent at once; the time from sending each request
   to its HTTP answer. Target: p99 < 100 ms.
2. starvation: 20 concurrent slow reads (``/swarm services`` in a channel
   where the double takes 5 s to accept each answer, so every one of them
   holds a bot thread that long), then one ``/swarm services`` elsewhere:
   the time from sending it to its answer being posted. Target: < 2 s.
3. nowhere to post: ``/swarm scale`` in a channel the bot was not invited
   to; the time to the ephemeral answer through ``response_url`` (nothing
   runs). Target: < 3 s.
4. ``/swarm scale`` end to end: the time from sending the slash command to
   the outcome (succeeded) appearing in its thread, alternated with the same
   scale from the CLI (``sparkswarm service scale``, through the same queue
   and worker, its wall time). Target: chat within 1.2x of the CLI.

    .venv/bin/python bench/slack_ack.py [--rounds 4] [--scales 5]

Needs the engine (a busybox web service is created under a random name and
removed after) and redis-server.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ack_burst(bots: object, rounds: int, burst: int) -> list[float]:
    """Latency of each of ``burst`` signed slash commands sent at once, ``rounds``
    times. The requests are built and their connections opened beforehand, and
    sent as raw bytes, so the figure is the bot's, not the HTTP client's."""
    from sparkswarm.bots import double, payloads
    from tests.support.bot_harness import OPERATOR

    port = bots.port  # type: ignore[attr-defined]

    def raw_request(body: bytes) -> bytes:
        headers = {
            "Host": f"127.0.0.1:{port}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
            **payloads.signed_headers(double.SIGNING_SECRET, body),
        }
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode() + body

    def send(conn: socket.socket, data: bytes, barrier: threading.Barrier) -> float:
        barrier.wait()
        started = time.perf_counter()
        conn.sendall(data)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
        elapsed = time.perf_counter() - started
        conn.close()
        assert reply.startswith(b"HTTP/1.1 200"), reply[:80]
        return elapsed

    latencies: list[float] = []
    with ThreadPoolExecutor(burst) as pool:
        for _ in range(rounds):
            barrier = threading.Barrier(burst)
            jobs = []
            for _ in range(burst):
                fields = payloads.slash_command("/sparkswarm", "runs ls", user=OPERATOR)
                conn = socket.create_connection(("127.0.0.1", port))
                data = raw_request(payloads.form_body(fields))
                jobs.append(pool.submit(send, conn, data, barrier))
            latencies += [job.result() for job in jobs]
            time.sleep(1.0)
    return latencies


def starvation(bots: object, slow_reads: int, delay: float) -> float:
    """Seconds from one ``/swarm services`` to its answer, sent while
    ``slow_reads`` other reads are each held ``delay`` s by a slow Slack."""
    from tests.support.bot_harness import OPERATOR

    web = bots.web  # type: ignore[attr-defined]
    web.channels.add("C0SLOW")
    web.invite("C0SLOW")
    web.slow("chat.postMessage", "C0SLOW", delay)

    def slow(_: int) -> None:
        bots.slash("/swarm", "services", OPERATOR, channel="C0SLOW")  # type: ignore[attr-defined]

    def answers() -> int:
        return sum(
            1
            for c in web.calls_of("chat.postMessage")
            if c.args.get("channel") == "C0GENERAL" and c.status == 200
        )

    try:
        with ThreadPoolExecutor(slow_reads) as pool:
            list(pool.map(slow, range(slow_reads)))
        time.sleep(1.0)  # all of them are in the bot, waiting on the worker or on Slack
        before = answers()
        started = time.perf_counter()
        bots.slash("/swarm", "services", OPERATOR)  # type: ignore[attr-defined]
        while answers() == before:
            if time.perf_counter() - started > 120:
                raise RuntimeError("no answer to /swarm services")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        web.slow("chat.postMessage", "C0SLOW", 0)


def cannot_post(bots: object, rounds: int) -> list[float]:
    """Seconds from a change typed where the bot is no member to the user's
    answer through response_url, ``rounds`` times."""
    from tests.support.bot_harness import OPERATOR

    web = bots.web  # type: ignore[attr-defined]
    times = []
    for n in range(rounds):
        before = len(web.responded(OPERATOR))
        started = time.perf_counter()
        bots.slash(  # type: ignore[attr-defined]
            "/swarm", f"scale nowhere{n}=2", OPERATOR, channel="C0LOBBY"
        )
        while len(web.responded(OPERATOR)) == before:
            if time.perf_counter() - started > 60:
                raise RuntimeError("no answer through response_url")
            time.sleep(0.005)
        times.append(time.perf_counter() - started)
    return times


def scale_race(
    bots: object, lab: object, service: str, count: int
) -> tuple[list[float], list[float]]:
    """``count`` scales from chat and ``count`` from the CLI, toggling between 1
    and 2 replicas; who goes first alternates, so both do as many scale-ups
    (a task to start) as scale-downs."""
    from tests.support.bot_harness import OPERATOR
    from tests.support.queue_harness import SPARKSWARM

    times: dict[str, list[float]] = {"chat": [], "cli": []}
    replicas = 1

    def chat(count_: int) -> float:
        words = f"service scale {service}={count_}"
        before = len(bots.status_of(words))  # type: ignore[attr-defined]
        started = time.perf_counter()
        bots.slash("/swarm", f"scale {service}={count_}", OPERATOR)  # type: ignore[attr-defined]
        while True:
            done = [
                m
                for m in bots.status_of(words)  # type: ignore[attr-defined]
                if "*succeeded*" in m.text or "*failed*" in m.text
            ]
            if len(done) > before:
                return time.perf_counter() - started
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"no outcome for {words}")
            time.sleep(0.01)

    def cli(count_: int) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            [SPARKSWARM, "service", "scale", f"{service}={count_}"],
            env=lab.env(),  # type: ignore[attr-defined]
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return time.perf_counter() - started

    runners = {"chat": chat, "cli": cli}
    for i in range(count):
        order = ("chat", "cli") if i % 2 == 0 else ("cli", "chat")
        for who in order:
            replicas = 2 if replicas == 1 else 1
            times[who].append(runners[who](replicas))
    return times["chat"], times["cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="bursts of --burst requests")
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--scales", type=int, default=8, help="scales each from chat and CLI")
    parser.add_argument("--slow-reads", type=int, default=20)
    parser.add_argument("--slow-delay", type=float, default=5.0, help="seconds per slow answer")
    args = parser.parse_args()

    from sparkswarm.services import ops
    from tests.support.bot_harness import BotLab
    from tests.support.engine import EngineGateway as Gateway
    from tests.support.engine import remove_prefixed
    from tests.support.images import build_web_images
    from tests.support.queue_harness import QueueLab, RedisServer

    gw = Gateway()
    prefix = f"benchbot{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(Path(folder))
        server.start()
        lab = QueueLab(Path(folder), server)
        bots = BotLab(lab, Path(folder))
        try:
            lab.start_worker(concurrency=4)
            bots.start_http()
            print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cpus)")
            latencies = ack_burst(bots, args.rounds, args.burst)
            print(
                f"ack latency, {args.rounds} x {args.burst} concurrent signed slash commands: "
                f"p50 {percentile(latencies, 50) * 1000:.1f} ms, "
                f"p99 {percentile(latencies, 99) * 1000:.1f} ms, "
                f"max {max(latencies) * 1000:.1f} ms (target p99 < 100 ms)"
            )
            waited = starvation(bots, args.slow_reads, args.slow_delay)
            print(
                f"starvation: /swarm services answered in {waited:.2f} s while "
                f"{args.slow_reads} slow reads ({args.slow_delay:g} s each) were held "
                "(target < 2 s)"
            )
            answered = cannot_post(bots, 10)
            print(
                "nowhere to post: answer through response_url, 10 changes typed where the "
                f"bot is no member: median {statistics.median(answered):.2f} s, "
                f"max {max(answered):.2f} s (target < 3 s; nothing ran)"
            )
            if args.scales <= 0:
                return 0
            image = build_web_images(gw)["v1"]
            service = f"{prefix}-web"
            ops.create_service(gw, name=service, image=image, stop_grace_period="1s")
            chat, cli = scale_race(bots, lab, service, args.scales)
            ratio = statistics.median(chat) / statistics.median(cli)
            print(
                f"scale, command -> outcome: chat thread median {statistics.median(chat):.2f} s "
                f"(min {min(chat):.2f}), CLI median {statistics.median(cli):.2f} s "
                f"(min {min(cli):.2f}); chat/CLI {ratio:.2f}x (target <= 1.2x)"
            )
        finally:
            bots.stop()
            lab.stop_all()
            server.stop()
            remove_prefixed(gw, prefix)
            gw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
