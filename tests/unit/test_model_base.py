"""Every model of the project defers its build to its first use
(:class:`sparkswarm.model_base.LazyModel`): a command pays only for the
models it uses, not for every model the modules it loads declare."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest
from pydantic import BaseModel, ValidationError

from sparkswarm.model_base import LazyModel


def _all_models() -> list[type[BaseModel]]:
    # workers/ and bots/ are mapped into the package from their own folders.
    import sparkswarm.bots
    import sparkswarm.workers

    for package in (sparkswarm, sparkswarm.workers, sparkswarm.bots):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: list[type[BaseModel]] = []

    def walk(cls: type[BaseModel]) -> None:
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("sparkswarm.") and sub not in found:
                found.append(sub)
            walk(sub)

    walk(BaseModel)
    return found


def test_every_model_defers_its_build() -> None:
    models = _all_models()
    assert len(models) > 30  # the walk found the project's models
    eager = [f"{m.__module__}.{m.__qualname__}" for m in models if not issubclass(m, LazyModel)]
    assert not eager, "declare these as LazyModel (sparkswarm.model_base)"
    assert all(m.model_config.get("defer_build") for m in models)


def test_a_model_is_built_on_first_use_only() -> None:
    code = (
        "from sparkswarm.spark import status as m\n"
        "assert not m.SparkApp.__pydantic_complete__\n"
        "app = m.SparkApp(id='a-1', name='pi', state='RUNNING', cores=1, duration_ms=5)\n"
        "assert m.SparkApp.__pydantic_complete__\n"
        "assert not m.SparkWorker.__pydantic_complete__\n"
        "print(app.model_dump_json())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert '"name":"pi"' in done.stdout


def test_frozen_and_forbidding_models_keep_their_own_config() -> None:
    from sparkswarm.services.specs import ServiceOptions

    assert ServiceOptions.model_config.get("frozen") is True
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ServiceOptions.model_validate({"no_such_option": 1})


def test_threads_that_use_a_model_first_at_once_all_validate_with_it() -> None:
    # pydantic builds a deferred model under a lock (>= 2.14): without it a
    # thread could validate with a half-built model's parent validator.
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from pydantic import ValidationError\n"
        "from sparkswarm.services.specs import ServiceOptions\n"
        "def use(i):\n"
        "    try:\n"
        "        ServiceOptions.model_validate({'replicas': i, 'bogus': 1})\n"
        "    except ValidationError as exc:\n"
        "        return exc.errors()[0]['type']\n"
        "    return 'accepted'\n"
        "with ThreadPoolExecutor(16) as pool:\n"
        "    print(sorted(set(pool.map(use, range(64)))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['extra_forbidden']"
