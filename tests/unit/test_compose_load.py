"""Loading: long forms, env files, merge semantics, references and errors."""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.compose_load import load_stack
from sparkswarm.stacks.compose_merge import merge_files
from sparkswarm.stacks.compose_normalise import parse_port_spec, parse_volume_spec


def _load(
    *texts: str, env: dict[str, str] | None = None, files: dict[str, bytes] | None = None
) -> Any:
    def read(path: str) -> bytes:
        if files and path in files:
            return files[path]
        raise OSError("no such file")

    named = [(f"f{i}.yml", text) for i, text in enumerate(texts)]
    return load_stack(named, env=env or {}, working_dir="/work/s", read_file=read)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", [(0, 80, "tcp")]),
        ("8080:80", [(8080, 80, "tcp")]),
        ("127.0.0.1:8080:80/udp", [(8080, 80, "udp")]),
        ("9000-9001:7000-7001", [(9000, 7000, "tcp"), (9001, 7001, "tcp")]),
        ("9000-9001:80", [(9000, 80, "tcp"), (9001, 80, "tcp")]),
    ],
)
def test_port_short_syntax(spec: str, expected: list[tuple[int, int, str]]) -> None:
    ports = parse_port_spec(spec)
    assert [(p["published"], p["target"], p["protocol"]) for p in ports] == expected
    assert {p["mode"] for p in ports} == {"ingress"}


@pytest.mark.parametrize("spec", ["", "a:80", "80/xyz", "1-2-3", "9000-9002:80-81"])
def test_bad_port_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_port_spec(spec)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/data", {"type": "volume", "target": "/data"}),
        ("data:/d", {"type": "volume", "source": "data", "target": "/d"}),
        (
            "data:/d:ro,nocopy",
            {
                "type": "volume",
                "source": "data",
                "target": "/d",
                "read_only": True,
                "volume": {"nocopy": True},
            },
        ),
        (
            "./x:/x:rshared",
            {"type": "bind", "source": "./x", "target": "/x", "bind": {"propagation": "rshared"}},
        ),
        ("/h:/c:rw", {"type": "bind", "source": "/h", "target": "/c", "read_only": False}),
    ],
)
def test_volume_short_syntax(spec: str, expected: dict[str, Any]) -> None:
    assert parse_volume_spec(spec) == expected


def test_long_forms_env_file_and_paths() -> None:
    loaded = _load(
        """
services:
  web:
    image: img
    command: echo "hello world"
    environment: [A=1, B, C=]
    env_file: web.env
    labels: [x=1, y]
    ports: ["8080:80"]
    volumes: ["./data:/data", "named:/n"]
    secrets: [s]
volumes:
  named: {}
secrets:
  s: {file: ./secret.txt}
""",
        env={"B": "from-env", "C": "also-env"},
        files={"/work/s/web.env": b"# c\nFILE=1\nA=file\n", "/work/s/secret.txt": b"k"},
    )
    web = loaded.model["services"]["web"]
    assert web["command"] == ["echo", "hello world"]
    # environment wins over env_file; unset/empty values come from the environment
    assert web["environment"] == {"FILE": "1", "A": "1", "B": "from-env", "C": "also-env"}
    assert web["labels"] == {"x": "1", "y": ""}
    assert web["ports"] == [{"mode": "ingress", "protocol": "tcp", "target": 80, "published": 8080}]
    assert web["volumes"][0] == {"type": "bind", "source": "/work/s/data", "target": "/data"}
    assert web["secrets"] == [{"source": "s"}]
    assert loaded.model["secrets"]["s"]["data_b64"] == "aw=="
    assert set(loaded.files_read) == {"/work/s/web.env", "/work/s/secret.txt"}
    assert loaded.used_env == {"B": "from-env", "C": "also-env"}


def test_merge_semantics() -> None:
    base = {
        "services": {
            "web": {
                "image": "a",
                "command": ["x"],
                "environment": {"A": "1", "B": "2"},
                "ports": [{"target": 80, "published": 8080}],
                "volumes": [{"type": "volume", "target": "/d", "source": "v1"}],
                "secrets": [{"source": "s1"}],
                "dns": ["1.1.1.1"],
                "deploy": {"replicas": 1, "labels": {"a": "1"}},
            }
        },
        "networks": {"n": {"driver": "overlay", "attachable": True}},
    }
    override = {
        "services": {
            "web": {
                "image": "b",
                "command": ["y", "z"],
                "environment": {"B": "3"},
                "ports": [{"target": 81, "published": 8081}],
                "volumes": [{"type": "volume", "target": "/d", "source": "v2"}],
                "secrets": [{"source": "s1", "target": "t"}, {"source": "s0"}],
                "dns": ["8.8.8.8"],
                "deploy": {"labels": {"b": "2"}},
            },
            "extra": {"image": "c"},
        },
        "networks": {"n": {"driver": "overlay"}},
    }
    merged = merge_files([base, override])
    web = merged["services"]["web"]
    assert web["image"] == "b"
    assert web["command"] == ["y", "z"]
    assert web["environment"] == {"A": "1", "B": "3"}
    assert [p["published"] for p in web["ports"]] == [8080, 8081]
    assert web["volumes"] == [{"type": "volume", "target": "/d", "source": "v2"}]
    assert web["secrets"] == [{"source": "s0"}, {"source": "s1", "target": "t"}]
    assert web["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert web["deploy"] == {"replicas": 1, "labels": {"a": "1", "b": "2"}}
    assert merged["services"]["extra"] == {"image": "c"}
    assert merged["networks"]["n"] == {"driver": "overlay"}  # replaced whole
    assert base["services"]["web"]["image"] == "a"  # inputs untouched


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: [", r"f0\.yml: invalid YAML"),
        ("- a\n- b\n", r"f0\.yml: the top level must be a mapping"),
        (
            "services:\n  w:\n    image: x\n    bogus: 1\n",
            r"f0\.yml: services\.w: unknown key\(s\) bogus",
        ),
        ("services:\n  w:\n    image: x\n    extends: y\n", r"f0\.yml: services\.w\.extends"),
        (
            "services:\n  w:\n    image: x\n    networks: [n]\n",
            r"f0\.yml: services\.w\.networks\.n: undefined network 'n'",
        ),
        (
            "services:\n  w:\n    image: x\n    secrets: [s]\n",
            r"services\.w\.secrets: undefined secret",
        ),
        ("services:\n  w:\n    image: x\n    volumes: ['v:/v']\n", r"undefined volume 'v'"),
        (
            "services:\n  w:\n    image: x\n    stop_grace_period: soon\n",
            r"services\.w\.stop_grace_period",
        ),
        ("version: '2'\nservices: {}\n", r"unsupported compose file version"),
        (
            "services:\n  w:\n    image: x\n    deploy: {mode: weird}\n",
            r"^f0\.yml: services\.w: deploy\.mode: unknown mode 'weird'",
        ),
        (
            "services:\n  w:\n    image: x\n    restart: sometimes\n",
            r"^f0\.yml: services\.w: restart: unknown policy 'sometimes'",
        ),
        (
            "services:\n  w:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {file: ./s.txt}\n",
            r"^f0\.yml: secrets\.s\.file: cannot read /work/s/s\.txt",
        ),
        (
            "services:\n  w:\n    image: x\n    deploy: {resources: {limits: {memory: lots}}}\n",
            r"^f0\.yml: services\.w\.deploy\.resources\.limits\.memory: invalid size: 'lots'",
        ),
        (
            "services:\n  w:\n    image: x\n"
            "    deploy: {resources: {reservations: {cpus: half}}}\n",
            r"^f0\.yml: services\.w\.deploy\.resources\.reservations\.cpus: failed to parse",
        ),
        ("services:\n  w:\n    build: .\n", r"services\.w\.image: an image is required"),
    ],
)
def test_errors_name_file_and_key(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        _load(text)


def test_translation_error_names_the_file_whose_value_won() -> None:
    base = "services:\n  w:\n    image: x\n    deploy: {resources: {limits: {memory: 1g}}}\n"
    override = "services:\n  w:\n    deploy: {resources: {limits: {memory: lots}}}\n"
    with pytest.raises(InvalidRequest, match=r"^f1\.yml: services\.w\.deploy\.resources"):
        _load(base, override)
    # The other way round the later file fixes the value, as with the docker CLI.
    loaded = _load(override.replace("    deploy", "    image: x\n    deploy"), base)
    assert loaded.model["services"]["w"]["deploy"]["resources"]["limits"]["memory"] == "1g"


def test_error_in_second_file_names_it() -> None:
    with pytest.raises(InvalidRequest, match=r"^f1\.yml: services\.w\.networks\.n"):
        _load("services:\n  w:\n    image: x\n", "services:\n  w:\n    networks: [n]\n")


def test_ignored_keys_warn() -> None:
    loaded = _load("services:\n  w:\n    image: x\n    depends_on: [y]\n    container_name: c\n")
    assert any("depends_on is ignored" in w for w in loaded.warnings)
    assert any("container_name is ignored" in w for w in loaded.warnings)
