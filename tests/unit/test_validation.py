"""sparkswarm.validation against pydantic, the oracle it replaces.

The input dataclasses (ServiceOptions, PolicyOptions, ServiceChanges) were
pydantic models; users, scripts and the bad-input tests know their messages.
Each case here is checked against a pydantic model built from the same
dataclass (same annotations, defaults and ``ge``/``le`` bounds, unknown keys
forbidden): the same values accepted, and the same ``InvalidRequest`` text
as the old ``validated`` produced from pydantic's ValidationError.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from sparkswarm.errors import InvalidRequest
from sparkswarm.results import to_jsonable
from sparkswarm.services.changes import ServiceChanges
from sparkswarm.services.specs import PolicyOptions, ServiceOptions
from sparkswarm.validation import validated
from tests.support.pydantic_twin import twin

MODELS: tuple[type[Any], ...] = (PolicyOptions, ServiceOptions, ServiceChanges)

# Values a request may carry for any field: right and wrong types, strings
# pydantic parses, bounds, and the lax cases (bool as int, "yes" as bool).
PROBES: tuple[Any, ...] = (
    None,
    "3",
    " 7 ",
    "3.0",
    "abc",
    "",
    3,
    0,
    -1,
    "-1",
    3.0,
    3.5,
    0.5,
    2,
    float("inf"),
    True,
    False,
    "yes",
    "off",
    "maybe",
    b"bytes",
    b"3",
    b"yes",
    1.0,
    2.0,
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits: int() takes them, pydantic does not
    " nan ",
    [],
    ["a", "b"],
    ["a", 1],
    ("a",),
    {"a"},
    {},
    {"zz": 1},
    "pause",
    "rollback",
    "start-first",
    "global",
    "replicated-job",
    "dnsrr",
    "on-failure",
    {"parallelism": -1, "zz": 2},
    {"max_failure_ratio": "0.5", "order": "start-first"},
)


def old_validated(model: type[Any], data: dict[str, Any], what: str) -> Any:
    """What sparkswarm.services.specs.validated did with pydantic."""
    try:
        return twin(model).model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or what}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidRequest(f"invalid {what}: {problems}") from None


def outcome(check: Any, model: type[Any], data: Any) -> tuple[str, Any]:
    try:
        value = check(model, data, "service options")
    except InvalidRequest as exc:
        return "refused", str(exc)
    dumped = value.model_dump(mode="json") if isinstance(value, BaseModel) else to_jsonable(value)
    return "accepted", dumped


def cases() -> list[tuple[type[Any], dict[str, Any]]]:
    found = []
    for model in MODELS:
        for item in dataclasses.fields(model):
            for probe in PROBES:
                found.append((model, {item.name: probe}))
        found.append((model, {}))
        found.append((model, {"unknown_flag": 1, dataclasses.fields(model)[0].name: -1}))
    return found


def test_every_field_and_probe_matches_pydantic() -> None:
    checked = cases()
    differences = []
    for model, data in checked:
        old = outcome(old_validated, model, data)
        new = outcome(validated, model, data)
        if old != new:
            differences.append((model.__name__, data, old, new))
    assert not differences, differences[:5]
    assert len(checked) > 1000


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
    model: type[Any], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        validated(model, data, "service options")
    assert str(raised.value) == message


def test_accepted_values_are_converted_as_pydantic_did() -> None:
    options = validated(
        ServiceOptions,
        {"replicas": "3", "env": ("A=1",), "update": {"parallelism": 2.0}},
        "service options",
    )
    assert options.replicas == 3
    assert options.env == ["A=1"]
    assert options.update == PolicyOptions(parallelism=2)
    assert validated(PolicyOptions, options.update, "policy") is options.update


def test_a_non_dict_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="Input should be a valid dictionary or instance"):
        validated(PolicyOptions, ["delay"], "--update-* options")
