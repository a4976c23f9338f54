"""Every numeric flag has a bound checked before sending (issue #21 §7):
numbers the engine cannot hold (Go uint64/int64) came back as its raw
``cannot unmarshal number``. Parsed as the CLI, schedules and chat parse."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.limits import FLAG_BOUNDS, check_number
from sparkswarm.requests import parse, usage
from sparkswarm.requests.builders import BUILDER_OPS
from sparkswarm.stacks.convert import translate
from sparkswarm.stacks.source import read_stack_source

HUGE = "99999999999999999999999"
UINT64_PLUS_ONE = "18446744073709551616"
# Numeric flags bounded where they are read, with their own message (replica
# limits, waits, spark up's shape, failure ratios from 0 to 1).
BOUNDED_ELSEWHERE = {
    "--replicas",
    "--max-concurrent",
    "--workers",
    "--worker-cores",
    "--timeout",
    "--update-max-failure-ratio",
    "--rollback-max-failure-ratio",
}


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (
            f"service create web busybox --restart-max-attempts {HUGE}",
            f"--restart-max-attempts must be a whole number from 0 to 10000, not {HUGE}",
        ),
        (
            f"service create web busybox --update-parallelism {UINT64_PLUS_ONE}",
            "--update-parallelism must be a whole number from 0 to 10000",
        ),
        (
            f"service create web busybox --rollback-parallelism {HUGE}",
            "--rollback-parallelism must be a whole number from 0 to 10000",
        ),
        (
            f"service create web busybox --health-cmd true --health-retries {UINT64_PLUS_ONE}",
            "--health-retries must be a whole number from 0 to 1000",
        ),
        (
            "service create web busybox --restart-max-attempts -1",
            "--restart-max-attempts must be a whole number from 0 to 10000, not -1",
        ),
        (
            f"service update web --update-parallelism {HUGE}",
            "--update-parallelism must be a whole number from 0 to 10000",
        ),
        (
            f"service update web --rollback-parallelism {HUGE}",
            "--rollback-parallelism must be a whole number from 0 to 10000",
        ),
        (f"runs ls --limit {HUGE}", "--limit must be a whole number from 1 to 1000"),
        ("runs ls --limit 0", "--limit must be a whole number from 1 to 1000"),
        (f"spark jobs --limit {HUGE}", "--limit must be a whole number from 1 to 1000"),
    ],
)
def test_numbers_out_of_bounds_are_refused_naming_flag_and_bound(words: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse(words.split())
    assert message in str(raised.value)


def test_numbers_within_bounds_pass() -> None:
    request = parse(
        [
            "service",
            "create",
            "web",
            "busybox",
            "--restart-max-attempts",
            "10000",
            "--update-parallelism",
            "0",
            "--health-cmd",
            "true",
            "--health-retries",
            "1000",
        ]
    )
    assert request.params["restart_max_attempts"] == 10000
    assert request.params["update"] == {"parallelism": 0}
    assert check_number("--tail", None) is None


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        (
            f"    deploy:\n      restart_policy:\n        max_attempts: {HUGE}\n",
            "services.web: deploy.restart_policy.max_attempts must be a whole number from 0",
        ),
        (
            f"    deploy:\n      update_config:\n        parallelism: {UINT64_PLUS_ONE}\n",
            "services.web: deploy.update_config.parallelism must be a whole number from 0",
        ),
        (
            f"    healthcheck:\n      test: [CMD, 'true']\n      retries: {HUGE}\n",
            "services.web: healthcheck.retries must be a whole number from 0 to 1000",
        ),
    ],
)
def test_compose_numbers_have_the_same_bounds(tmp_path: Path, deploy: str, message: str) -> None:
    (tmp_path / "stack.yml").write_text(
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n' + deploy
    )
    _, loaded = read_stack_source([str(tmp_path / "stack.yml")], {})
    with pytest.raises(InvalidRequest) as raised:
        translate("s", loaded.model)
    assert message in str(raised.value)


def test_every_numeric_flag_of_the_grammar_is_bounded() -> None:
    usage()  # loads every command group
    unbounded = []
    for builder in BUILDER_OPS:
        for parameter in inspect.signature(builder).parameters.values():
            annotation = str(parameter.annotation)
            if "int" not in annotation and "float" not in annotation:
                continue
            flags = [d for d in getattr(parameter.default, "param_decls", []) if d.startswith("--")]
            for flag in flags:
                if flag not in FLAG_BOUNDS and flag not in BOUNDED_ELSEWHERE:
                    unbounded.append(f"{BUILDER_OPS[builder]} {flag}")
    assert not unbounded, f"add to limits.FLAG_BOUNDS: {unbounded}"
