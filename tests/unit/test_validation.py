"""Input models (ServiceOptions, PolicyOptions, ServiceChanges) from request
data: what users see for bad input, and the lax conversions they rely on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from sparkswarm.errors import InvalidRequest
from sparkswarm.services.changes import ServiceChanges
from sparkswarm.services.specs import PolicyOptions, ServiceOptions, validated


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (
            ServiceOptions,
            {"replicas": -1},
            "invalid service options: replicas: Input should be greater than or equal to 0",
        ),
        (
            ServiceOptions,
            {"mode": "daemon", "unknown_flag": 1},
            "invalid service options: mode: Input should be 'replicated', 'global', "
            "'replicated-job' or 'global-job'; unknown_flag: Extra inputs are not permitted",
        ),
        (
            ServiceChanges,
            {"update": {"max_failure_ratio": 2}, "env_add": ["A=1", 2]},
            "invalid service options: env_add.1: Input should be a valid string; "
            "update.max_failure_ratio: Input should be less than or equal to 1",
        ),
    ],
)
def test_messages_name_the_field_and_the_rule(
    model: type[BaseModel], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        validated(model, data, "service options")
    assert str(raised.value) == message


def test_accepted_values_are_converted() -> None:
    options = validated(
        ServiceOptions,
        {"replicas": "3", "env": ("A=1",), "update": {"parallelism": 2.0}},
        "service options",
    )
    assert options.replicas == 3
    assert options.env == ["A=1"]
    assert options.update == PolicyOptions(parallelism=2)
    assert validated(PolicyOptions, options.update, "policy") is options.update


def test_a_non_dict_is_refused_with_the_what_it_was() -> None:
    with pytest.raises(InvalidRequest) as raised:
        validated(PolicyOptions, ["delay"], "--update-* options")
    assert str(raised.value) == (
        "invalid --update-* options: --update-* options: "
        "Input should be a valid dictionary or instance of PolicyOptions"
    )
