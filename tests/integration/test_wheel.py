"""The package as a user installs it: a wheel built from this tree, installed
with pip into a fresh virtualenv, run from a folder outside the checkout.

Its ready-made stacks (``spark``, ``web``) and the Spark image's Dockerfile
must come from the installed package, not from a checkout next to it. The
dependencies are borrowed from this virtualenv's site-packages (a ``.pth``
line, which does not run this venv's editable-install hook), so the test takes
seconds; ``sparkswarm`` itself is only the wheel's.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import sparkswarm, sparkswarm_json, sparkswarm_ok

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# What the wheel is built from; everything else in the checkout must not matter.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "platform", "workers", "bots", "stacks")


@dataclass(frozen=True)
class Installed:
    venv: Path
    package: Path  # the installed sparkswarm folder
    build_log: str
    wheel: Path

    @property
    def command(self) -> str:
        return str(self.venv / "bin" / "sparkswarm")

    def python(self, code: str, cwd: Path) -> str:
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
            env=outside_env(),
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def outside_env() -> dict[str, str]:
    """A user's environment: none of our settings, nothing on PYTHONPATH."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SPARKSWARM_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "tree"
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    pip = [sys.executable, "-m", "pip"]
    built = subprocess.run(
        [*pip, "wheel", "-v", "--no-deps", "-w", str(work / "dist"), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("sparkswarm-*.whl")

    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=120,
    )
    yield Installed(venv, site / "sparkswarm", built.stdout + built.stderr, wheel)


# Source folder -> where it lands inside the installed sparkswarm package.
LAYOUT = {"platform/sparkswarm": ".", "workers": "workers", "bots": "bots", "stacks": "stacks_data"}


def test_the_wheel_builds_without_warnings_and_holds_every_source_file(
    installed: Installed,
) -> None:
    for warning in ("BuildBackendWarning", "absent from the `packages`", "Deprecat"):
        assert warning not in installed.build_log, warning
    for source, target in LAYOUT.items():
        for path in (ROOT / source).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT / source)
                shipped = installed.package / target / relative
                assert shipped.is_file(), f"{source}/{relative} is not in the wheel"
                assert shipped.read_bytes() == path.read_bytes(), f"{source}/{relative} differs"
    licence = next(installed.package.parent.glob("sparkswarm-*.dist-info")) / "licenses"
    assert "Apache License" in (licence / "LICENSE").read_text()


def test_the_installed_package_is_the_wheels_own(installed: Installed, tmp_path: Path) -> None:
    code = (
        "import sparkswarm, sparkswarm.workers, sparkswarm.bots; "
        "from sparkswarm.stacks.params import stacks_dir; "
        "from sparkswarm.images import spark_stack_dir; "
        "print(sparkswarm.__file__, sparkswarm.workers.__file__, sparkswarm.bots.__file__, "
        "stacks_dir(), spark_stack_dir())"
    )
    paths = installed.python(code, tmp_path).split()
    for path in paths:
        assert Path(path).is_relative_to(installed.package), path
    assert (Path(paths[-1]) / "Dockerfile").is_file()
    assert (Path(paths[-1]) / "conf" / "entrypoint.sh").stat().st_mode & 0o111


def test_ready_made_stacks_by_name_from_any_folder(installed: Installed, tmp_path: Path) -> None:
    for stack, sets in (("web", []), ("spark", ["--set", "workers=1"])):
        plan = sparkswarm_json(
            "stack", "diff", stack, *sets,
            env=outside_env(), cwd=tmp_path, executable=installed.command,
        )  # fmt: skip
        assert plan["services"], plan
        assert {s["action"] for s in plan["services"]} <= {"create", "unchanged"}, plan


def test_deploy_and_remove_the_packaged_web_stack(
    installed: Installed, tmp_path: Path, gw: Any, name: Any, web_images: dict[str, str]
) -> None:
    stack = name("wheel")
    port = str(random.randint(21000, 29000))
    stack_file = installed.package / "stacks_data" / "web" / "stack.yml"
    run: dict[str, Any] = {"env": outside_env(), "cwd": tmp_path, "executable": installed.command}
    try:
        deployed = sparkswarm_json(
            "stack", "deploy", stack, "-c", str(stack_file),
            "--set", f"image={web_images['v1']}", "--set", f"port={port}",
            timeout=120, **run,
        )  # fmt: skip
        assert [(s["service"], s["result"]) for s in deployed["services"]] == [("web", "created")]
        # deploy returns once the service converged: its task runs now.
        tasks = gw.api.tasks(filters={"service": f"{stack}_web", "desired-state": "running"})
        assert [t["Status"]["State"] for t in tasks] == ["running"]
        sparkswarm_ok("stack", "rm", stack, **run)
        label = {"label": f"com.docker.stack.namespace={stack}"}
        assert gw.api.services(filters=label) == []
    finally:
        sparkswarm("stack", "rm", stack, **run)
