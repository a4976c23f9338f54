"""Secret parameters at rest in Redis: sealed with the key SPARKSWARM_SECRET_KEY.

An operation's ``secret_params`` (a join token, a stack's secret files and
environment) never travel in a Celery message: the message carries them
masked, and the worker reads them from the run's parameters key, which the
run's end deletes. There, and in a schedule's stored definition, each secret
value is sealed (``{"$sealed": <Fernet token>}``) when a key is set, so
neither Redis nor its append-only file ever holds it in clear. Without a key
a run's secrets are kept in clear until the run ends, and schedules with
secret parameters are refused.
"""

from __future__ import annotations

import json
from typing import Any

from sparkswarm.errors import InvalidRequest

SETTING = "SPARKSWARM_SECRET_KEY"
_SEALED = "$sealed"
GENERATE_HINT = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


def _fernet(key: str) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise InvalidRequest(
            f"{SETTING} is not a Fernet key (32 url-safe base64-encoded bytes); {GENERATE_HINT}"
        ) from exc


def secret_values(secret_params: tuple[str, ...], params: dict[str, Any]) -> list[str]:
    """The names of ``params`` that are secret and set (those that get masked)."""
    return [name for name in secret_params if params.get(name)]


def seal_params(
    secret_params: tuple[str, ...], params: dict[str, Any], key: str | None
) -> dict[str, Any]:
    """``params`` with each secret value sealed with ``key``; unchanged
    without a key. InvalidRequest for a malformed key."""
    names = secret_values(secret_params, params)
    if not names or not key:
        return dict(params)
    fernet = _fernet(key)
    sealed = dict(params)
    for name in names:
        token = fernet.encrypt(json.dumps(params[name]).encode()).decode()
        sealed[name] = {_SEALED: token}
    return sealed


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {_SEALED}


def unseal_params(params: dict[str, Any], key: str | None) -> dict[str, Any]:
    """``params`` with every sealed value opened. InvalidRequest, naming the
    setting, when a value is sealed and ``key`` is missing or another key."""
    if not any(is_sealed(v) for v in params.values()):
        return dict(params)
    if not key:
        raise InvalidRequest(f"secret parameters are sealed and {SETTING} is not set here")
    from cryptography.fernet import InvalidToken

    fernet = _fernet(key)
    opened = dict(params)
    for name, value in params.items():
        if is_sealed(value):
            try:
                opened[name] = json.loads(fernet.decrypt(value[_SEALED].encode()))
            except InvalidToken as exc:
                raise InvalidRequest(
                    f"secret parameter {name!r} was sealed with another {SETTING}"
                ) from exc
    return opened
