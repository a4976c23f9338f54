"""``sparkswarm metrics`` as a real process on a QueueLab, read over HTTP."""

from __future__ import annotations

import urllib.request

from tests.support.queue_harness import Process, QueueLab, free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def start_exporter(lab: QueueLab, log_name: str = "metrics.log") -> int:
    """Start the exporter on ``lab``'s Redis; the port it serves once ready."""
    port = free_port()
    exporter = Process(["metrics", "--port", str(port)], lab.env(), lab.folder / log_name)
    lab.processes.append(exporter)
    exporter.wait_ready("metrics exporter serving", 60)
    return port


def scrape_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text: str = answer.read().decode()
    return text


def scrape(port: int) -> Samples:
    """Every sample of one HTTP GET of /metrics, parsed by prometheus_client's
    parser: (name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape_text(port))
        for sample in family.samples
    }
