"""The settings reader without pydantic: each field kind's parser (good and
bad values), ``.env`` through python-dotenv, ``from_environment``'s precedence
and the regression guard that reading settings imports no pydantic nor
pydantic_settings, and python-dotenv only when a ``.env`` exists."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from sparkswarm import config_values as v
from sparkswarm.config import Settings, from_environment
from sparkswarm.errors import InvalidRequest


@pytest.mark.parametrize(("dot_env", "loaded"), [(False, "[]"), (True, "['dotenv']")])
def test_reading_settings_imports_no_pydantic_and_dotenv_only_for_a_dot_env(
    tmp_path: Path, dot_env: bool, loaded: str
) -> None:
    if dot_env:
        (tmp_path / ".env").write_text("SPARKSWARM_QUEUE=q\n")
    script = (
        "import sys, sparkswarm.config as c\n"
        f"assert c.get_settings().queue == {'q' if dot_env else 'sparkswarm'!r}\n"
        "print(sorted(m for m in ('pydantic', 'pydantic_settings', 'dotenv') if m in sys.modules))"
    )
    env = {k: val for k, val in os.environ.items() if not k.startswith("SPARKSWARM_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == loaded + "\n"


GOOD = [
    # parser, value, parsed
    (v.boolean, "true", True),
    (v.boolean, "Yes", True),
    (v.boolean, "oN", True),
    (v.boolean, "1", True),
    (v.boolean, "f", False),
    (v.boolean, "OFF", False),
    (v.boolean, False, False),
    (v.integer(ge=1), "5", 5),
    (v.integer(ge=1), " 5 ", 5),
    (v.integer(ge=1), "1_000", 1000),
    (v.integer(ge=1), "+7", 7),
    (v.integer(ge=1), "3.0", 3),
    (v.integer(gt=0), 12, 12),
    (v.seconds, "2.5", 2.5),
    (v.seconds, " 1e3 ", 1000.0),
    (v.seconds, ".5", 0.5),
    (v.seconds, 4, 4.0),
    (v.text(min_length=1), " ", " "),
    (v.optional(v.text()), "", ""),
    (v.optional(v.text()), None, None),
    (v.folder_or_unset, "", None),
    (v.folder_or_unset, "/srv/stacks", Path("/srv/stacks")),
    (v.comma_list, "", []),
    (v.comma_list, " , ", []),
    (v.comma_list, "a, b ,,c", ["a", "b", "c"]),
    (v.comma_list, '["a"]', ['["a"]']),  # not JSON, as NoDecode had it
    (v.comma_list, ["x"], ["x"]),
    (v.managers, "unix:///x.sock, ssh://me@host", ["unix:///x.sock", "ssh://me@host"]),
    (v.managers, "tcp://[::1]:2376", ["tcp://[::1]:2376"]),
    (v.redis_url, "", None),
    (v.redis_url, "rediss://:pw@redis.example:6380/2", "rediss://:pw@redis.example:6380/2"),
]


@pytest.mark.parametrize(("parse", "value", "parsed"), GOOD)
def test_good_values_parse(parse: v.Parser[object], value: object, parsed: object) -> None:
    assert parse(value) == parsed


BAD = [
    # parser, value, words of the refusal
    (v.boolean, "perhaps", "valid boolean"),
    (v.boolean, " yes", "valid boolean"),
    (v.boolean, "", "valid boolean"),
    (v.integer(ge=1), "1.5", "valid integer"),
    (v.integer(ge=1), "1e3", "valid integer"),
    (v.integer(ge=1), "0x10", "valid integer"),
    (v.integer(ge=1), "\u0663", "valid integer"),  # an Arabic-Indic 3: int() takes it
    (v.integer(ge=1), "", "valid integer"),
    (v.integer(ge=1), True, "valid integer"),
    (v.integer(ge=1), "0", "greater than or equal to 1"),
    (v.integer(gt=0), "-3", "greater than 0"),
    (v.seconds, "abc", "valid number"),
    (v.seconds, "", "valid number"),
    (v.seconds, "nan", "finite"),
    (v.seconds, "-inf", "finite"),
    (v.seconds, "Infinity", "finite"),
    (v.seconds, "0", "greater than 0"),
    (v.seconds, "-1", "greater than 0"),
    (v.seconds, "1e-400", "greater than 0"),
    (v.seconds, True, "valid number"),
    (v.text(min_length=1), "", "at least 1 character"),
    (v.text(), 3, "valid string"),
    (v.comma_list, 3, "comma-separated"),
    (v.managers, "docker.example:2375", "not a manager endpoint"),
    (v.managers, "tcp://[::1", "not a valid endpoint"),
    (v.managers, "tcp://h:x", "not a valid endpoint"),
    (v.managers, "tcp://:1", "has no host"),
    (v.managers, "unix://", "has no socket path"),
    (v.redis_url, "127.0.0.1:6391", "expected redis://"),
    (v.redis_url, " ", "expected redis://"),
    (v.redis_url, "redis:/127.0.0.1:6379", "expected redis://"),
    (v.redis_url, "redis://:s3cret@h:port/0", "not a valid URL"),
]


@pytest.mark.parametrize(("parse", "value", "words"), BAD)
def test_bad_values_are_refused_with_the_rule(
    parse: v.Parser[object], value: object, words: str
) -> None:
    with pytest.raises(ValueError, match=words) as raised:
        parse(value)
    assert "s3cret" not in str(raised.value)


def test_secrets_never_show() -> None:
    token = SecretStr("xoxb-123")
    settings = Settings(slack_bot_token=token, secret_key="k" * 8)  # type: ignore[arg-type]
    assert token.get_secret_value() == "xoxb-123"
    assert settings.secret_key == SecretStr("k" * 8)
    shown = f"{settings!r} {settings} {token} {token!r}"
    assert "xoxb" not in shown and "kkkk" not in shown
    assert "SecretStr('**********')" in shown
    assert settings.secret_values() == ["xoxb-123", "k" * 8]
    assert v.secret("") == SecretStr("") and str(SecretStr("")) == ""


def test_keywords_are_parsed_as_variables_and_every_problem_is_named() -> None:
    settings = Settings(heartbeat_ttl="4", tls_verify="yes", bot_admins="U1,U2")  # type: ignore[arg-type]
    assert (settings.heartbeat_ttl, settings.tls_verify) == (4.0, True)
    assert settings.bot_admins == ["U1", "U2"]
    assert replace(settings, queue="other").queue == "other"
    with pytest.raises(InvalidRequest) as raised:
        replace(settings, queue="", lost_after=float("nan"))
    assert str(raised.value) == (
        "invalid configuration: SPARKSWARM_QUEUE: String should have at least 1 character; "
        "SPARKSWARM_LOST_AFTER: Input should be a finite number"
    )


def test_dot_env_is_read_by_python_dotenv_with_its_syntax(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTER", "outer")
    (tmp_path / ".env").write_text(
        "# c\nexport BASE=b # note\nSPARKSWARM_QUEUE = ${BASE}-${OUTER}-${NOPE:-d}\n"
        "SPARKSWARM_KEY_PREFIX='x \\' y'\nbad line\n"
    )
    settings = from_environment({}, tmp_path / ".env")
    assert (settings.queue, settings.key_prefix) == ("b-outer-d", "x ' y")


def test_the_environment_beats_dot_env_and_names_are_case_insensitive(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SPARKSWARM_QUEUE=from-file\nsparkswarm_key_prefix=file:\n"
        "SPARKSWARM_MAX_REPLICAS=7\nSPARKSWARM_NOT_A_SETTING=x\nOTHER=y\nSPARKSWARM_LAB_DIR\n"
    )
    environ = {"SPARKSWARM_QUEUE": "from-env", "Sparkswarm_Heartbeat_Ttl": "3", "HOME": "/h"}
    settings = from_environment(environ, env_file)
    assert settings.queue == "from-env"
    assert settings.key_prefix == "file:"
    assert (settings.max_replicas, settings.heartbeat_ttl) == (7, 3.0)
    assert settings.lab_dir == "/var/lib/sparkswarm-lab"  # a bare NAME is unset
    assert from_environment({}, tmp_path / "missing.env") == Settings()
    assert from_environment({}, None) == Settings()


def test_a_bad_value_in_dot_env_names_the_variable(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SPARKSWARM_REDIS_URL=localhost:6379\n")
    with pytest.raises(InvalidRequest, match=r"^invalid configuration: SPARKSWARM_REDIS_URL: "):
        from_environment({}, env_file)
    assert from_environment({"SPARKSWARM_REDIS_URL": ""}, env_file).redis_url is None


def test_an_unreadable_dot_env_is_a_configuration_error(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"SPARKSWARM_QUEUE=\xff\n")
    with pytest.raises(InvalidRequest, match=r"cannot read .*\.env: not UTF-8"):
        from_environment({}, env_file)
