"""Compose files against docker/cli's schema, checked by ``jsonschema``.

Every compose file of the repository (tests, shipped stacks, the bench's
generated file, a file using every section of the schema) must pass, and a
few hundred seeded mutations of them (wrong types, unknown and missing keys,
bad enum values, duplicate list items, bad durations and port specs, deep in
services, deploy, networks, volumes, secrets, configs) are refused with one
line per problem, naming its key path. The lines users see are pinned by
examples; ``jsonschema`` is imported only when a file is validated.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks import compose_schema

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261201
MUTANTS = 600

# Uses every section of the schema, so mutations reach each of them.
KITCHEN_SINK = """
version: "3.13"
services:
  web:
    image: nginx:1
    build: {context: ., dockerfile: Dockerfile, args: {A: "1"}, labels: [a=b], cache_from: [x]}
    cap_add: [NET_ADMIN]
    command: ["nginx", "-g", "daemon off;"]
    configs: [cfg, {source: cfg, target: /etc/c, uid: "0", gid: "0", mode: 292}]
    credential_spec: {file: spec.json}
    deploy:
      mode: replicated
      replicas: 2
      labels: {tier: front}
      endpoint_mode: vip
      rollback_config: {parallelism: 1, delay: 5s, order: stop-first, max_failure_ratio: 0.5}
      update_config: {parallelism: 2, delay: 10s, monitor: 1m, order: start-first}
      resources:
        limits: {cpus: "0.5", memory: 64m, pids: 10}
        reservations:
          cpus: "0.25"
          memory: 32m
          generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      placement:
        constraints: [node.role==manager]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 1
    dns: [8.8.8.8]
    entrypoint: /bin/sh
    env_file: [a.env]
    environment: [A=1, B=2]
    expose: ["80", 443]
    extra_hosts: ["somehost:162.242.195.82"]
    healthcheck: {test: [CMD, "true"], interval: 30s, timeout: 10s, retries: 3, start_period: 5s}
    hostname: web
    init: true
    labels: [a=b]
    logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
    networks:
      front: {aliases: [w], ipv4_address: 10.0.0.2}
      back:
    ports:
      - "8080:80"
      - 9000
      - "127.0.0.1:5000-5001:5000-5001/udp"
      - {target: 80, published: 81, protocol: tcp, mode: ingress}
    secrets: [s1, {source: s1, target: t, uid: "1", mode: 256}]
    stop_grace_period: 1m30s
    sysctls: {net.core.somaxconn: 1024}
    tmpfs: [/run]
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    volumes:
      - data:/data
      - {type: bind, source: /tmp, target: /t, read_only: true, bind: {propagation: rprivate}}
      - {type: volume, source: data, target: /v, volume: {nocopy: true}}
      - {type: tmpfs, target: /tm, tmpfs: {size: 1000}}
    x-note: anything
networks:
  front:
    {driver: overlay, attachable: true, ipam: {driver: default, config: [{subnet: 10.0.0.0/24}]}}
  back: {external: {name: other}}
  labelled: {labels: {a: b}, driver_opts: {encrypted: ""}, internal: true, name: lab}
volumes:
  data: {driver: local, driver_opts: {type: nfs}, labels: [a=b]}
  ext: {external: true, name: outside}
secrets:
  s1: {file: ./s1.txt, labels: {a: b}}
  s2: {external: true, name: s2}
  s3: {name: s3, driver: d, driver_opts: {a: b}, template_driver: golang}
configs:
  cfg: {file: ./c.conf}
  cfg2: {external: {name: other}}
x-anchors: {a: 1}
"""

WRONG_VALUES = [
    "abc",
    "",
    12,
    -3,
    0,
    1.0,
    2.5,
    True,
    False,
    None,
    [],
    {},
    ["a", "a"],
    [1, 1.0],
    [True, 1],
    {"k": 1},
    {"x-k": 1},
    [{"a": 1}, {"a": 1}],
    [[1], [True], [1]],
]
BAD_STRINGS = [
    "soon",
    "5 s",
    "1.5.5s",
    "-",
    "",
    "10",
    "1h30",
    "start-last",
    "sideways",
    "a:b",
    "80/xyz",
    "1:2:3:4",
    "80-81:90-99",
    "0.0.0.0:x:80",
    "[::1]:80:80",
    "65536",
    "1-3:5-6",
]
# (key in a service, value): values that meet rarely used parts of the schema.
TARGETED = [
    ("stop_grace_period", "soon"),
    ("stop_grace_period", 5),
    ("healthcheck", {"interval": "later", "timeout": "1x", "retries": "3"}),
    ("healthcheck", {"disable": "yes", "test": 5}),
    ("deploy", {"update_config": {"order": "sideways", "delay": "1d"}}),
    ("deploy", {"rollback_config": {"order": 1, "monitor": "x"}}),
    (
        "deploy",
        {"restart_policy": {"window": "never"}, "placement": {"preferences": [{"pack": 1}]}},
    ),
    ("deploy", {"resources": {"limits": {"cpus": 1}, "reservations": {"generic_resources": [{}]}}}),
    ("deploy", None),
    ("ports", ["80:80", "80:80"]),
    ("ports", ["x:80", {"target": "eighty"}, True, 1.5]),
    ("ports", [{"target": 80, "published": 81, "extra": 1}]),
    ("volumes", [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": -1}}]),
    ("volumes", [{"source": "a"}, "a:/b", "a:/b"]),
    ("ulimits", {"nofile": {"soft": 1}, "NOFILE": 2, "nproc": "many"}),
    ("build", {"dockerfile": "x"}),
    ("build", 7),
    ("networks", ["a", "a"]),
    ("networks", {"a": {"aliases": "w"}, "b": 3}),
    ("environment", {"A": [1], "B": None, "C": 1.5}),
    ("configs", [{"target": "/x"}, 5]),
    ("secrets", [{"source": "s", "mode": "0400"}]),
    ("logging", {"options": {"a": 1, "b": []}}),
    ("extra_hosts", {"h": "1.2.3.4"}),
    ("command", {"a": 1}),
    ("sysctls", [1, 1]),
]


def _compose_files() -> list[tuple[str, Any]]:
    files = sorted(ROOT.glob("tests/**/*.yml")) + sorted(ROOT.glob("stacks/**/*.yml"))
    docs = [(str(path.relative_to(ROOT)), yaml.safe_load(path.read_text())) for path in files]
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from stack_speed import compose_file
    finally:
        sys.path.remove(str(ROOT / "bench"))
    docs.append(("bench 10 services", yaml.safe_load(compose_file(_tmp(), 10).read_text())))
    docs.append(("kitchen sink", yaml.safe_load(KITCHEN_SINK)))
    return [(name, doc) for name, doc in docs if isinstance(doc, dict)]


def _tmp() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="schemacheck-"))


def _positions(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, value)]
    items: Any = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found += _positions(item, (*path, key))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _mutate(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        positions = _positions(doc)
        kind = rng.choice(("retype", "unknown", "drop", "duplicate", "string", "targeted"))
        dicts = [(p, v) for p, v in positions if isinstance(v, dict)]
        if kind == "retype" and len(positions) > 1:
            path, _ = rng.choice(positions[1:])
            _set(doc, path, copy.deepcopy(rng.choice(WRONG_VALUES)))
        elif kind == "unknown":
            _, target = rng.choice(dicts)
            key = rng.choice(("bogus", "colour", "x-ext", "Image", "ports2"))
            target[key] = rng.choice((1, "v"))
        elif kind == "drop" and any(v for _, v in dicts):
            _, target = rng.choice([(p, v) for p, v in dicts if v])
            del target[rng.choice(sorted(target))]
        elif kind == "duplicate" and any(isinstance(v, list) and v for _, v in positions):
            _, target = rng.choice([(p, v) for p, v in positions if isinstance(v, list) and v])
            target.append(copy.deepcopy(rng.choice(target)))
        elif kind == "string" and any(isinstance(v, str) for _, v in positions[1:]):
            path, _ = rng.choice([(p, v) for p, v in positions[1:] if isinstance(v, str)])
            _set(doc, path, rng.choice(BAD_STRINGS))
        elif kind == "targeted" and isinstance(doc.get("services"), dict) and doc["services"]:
            service = doc["services"][rng.choice(sorted(doc["services"]))]
            if isinstance(service, dict):
                key, value = rng.choice(TARGETED)
                service[key] = copy.deepcopy(value)
    return doc


def _documents() -> list[tuple[str, Any]]:
    rng = random.Random(SEED)
    originals = _compose_files()
    mutants = [
        (f"{name} mutant {index}", _mutate(rng, doc))
        for index in range(MUTANTS)
        for name, doc in [rng.choice(originals)]
    ]
    return originals + mutants


def _keywords(errors: Any) -> set[str]:
    return {e.validator for e in errors}.union(*(_keywords(e.context) for e in errors))


def test_mutants_are_refused_with_one_line_per_problem_naming_its_key() -> None:
    validator = compose_schema._validator()
    keywords: set[str] = set()
    failing = 0
    for name, doc in _documents():
        errors = list(validator.iter_errors(doc))
        keywords |= _keywords(errors)
        if not errors or str(doc.get("version", "3.13")) not in compose_schema.SUPPORTED_VERSIONS:
            continue
        failing += 1
        with pytest.raises(InvalidRequest) as caught:
            compose_schema.validate(doc, filename="f.yml")
        text = str(caught.value)
        assert text.startswith("f.yml: "), name
        lines = text.removeprefix("f.yml: ").split("; ")
        assert 1 <= len(lines) <= min(len(errors), 10) or len(errors) > 10, name
        # a oneOf is explained by the alternative that got furthest, not "not valid under any"
        assert all(
            "is not valid under any of the given schemas" not in line or ":" in line
            for line in lines
        ), name
    # The mutations reach each keyword the schema uses; most mutants are invalid.
    assert keywords >= {
        "type",
        "additionalProperties",
        "required",
        "enum",
        "uniqueItems",
        "minimum",
        "oneOf",
        "format",
    }
    assert failing > MUTANTS // 2


def test_valid_repository_files_pass() -> None:
    from sparkswarm.stacks.interpolate import interpolate_tree

    # As a deploy does: variables first (as the oracle test sets them), then the schema.
    variables = {"PORT_BASE": "400", "SUBNET_OCTET": "120"}
    checked = []
    for name, doc in _compose_files():
        if name.startswith(("tests/", "bench", "kitchen")):
            ready = interpolate_tree(doc, variables.get, filename=name)
            compose_schema.validate(ready, filename=name)  # raises on the first problem
            checked.append(name)
    assert len(checked) >= 3, f"too few compose files found to check: {checked}"


def test_messages_are_worded_as_jsonschema_words_them() -> None:
    doc = {"services": {"w": {"image": 5, "deploy": {"replicas": True}, "ports": ["1:2:3:4"]}}}
    with pytest.raises(InvalidRequest) as caught:
        compose_schema.validate(doc, filename="f.yml")
    assert str(caught.value) == (
        "f.yml: services.w.deploy.replicas: True is not of type 'integer'; "
        "services.w.image: 5 is not of type 'string'; "
        "services.w.ports[0]: '1:2:3:4' is not of type 'number'"
    )


def test_jsonschema_is_imported_only_when_a_file_is_validated() -> None:
    script = (
        "import sys\n"
        "from sparkswarm.stacks import compose_schema\n"
        "print('jsonschema' in sys.modules)\n"
        "compose_schema.validate({'services': {'w': {'image': 'x'}}}, filename='f')\n"
        "print('jsonschema' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False\nTrue\n"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "services": {
                    "w": {
                        "image": "x",
                        "colour": 1,
                        "stop_grace_period": "soon",
                        "ports": ["x:80"],
                        "deploy": {"update_config": {"order": "sideways"}},
                    }
                },
                "bogus": 1,
            },
            "f.yml: (top level): unknown key(s) bogus; services.w: unknown key(s) colour; "
            "services.w.deploy.update_config.order: 'sideways' is not one of "
            "['start-first', 'stop-first']; services.w.ports[0]: 'x:80' is not of type 'number'; "
            "services.w.stop_grace_period: 'soon' is not a 'duration'",
        ),
        (
            {"services": {"w": {"image": "x", "networks": ["a", "a"]}}},
            "f.yml: services.w.networks: ['a', 'a'] has non-unique elements",
        ),
        (
            {"version": "2", "services": {}},
            "f.yml: version: unsupported compose file version '2' (3.0 to 3.13)",
        ),
    ],
)
def test_the_lines_users_see(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        compose_schema.validate(doc, filename="f.yml")
    assert str(caught.value) == message
