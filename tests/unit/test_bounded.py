"""Hostile files: bounded reads and bounded YAML (sparkswarm.bounded), no engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkswarm.bounded import (
    MAX_YAML_VALUES,
    expanded_size,
    load_yaml,
    read_bounded,
    read_limited,
)
from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.compose_load import load_stack, parse_yaml
from sparkswarm.stacks.source import read_stack_source


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return (
        "\n".join(lines) + f"\nservices:\n  web:\n    image: busybox\n    labels: *a{levels - 1}\n"
    )


def test_billion_laughs_is_refused_without_expanding_it() -> None:
    with pytest.raises(InvalidRequest, match=r"stack.yml: more than .* values once YAML aliases"):
        parse_yaml(billion_laughs(), "stack.yml")


def test_billion_laughs_through_the_whole_loader() -> None:
    with pytest.raises(InvalidRequest, match="billion laughs"):
        load_stack(
            [("stack.yml", 'version: "3.8"\n' + billion_laughs())],
            env={},
            working_dir="/tmp",
            read_file=lambda path: b"",
        )


def test_a_few_shared_anchors_are_fine() -> None:
    text = (
        "x: &x {a: 1, b: [1, 2]}\nservices: {a: {image: i, labels: *x}, b: {image: i, labels: *x}}"
    )
    assert parse_yaml(text, "f.yml")["services"]["b"]["labels"] == {"a": 1, "b": [1, 2]}


@pytest.mark.parametrize(
    ("data", "size"),
    [(1, 1), ([], 1), ([1, 2], 3), ({"a": 1}, 3), ({"a": [1, {"b": 2}]}, 7)],
)
def test_expanded_size_counts_every_value(data: object, size: int) -> None:
    assert expanded_size(data, "f") == size


def test_expanded_size_counts_shared_objects_each_time_they_appear() -> None:
    shared = list(range(10))
    assert expanded_size([shared, shared, shared], "f") == 1 + 3 * 11
    with pytest.raises(InvalidRequest, match="more than 30 values"):
        expanded_size([shared, shared, shared], "f", limit=30)


def test_recursive_anchor_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="refers to itself"):
        load_yaml("a: &a [1, *a]\n", "f.yml")


def test_document_size_is_bounded() -> None:
    with pytest.raises(InvalidRequest, match=r"big.yml: larger than the limit"):
        load_yaml("x: " + "a" * (2 * 1024 * 1024), "big.yml")


def test_deep_nesting_is_a_refusal_not_a_crash() -> None:
    with pytest.raises(InvalidRequest, match=r"deep.yml"):
        load_yaml("[" * 100_000 + "]" * 100_000, "deep.yml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: [\n", r"stack.yml: invalid YAML: line 2, column 1: .*"),
        ("a: b: c\n", r"stack.yml: invalid YAML: line 1, column 5: mapping values"),
        ("a: 'open\n", r"stack.yml: invalid YAML: line 2"),
    ],
)
def test_yaml_errors_name_the_file_on_one_line(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as raised:
        load_yaml(text, "stack.yml")
    assert "<unicode string>" not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_max_values_allows_a_large_real_file() -> None:
    services = "".join(
        f"  s{i}:\n    image: busybox\n    environment: {{A: '1', B: '2'}}\n" for i in range(200)
    )
    data = load_yaml("services:\n" + services, "f.yml")
    assert expanded_size(data, "f.yml") < MAX_YAML_VALUES


def test_read_limited_refuses_a_device_before_reading() -> None:
    with pytest.raises(OSError, match=r"not a regular file \(a character device\)"):
        read_limited("/dev/zero", 1024)


def test_read_limited_refuses_a_fifo_instead_of_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "stack.yml"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match=r"not a regular file \(a FIFO\)"):
        read_limited(str(fifo), 1024)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  web:\n    image: a\n  db:\n    image: b\n  web:\n    image: c\n",
            'line 6, column 3: mapping key "web" already defined at line 2',
        ),
        ("a: 1\nb: 2\n'a': 3\n", 'mapping key "a" already defined at line 1'),
        ("x:\n  - {k: 1, k: 2}\n", 'mapping key "k" already defined at line 2'),
    ],
)
def test_duplicate_keys_are_refused_with_their_line(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        load_yaml(text, "stack.yml")
    assert str(raised.value).startswith("stack.yml: invalid YAML: ")
    assert message in str(raised.value)


def test_keys_from_a_merge_may_be_overridden() -> None:
    data = load_yaml("base: &b {a: 1, c: 2}\nweb:\n  <<: *b\n  a: 3\n", "stack.yml")
    assert data["web"] == {"a": 3, "c": 2}


def test_read_limited_refuses_a_large_file_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024 * 1024)  # sparse: nothing is written
    with pytest.raises(OSError, match="over the limit"):
        read_limited(str(big), 1024)
    assert read_limited(str(big), 20 * 1024 * 1024)[:4] == b"\0\0\0\0"


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.yml", "no such file or directory"), (".", "is a directory")],
)
def test_read_bounded_says_why_once(tmp_path: Path, name: str, message: str) -> None:
    path = str(tmp_path / name)
    with pytest.raises(InvalidRequest) as raised:
        read_bounded(path, 1024, "compose file")
    text = str(raised.value)
    assert text == f"compose file {path}: {message}"
    assert "Errno" not in text


def test_stack_attachments_are_read_bounded(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n    env_file: zero.env\n'
    )
    (tmp_path / "zero.env").symlink_to("/dev/zero")
    with pytest.raises(InvalidRequest, match=r"env_file: cannot read .*zero.env: not a regular"):
        read_stack_source([str(tmp_path / "stack.yml")], {})


def test_missing_compose_file_names_the_path_once(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yml")
    with pytest.raises(InvalidRequest) as raised:
        read_stack_source([path], {})
    assert str(raised.value).count(path) == 1
