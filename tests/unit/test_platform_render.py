"""The platform stack as ``platform up`` renders it (stacks/platform loaded by
our own compose loader, no engine): which services come with which
settings, their health checks, and Prometheus' configuration."""

from __future__ import annotations

from typing import Any

import yaml

from sparkswarm.platform_stack import platform_dir, prometheus_config_name, render_platform

SLACK = {"slack_bot_token_secret": "s_bot", "slack_app_token_secret": "s_app"}
MONITORING = {"prometheus_config": "s_prometheus_0123456789ab"}
CORE = {"redis", "worker", "beat", "metrics"}


def services(values: dict[str, str]) -> dict[str, Any]:
    _, loaded = render_platform(platform_dir(), values)
    found: dict[str, Any] = loaded.model["services"]
    return found


def test_without_slack_settings_or_monitoring_only_the_core_services_are_rendered() -> None:
    assert set(services({})) == CORE


def test_the_bot_is_rendered_only_with_both_slack_token_secrets() -> None:
    assert set(services(SLACK)) == CORE | {"bot"}
    assert "bot" not in services({"slack_bot_token_secret": "s_bot"})
    bot = services(SLACK)["bot"]
    assert {s["source"] for s in bot["secrets"]} >= {"slack_bot_token", "slack_app_token"}
    assert not any("TOKEN=" in str(v) for v in bot.get("environment", {}).values())


def test_prometheus_is_rendered_only_when_monitoring_is_asked() -> None:
    assert "prometheus" not in services(SLACK)
    rendered = services({**SLACK, **MONITORING})
    assert set(rendered) == CORE | {"bot", "prometheus"}
    prometheus = rendered["prometheus"]
    assert prometheus["networks"] == {"platform": None}
    assert [c["target"] for c in prometheus["configs"]] == ["/etc/prometheus/prometheus.yml"]


def test_every_rendered_service_has_a_health_check() -> None:
    for name, service in services({**SLACK, **MONITORING}).items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name


def test_prometheus_scrapes_the_exporter_service_on_its_port() -> None:
    from sparkswarm.config import Settings

    params, loaded = render_platform(platform_dir(), {**SLACK, **MONITORING})
    config = loaded.model["configs"]["prometheus_config"]
    assert config["name"] == MONITORING["prometheus_config"]
    import base64

    # What the deployer sends as the swarm config's data is prometheus.yml.
    (sent,) = [v for k, v in params["attachments"].items() if k.endswith("/prometheus.yml")]
    scrape = yaml.safe_load(base64.b64decode(sent))
    (job,) = [j for j in scrape["scrape_configs"] if j["job_name"] == "sparkswarm"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["metrics"] and "metrics" in loaded.model["services"]
    # The exporter in the stack serves the settings' default port.
    assert "--port" not in loaded.model["services"]["metrics"]["command"]
    assert sd["port"] == Settings().metrics_port


def test_the_prometheus_config_name_follows_the_file_and_the_stack() -> None:
    name = prometheus_config_name(platform_dir(), "plat")
    assert name.startswith("plat_prometheus_") and len(name) == len("plat_prometheus_") + 12
    assert prometheus_config_name(platform_dir(), "plat") == name
    assert prometheus_config_name(platform_dir(), "other") != name
