"""The platform stack file (stacks/platform): what Swarm would silently
ignore is absent, every service has a health check and a restart policy,
no secret travels as an environment variable, Redis publishes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

PLATFORM = Path(__file__).resolve().parents[2] / "stacks" / "platform"
FILES = ["stack.yml", "bot.yml"]
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET_KEY", "SIGNING_SECRET")


def services() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name in FILES:
        data = yaml.safe_load((PLATFORM / name).read_text())
        for service, spec in data["services"].items():
            found.append((name, service, spec))
    return found


IDS = [f"{f}:{s}" for f, s, _ in services()]


@pytest.mark.parametrize(("file", "service", "spec"), services(), ids=IDS)
def test_nothing_swarm_ignores_and_a_health_check_everywhere(
    file: str, service: str, spec: dict[str, Any]
) -> None:
    assert "depends_on" not in spec and "restart" not in spec, f"{file}:{service}"
    assert spec["healthcheck"]["test"], f"{file}:{service} has no health check"
    assert spec["deploy"]["restart_policy"]["condition"] == "any"


@pytest.mark.parametrize(("file", "service", "spec"), services(), ids=IDS)
def test_secrets_come_as_files_never_as_environment_values(
    file: str, service: str, spec: dict[str, Any]
) -> None:
    for variable in spec.get("environment") or {}:
        if any(word in variable for word in SECRET_WORDS):
            assert variable.endswith("_FILE"), f"{file}:{service}: {variable}"
            assert str(spec["environment"][variable]).startswith("/run/secrets/")


def test_redis_publishes_no_port_and_keeps_its_data_on_a_volume() -> None:
    redis = yaml.safe_load((PLATFORM / "stack.yml").read_text())["services"]["redis"]
    assert "ports" not in redis
    assert "redis-data:/data" in redis["volumes"]
    assert redis["deploy"]["placement"]["constraints"]
