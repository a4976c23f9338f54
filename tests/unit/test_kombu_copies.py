"""What the queue copies from kombu's private code is still kombu's.

``workers/task_message.py`` writes kombu's Redis message format itself (checked
against kombu's own output in tests/integration/test_queue.py), and
``workers/transport.py`` carries a copy of kombu's ``Channel._brpop_read``
with one line changed, and of its Redis ``QoS.append`` with a run's claim
added to its pipeline. Both are tied to one kombu minor version (pinned in
pyproject.toml); these tests fail when kombu is another version or its
method changed, so the copies are looked at again.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from importlib.metadata import version

PINNED_MINOR = "5.7"


def _body(func: object, replace: tuple[str, str] | None = None) -> str:
    source = textwrap.dedent(inspect.getsource(func))  # type: ignore[arg-type]
    if replace is not None:
        assert replace[0] in source, f"kombu's method no longer has {replace[0]!r}"
        source = source.replace(*replace)
    tree = ast.parse(source).body[0]
    assert isinstance(tree, ast.FunctionDef)
    return ast.dump(ast.Module(body=tree.body, type_ignores=[]))


def test_kombu_is_the_minor_version_whose_private_code_the_queue_copies() -> None:
    assert version("kombu").rsplit(".", 1)[0] == PINNED_MINOR


def test_the_transport_s_brpop_read_is_kombu_s_but_for_the_checked_delivery() -> None:
    from kombu.transport import redis as kombu_redis

    from sparkswarm.workers.transport import Channel

    theirs = _body(
        kombu_redis.Channel._brpop_read,
        (
            "self.connection._deliver(loads(bytes_to_str(item)), dest)",
            "self._deliver_item(item, dest)",
        ),
    )
    assert _body(Channel._brpop_read) == theirs


# kombu 5.7's Redis QoS.append, which transport.QoS.append copies (with the
# claim of a run added to the pipeline, see workers/delivery_claim.py).
_KOMBU_QOS_APPEND = """
def append(self, message, delivery_tag):
    delivery = message.delivery_info
    EX, RK = delivery['exchange'], delivery['routing_key']
    if redis.VERSION[0] >= 3:
        zadd_args = [{delivery_tag: time()}]
    else:
        zadd_args = [time(), delivery_tag]

    with self.pipe_or_acquire() as pipe:
        pipe.zadd(self.unacked_index_key, *zadd_args) \\
            .hset(self.unacked_key, delivery_tag,
                  dumps([message._raw, EX, RK])) \\
            .execute()
        super().append(message, delivery_tag)
"""


def test_the_qos_append_the_transport_copies_is_kombu_s() -> None:
    from kombu.transport import redis as kombu_redis

    ours = ast.parse(_KOMBU_QOS_APPEND).body[0]
    assert isinstance(ours, ast.FunctionDef)
    assert _body(kombu_redis.QoS.append) == ast.dump(ast.Module(body=ours.body, type_ignores=[]))
