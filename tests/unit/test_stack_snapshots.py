"""The payload of a stack snapshot (pure): the desired stack without secret data."""

from __future__ import annotations

import copy
import json

from sparkswarm.stacks.convert import DesiredStack
from sparkswarm.stacks.snapshots import encode


def _stack() -> DesiredStack:
    return DesiredStack(
        name="web",
        services={"web_app": {"Name": "web_app", "Labels": {"a": "1"}}},
        networks={"web_back": {"Driver": "overlay"}},
        external_networks=["shared"],
        configs={"web_conf": {"Name": "web_conf", "Data": "Y29uZg=="}},
        secrets={"web_key": {"Name": "web_key", "Data": "c2VjcmV0", "Labels": {"b": "2"}}},
    )


def test_the_payload_is_the_stack_with_its_secret_data_blanked() -> None:
    desired = _stack()
    payload = json.loads(encode(desired))
    expected = desired.to_json()
    expected["secrets"]["web_key"]["Data"] = ""
    assert payload == expected
    assert DesiredStack.from_json(payload).configs == desired.configs


def test_encoding_leaves_the_stack_as_it_was() -> None:
    desired = _stack()
    before = copy.deepcopy(desired)
    encode(desired)
    assert desired == before
    assert desired.secrets["web_key"]["Data"] == "c2VjcmV0"


def test_the_payload_is_canonical_json() -> None:
    # Compared byte for byte with the newest snapshot: the same stack, the same bytes.
    assert encode(_stack()) == encode(_stack())
    assert (
        encode(_stack())
        == json.dumps(json.loads(encode(_stack())), sort_keys=True, separators=(",", ":")).encode()
    )
