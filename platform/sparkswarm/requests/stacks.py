"""The ``stack`` and ``images`` commands.

Compose files are read and validated here, before anything is submitted: a
bad file is refused and nothing changes. What was read travels in the
request's params, so a queue worker needs no access to this disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sparkswarm.errors import InvalidRequest
from sparkswarm.requests.builders import group, local_files_allowed, without_none
from sparkswarm.requests.model import Request, request

stack = group("stack", "Deploy, inspect, roll back and remove stacks.")
stack.terminal("diff", "compares files of this machine with the swarm in a terminal")
images = group("images", "Build images locally (no registry needed).")

FILES = typer.Option(
    None, "--compose-file", "-c", help="Compose file (repeat to merge, later files win)."
)
SETS = typer.Option(None, "--set", help="Stack parameter key=value (repeatable).")
STACK_NAME = typer.Argument(..., help="Stack name.")


def deploy_params(
    name: str, files: list[str] | None, sets: list[str] | None
) -> tuple[dict[str, Any], Any]:
    """The params of a deploy of ``name`` (files read and validated) and the load.

    Without files, ``name`` is a ready-made stack. Raises InvalidRequest for
    a bad name, file, key or parameter.
    """
    from sparkswarm.stacks.convert import translate, validate_stack_name
    from sparkswarm.stacks.params import (
        interpolation_env,
        parse_sets,
        ready_made_file,
        secrets_to_generate,
        stack_paths,
    )
    from sparkswarm.stacks.source import read_stack_source

    validate_stack_name(name)
    if files and not local_files_allowed():
        raise InvalidRequest(
            "compose files of this host cannot be named from here; deploy a ready-made stack"
        )
    paths = [Path(f) for f in files] if files else [ready_made_file(name)]
    values = parse_sets(sets or [])
    env = interpolation_env(paths[0], values)
    paths = stack_paths(paths, env)
    params, loaded = read_stack_source([str(p) for p in paths], env)
    # Translated here too (pure, milliseconds): replica limits and every
    # conversion error refuse the request before it is submitted.
    translate(name, loaded.model)
    generated = secrets_to_generate(paths[0], env)
    return {"name": name, **params, "generated_secrets": generated}, loaded


@stack.command("deploy", "stack.deploy")
def deploy(
    name: str = typer.Argument(..., help="Stack name (also a ready-made stack's name)."),
    files: list[str] | None = FILES,
    sets: list[str] | None = SETS,
    prune: bool = typer.Option(False, "--prune", help="Remove services no longer in the files."),
) -> Request:
    """Create or update stack NAME from compose files (or the ready-made stack NAME)."""
    params, loaded = deploy_params(name, files, sets)
    return request("stack.deploy", {**params, "prune": prune}, warnings=tuple(loaded.warnings))


@stack.command("rm", "stack.rm")
def remove(name: str = STACK_NAME) -> Request:
    """Remove stack NAME: services, networks, configs and secrets it created."""
    from sparkswarm.stacks.convert import validate_stack_name

    return request("stack.rm", {"name": validate_stack_name(name)})


@stack.command("rollback", "stack.rollback")
def rollback(name: str = STACK_NAME) -> Request:
    """Return stack NAME to its previously deployed version (of the last 5 kept)."""
    from sparkswarm.stacks.convert import validate_stack_name

    return request("stack.rollback", {"name": validate_stack_name(name)})


@stack.command("ls", "stack.ls")
def list_() -> Request:
    """List stacks (services labelled com.docker.stack.namespace)."""
    return request("stack.ls")


@stack.command("services", "stack.services")
def services(name: str = STACK_NAME) -> Request:
    """List the services of stack NAME."""
    from sparkswarm.stacks.convert import validate_stack_name

    return request("stack.services", {"name": validate_stack_name(name)})


@stack.command("ps", "stack.ps")
def ps(name: str = STACK_NAME) -> Request:
    """List the tasks of stack NAME."""
    from sparkswarm.stacks.convert import validate_stack_name

    return request("stack.ps", {"name": validate_stack_name(name)})


@images.command("build", "image.build")
def build(
    name: str = typer.Argument(
        ...,
        help="What to build: spark, web (the demo web images v1 and v2), "
        "platform (sparkswarm itself, from this checkout), redis (the platform's Redis) "
        "or prometheus (for platform up --monitoring).",
    ),
    base: str | None = typer.Option(
        None, "--base", help="Base image (default sparkswarm/base:bookworm, made with mmdebstrap)."
    ),
    tag: str | None = typer.Option(
        None, "--tag", "-t", help="Tag (default sparkswarm/spark:<version>)."
    ),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build even if the tag exists."),
    cache_dir: str | None = typer.Option(
        None, "--cache-dir", help="Where pyspark is downloaded and unpacked once."
    ),
) -> Request:
    """Build the Spark image (Java 17, Python 3.11, pinned pyspark) on the engine.

    With the default tag the image is also tagged apache/spark:<version>-python3,
    the spark stack's default image, so `stack deploy spark` needs no registry.
    """
    from sparkswarm.images import BUILDABLE, validate_image_ref

    if name not in BUILDABLE:
        raise InvalidRequest(
            f"nothing to build called {name!r}: spark, web, platform, redis or prometheus"
        )
    for ref, what in ((base, "--base"), (tag, "--tag")):
        if ref is not None:
            validate_image_ref(ref, what)
    params = {"name": name, "base": base, "tag": tag, "rebuild": rebuild, "cache_dir": cache_dir}
    return request("image.build", without_none(params))
