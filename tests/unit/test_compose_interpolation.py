"""Interpolation: the Docker CLI's template rules, table tests and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.interpolate import TemplateError, interpolate_tree, substitute

ENV = {"SET": "value", "EMPTY": ""}

TABLE = [
    ("plain", "plain"),
    ("$$", "$"),
    ("$$SET", "$SET"),
    ("$SET", "value"),
    ("${SET}", "value"),
    ("a${SET}b", "avalueb"),
    ("${UNSET}", ""),
    ("${UNSET:-fallback}", "fallback"),
    ("${EMPTY:-fallback}", "fallback"),
    ("${SET:-fallback}", "value"),
    ("${UNSET-fallback}", "fallback"),
    ("${EMPTY-fallback}", ""),
    ("${SET-fallback}", "value"),
    ("${EMPTY?msg}", ""),
    ("${SET:?msg}", "value"),
    ("${UNSET:-a b c}", "a b c"),
    ("$SET-x", "value"),  # the CLI's quirk: unbraced names take operators too
    ("${SET}${SET}", "valuevalue"),
]


@pytest.mark.parametrize(("template", "expected"), TABLE)
def test_substitute_table(template: str, expected: str) -> None:
    assert substitute(template, ENV.get) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${UNSET:?give it}", "required variable UNSET is missing a value: give it"),
        ("${EMPTY:?give it}", "required variable EMPTY is missing a value: give it"),
        ("${UNSET?give it}", "required variable UNSET is missing a value: give it"),
        ("$ 5", "invalid template"),
        ("${", "invalid template"),
        ("$1", "invalid template"),
    ],
)
def test_substitute_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("$", r"\$")):
        substitute(template, ENV.get)


def test_unset_variable_warns() -> None:
    warnings: list[str] = []
    assert substitute("${UNSET}", ENV.get, warnings) == ""
    assert warnings == ["variable UNSET is not set, using an empty string"]


def test_tree_casts_known_paths_and_names_the_key_on_error() -> None:
    tree = {
        "services": {
            "web": {
                "image": "${IMAGE}",
                "deploy": {"replicas": "${N}"},
                "ports": [{"target": "80", "published": "${P}"}],
                "read_only": "yes",
                "environment": {"KEEP": "${N}"},
            }
        },
        "networks": {"n": {"attachable": "true"}},
    }
    env = {"IMAGE": "img", "N": "3", "P": "8080"}
    out = interpolate_tree(tree, env.get, filename="f.yml")
    web = out["services"]["web"]
    assert web["deploy"]["replicas"] == 3
    assert web["ports"] == [{"target": 80, "published": 8080}]
    assert web["read_only"] is True
    assert web["environment"] == {"KEEP": "3"}
    assert out["networks"]["n"]["attachable"] is True
    with pytest.raises(InvalidRequest, match=r"f\.yml: services\.web\.deploy\.replicas"):
        interpolate_tree(
            {"services": {"web": {"deploy": {"replicas": "x"}}}}, env.get, filename="f.yml"
        )
    with pytest.raises(InvalidRequest, match=r"f\.yml: services\.web\.image: required"):
        interpolate_tree({"services": {"web": {"image": "${NO:?x}"}}}, env.get, filename="f.yml")


text_without_dollar = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=30)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


@given(text_without_dollar)
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert substitute(text, {}.get) == text


@given(st.text(max_size=30))
def test_escaped_dollars_survive(text: str) -> None:
    escaped = text.replace("$", "$$")
    assert substitute(escaped, {}.get) == text


@given(
    names,
    # No ":" or "?": a default such as ":-" makes `${A-:-}` read as the
    # CLI reads it (the first ":-" splits), which is not what this checks.
    st.text(alphabet=st.characters(blacklist_characters="$}:?"), max_size=20),
    text_without_dollar,
)
def test_defaults_apply_only_when_unset(name: str, default: str, value: str) -> None:
    assert substitute(f"${{{name}:-{default}}}", {}.get) == default
    assert substitute(f"${{{name}-{default}}}", {}.get) == default
    env = {name: value}
    assert substitute(f"${{{name}-{default}}}", env.get) == value
    assert substitute(f"${{{name}:-{default}}}", env.get) == (value or default)
    assert substitute(f"${{{name}}}", env.get) == value
