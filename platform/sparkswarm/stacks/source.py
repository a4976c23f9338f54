"""The JSON-able input of a stack operation, and how to build it from disk.

The CLI reads the compose files and everything they refer to (env files,
config/secret files) and validates them *before* submitting, so a bad file
fails at once and changes nothing. What was read travels in the operation's
params (a queue worker may run on another machine) and is loaded again there
from the recording, never from the worker's disk.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

from sparkswarm.bounded import MAX_YAML_BYTES, MiB, read_limited, read_text_bounded
from sparkswarm.stacks.compose_load import LoadedStack, load_stack

# env_file, config and secret files; swarm itself caps configs and secrets at 500 KiB.
MAX_ATTACHMENT_BYTES = MiB


def _read_disk(path: str) -> bytes:
    return read_limited(path, MAX_ATTACHMENT_BYTES)


def read_stack_source(
    paths: list[str], env: Mapping[str, str]
) -> tuple[dict[str, Any], LoadedStack]:
    """Load ``paths`` from disk; return the operation params for them and the load.

    The params hold the file texts, the working directory, only the variables
    the files used (``env``) and the files they referred to (``attachments``,
    base64). Raises InvalidRequest naming the file and key on any problem.
    """
    files: list[tuple[str, str]] = []
    for path in paths:
        files.append((path, read_text_bounded(path, MAX_YAML_BYTES, "compose file")))
    working_dir = os.path.dirname(os.path.abspath(paths[0])) if paths else os.getcwd()
    loaded = load_stack(files, env=env, working_dir=working_dir, read_file=_read_disk)
    _refuse(loaded)
    params = {
        "files": [{"name": name, "text": text} for name, text in files],
        "working_dir": working_dir,
        "env": dict(loaded.used_env),
        "attachments": {
            path: base64.b64encode(data).decode() for path, data in loaded.files_read.items()
        },
    }
    return params, loaded


def load_stack_source(
    files: list[dict[str, str]],
    working_dir: str,
    env: Mapping[str, str],
    attachments: Mapping[str, str],
) -> LoadedStack:
    """Load a stack again from what :func:`read_stack_source` recorded."""

    def read(path: str) -> bytes:
        if path not in attachments:
            raise OSError(f"{path} was not sent with the request")
        return base64.b64decode(attachments[path])

    loaded = load_stack(
        [(f["name"], f["text"]) for f in files], env=env, working_dir=working_dir, read_file=read
    )
    _refuse(loaded)
    return loaded


def _refuse(loaded: LoadedStack) -> None:
    """Stack rules beyond compose's own, checked on both sides (before
    submitting, and on the worker): a Spark Connect server is published
    only with a token."""
    from sparkswarm.spark.connect import refuse_open_connect

    refuse_open_connect(loaded.model)
