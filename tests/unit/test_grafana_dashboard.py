"""The Grafana dashboard in stacks/platform: a structure Grafana loads, and
panels that only ask for metrics the exporter really exports (and show
every one of them)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sparkswarm.workers.metrics import METRIC_NAMES, METRIC_TYPES, SAMPLE_SUFFIXES

DASHBOARD = Path(__file__).resolve().parents[2] / "stacks" / "platform" / "grafana-dashboard.json"


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def exported(name: str) -> str | None:
    """The exported family whose samples include series ``name`` (a counter
    only as ``<name>_total``, a histogram only as its three series), or None."""
    for family, kind in METRIC_TYPES.items():
        if any(name == family + suffix for suffix in SAMPLE_SUFFIXES[kind]):
            return family
    return None


def test_the_dashboard_has_the_structure_grafana_loads() -> None:
    data = dashboard()
    assert isinstance(data["title"], str) and data["title"]
    assert isinstance(data["schemaVersion"], int)
    panels = data["panels"]
    assert panels and isinstance(panels, list)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in {"stat", "timeseries", "gauge", "table", "bargauge"}
        assert panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]  # 24 columns
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        assert all(target["expr"] for target in panel["targets"])


def test_every_metric_a_panel_asks_for_is_exported_and_every_export_is_shown() -> None:
    asked = {
        name
        for panel in dashboard()["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bsparkswarm_[a-z_]+", target["expr"])
    }
    unknown = sorted(name for name in asked if exported(name) is None)
    assert not unknown, f"panels ask for metrics the exporter lacks: {unknown}"
    shown = {exported(name) for name in asked}
    assert shown == set(METRIC_NAMES), f"not on the dashboard: {set(METRIC_NAMES) - shown}"


def test_every_exported_name_starts_with_sparkswarm() -> None:
    assert all(name.startswith("sparkswarm_") for name in METRIC_NAMES)


def test_a_counter_is_asked_for_by_its_total_series_only() -> None:
    assert exported("sparkswarm_slack_api_calls_total") == "sparkswarm_slack_api_calls"
    assert exported("sparkswarm_slack_api_calls") is None  # Prometheus stores only _total
    assert exported("sparkswarm_run_duration_seconds_bucket") == "sparkswarm_run_duration_seconds"
    assert exported("sparkswarm_run_duration_seconds") is None
    assert exported("sparkswarm_queue_depth") == "sparkswarm_queue_depth"
    assert exported("sparkswarm_queue_depth_total") is None
