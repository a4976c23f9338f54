"""The base of every sparkswarm model: pydantic, built on first use.

pydantic builds a model's validator and serializer when its class is
created, unless the model defers that (``defer_build``): then its first
validation, dump or schema builds them. A command imports modules that
declare several models and uses one or two (``service ls`` loads every
service result and shows ``ServiceSummary`` rows; ``stack ls`` with no stack
shows none), so every model of the project defers its build and a command
pays only for the models it uses. pydantic builds a deferred model under a
lock from 2.14 on (the floor in ``pyproject.toml``): the worker's and the
bot's threads may use a model first at the same time.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["LazyModel"]


class LazyModel(BaseModel):
    """A pydantic model whose validator and serializer are built on first use.

    Subclasses add their own ``model_config`` keys (``frozen``, ``extra``);
    pydantic merges them with this one.
    """

    model_config = ConfigDict(defer_build=True)
