"""The registry's per-request verdict (sparkswarm.hazards): who may run a
request and whether it asks first, judged from its params, whatever the
words. Table style, no engine: requests are parsed as chat parses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import commands
from sparkswarm.hazards import INGRESS_WARNING, path_allowed, spec_host_access
from sparkswarm.operations import get_operation
from sparkswarm.requests import parse
from sparkswarm.stacks.source import read_stack_source

ROOT_MOUNT = "type=bind,source=/,target=/host"


def verdict(words: str, allow_files: bool = False) -> commands.Policy:
    request = parse(words.split(), allow_files=allow_files)
    return commands.policy(request.op, dict(request.params))


@pytest.fixture(autouse=True)
def allowed_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators may bind-mount /srv/data (and nothing else) in these tests."""
    monkeypatch.setattr("sparkswarm.hazards.allowed_host_paths", lambda: ["/srv/data"])


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (f"service create web busybox --mount {ROOT_MOUNT}", "bind-mounts the host's / at /host"),
        # Spelled around the allow-list: normalised first.
        (
            "service create web busybox --mount type=bind,source=/srv/data/../..,target=/h",
            "bind-mounts the host's / at /h",
        ),
        (
            "service create web busybox --mount type=bind,source=/srv/database,target=/h",
            "bind-mounts the host's /srv/database",
        ),
        (
            "service create web busybox --mount type=bind,src=/var/run/docker.sock,dst=/s",
            "bind-mounts the host's /var/run/docker.sock",
        ),
        ("service create web busybox --network host", "joins the host's network"),
    ],
)
def test_host_access_from_chat_needs_admin_and_a_confirmation(words: str, reason: str) -> None:
    policy = verdict(words)
    assert policy.role == "admin"
    assert policy.destructive
    assert any(reason in hazard for hazard in policy.hazards), policy.hazards


@pytest.mark.parametrize(
    "words",
    [
        "service create web busybox",
        "service create web busybox --mount type=bind,source=/srv/data,target=/d",
        "service create web busybox --mount type=bind,source=/srv/data/in/side,target=/d",
        "service create web busybox --mount type=volume,source=cache,target=/c",
        "service create web busybox --mount type=tmpfs,target=/t",
    ],
)
def test_ordinary_services_stay_with_operators(words: str) -> None:
    policy = verdict(words)
    assert (policy.role, policy.destructive, policy.hazards) == ("operator", False, ())


@pytest.mark.parametrize(
    ("source", "allowed", "expected"),
    [
        ("/srv/data", ["/srv/data"], True),
        ("/srv/data/", ["/srv/data/"], True),
        ("//srv//data/x", ["/srv/data"], True),
        ("/srv/data2", ["/srv/data"], False),
        ("/srv/data/../etc", ["/srv/data"], False),
        ("/", ["/srv"], False),
        ("/anything", ["/"], True),
        ("/x", [], False),
    ],
)
def test_path_allowed(source: str, allowed: list[str], expected: bool) -> None:
    assert path_allowed(source, allowed) is expected


def _spec(container: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {"Name": "s_web", "TaskTemplate": {"ContainerSpec": container, **task}}


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (_spec({"CapabilityAdd": ["CAP_SYS_ADMIN"]}), "adds capabilities CAP_SYS_ADMIN"),
        (
            _spec(
                {
                    "Mounts": [
                        {
                            "Type": "volume",
                            "Source": "rootfs",
                            "Target": "/h",
                            "VolumeOptions": {
                                "DriverConfig": {
                                    "Name": "local",
                                    "Options": {"type": "none", "o": "bind", "device": "/"},
                                }
                            },
                        }
                    ]
                }
            ),
            "mounts the host's / through volume rootfs",
        ),
        (_spec({"Privileges": {"Seccomp": {"Mode": "unconfined"}}}), "without Seccomp"),
        (_spec({"Privileges": {"AppArmor": {"Mode": "unconfined"}}}), "without AppArmor"),
        (_spec({"Privileges": {"SELinuxContext": {"Disable": True}}}), "SELinux"),
        (_spec({}, Networks=[{"Target": "host"}]), "host's network"),
        (_spec({"Mounts": [{"Type": "npipe", "Source": "x", "Target": "/p"}]}), "named pipe"),
    ],
)
def test_spec_host_access(spec: dict[str, Any], reason: str) -> None:
    found = spec_host_access(spec, ["/srv/data"])
    assert any(reason in item for item in found), found


def test_a_plain_spec_reaches_no_host() -> None:
    mounts = [{"Type": "volume", "Source": "v", "Target": "/v"}, {"Type": "tmpfs", "Target": "/t"}]
    assert spec_host_access(_spec({"Mounts": mounts}), []) == []


def _stack_params(tmp_path: Path, text: str) -> dict[str, Any]:
    (tmp_path / "stack.yml").write_text(text)
    params, _ = read_stack_source([str(tmp_path / "stack.yml")], {})
    return {"name": "s", **params, "prune": False}


def test_a_stack_file_goes_through_the_same_check(tmp_path: Path) -> None:
    params = _stack_params(
        tmp_path,
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n'
        "    volumes: ['/:/host']\n    cap_add: [SYS_ADMIN]\n",
    )
    op = get_operation("stack.deploy")
    assert op.role_for(params) == "admin"
    assert op.is_destructive(params)
    hazards = op.hazards(params)
    assert any("s_web bind-mounts the host's / at /host" in h for h in hazards), hazards
    assert any("adds capabilities CAP_SYS_ADMIN" in h for h in hazards), hazards


def test_a_plain_stack_file_is_an_operators(tmp_path: Path) -> None:
    params = _stack_params(
        tmp_path,
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n    volumes: [data:/d]\n'
        "volumes:\n  data: {}\n",
    )
    op = get_operation("stack.deploy")
    assert (op.role_for(params), op.is_destructive(params), op.hazards(params)) == (
        "operator",
        False,
        [],
    )


@pytest.mark.parametrize(
    ("words", "destructive"),
    [
        ("stack deploy spark", False),
        ("stack deploy spark --set workers=0", True),
        ("stack deploy web --prune", True),
        ("stack deploy web", False),
        ("spark up --workers 0", True),
        ("spark up --workers 1", False),
        ("spark up", False),
        ("service scale web=0", True),
        ("service scale web=2", False),
    ],
)
def test_work_stopped_whatever_the_spelling_asks_first(words: str, destructive: bool) -> None:
    policy = verdict(words)
    assert policy.destructive is destructive
    assert policy.role == "operator"


def test_removing_ingress_asks_and_says_what_it_breaks() -> None:
    policy = verdict("network rm ingress")
    assert policy.destructive and policy.hazards == (INGRESS_WARNING,)
    assert "routing mesh" in INGRESS_WARNING and "published" in INGRESS_WARNING
    assert verdict("network rm mynet").hazards == ()


def test_allowed_paths_setting_is_absolute_paths() -> None:
    from sparkswarm.config import Settings
    from sparkswarm.errors import InvalidRequest

    assert Settings(host_mount_paths="/srv/data, /scratch").host_mount_paths == [
        "/srv/data",
        "/scratch",
    ]
    with pytest.raises(InvalidRequest, match="HOST_MOUNT_PATHS"):
        Settings(host_mount_paths="srv/data")


def test_the_confirmation_lists_hazards_escaped_and_cut_visibly() -> None:
    from sparkswarm.bots.present import confirm_blocks

    hazards = ("s_web bind-mounts the host's /a<b>&c at /host", "x" * 300)
    text, blocks = confirm_blocks("id1", "stack deploy web", "U1", 60, hazards)
    assert "/a&lt;b&gt;&amp;c" in text and "<b>" not in text
    assert "x" * 199 + "…" in text and "x" * 200 not in text
    assert blocks[0]["text"]["text"] == text and len(text) < 3000
    many = tuple(f"hazard {i}" for i in range(15))
    text, _ = confirm_blocks("id2", "w", "U1", 60, many)
    assert "hazard 9" in text and "hazard 10" not in text and "and 5 more" in text
