"""Pure parts of the bot's safety: click verdicts, per-workspace roles, the
refusal budget and the bounded pool (no Slack, no Redis)."""

from __future__ import annotations

import threading

import pytest

from sparkswarm.bots.approvals import Pending, judge
from sparkswarm.bots.refusals import RefusalBudget
from sparkswarm.bots.roles import RoleMap, role_map
from sparkswarm.bots.workpool import BoundedPool
from sparkswarm.errors import InvalidRequest

ASKED = Pending(
    op="service.scale",
    params={"replicas": {"web": 0}},
    words="service scale web=0",
    requester="U0OPER",
    requester_team="T0HOME",
    channel="C0",
    thread_ts="",
    expires=100.0,
    role="operator",
    two_person=False,
)
TWO = Pending(**{**ASKED.__dict__, "op": "service.rm", "two_person": True})


def click(pending: Pending | None, **facts: object) -> tuple[bool, bool, str, str, bool]:
    args: dict[str, object] = {
        "action": "confirm",
        "user": "U0OPER",
        "team": "T0HOME",
        "role": "operator",
        "approver": False,
        "now": 50.0,
    }
    args.update(facts)
    v = judge(pending, **args)  # type: ignore[arg-type]
    return v.run, v.cancel, v.tell, v.replace, v.refused


@pytest.mark.parametrize(
    ("pending", "facts", "runs", "told"),
    [
        (ASKED, {}, True, ""),
        (ASKED, {"role": None}, False, "needs the operator role; you have none"),  # removed
        (ASKED, {"user": "U0VIEW", "role": "viewer"}, False, "needs the operator role"),
        (ASKED, {"user": "U0ADMIN", "role": "admin"}, False, "Only <@U0OPER>"),
        (ASKED, {"team": "T0ELSE"}, False, "Only <@U0OPER>"),  # a namesake of another team
        (ASKED, {"now": 101.0}, False, "expired"),
        (None, {}, False, "expired"),
        (TWO, {}, False, "another approver must confirm"),
        (TWO, {"approver": True}, False, "another approver must confirm"),  # not their own
        (TWO, {"user": "U0ADMIN2", "role": "admin"}, False, "only an approver"),
        (TWO, {"user": "U0ADMIN2", "role": "admin", "approver": True}, True, ""),
        (TWO, {"user": "U0ADMIN2", "role": "viewer", "approver": True}, False, "needs"),
    ],
)
def test_confirm_clicks(
    pending: Pending | None, facts: dict[str, object], runs: bool, told: str
) -> None:
    run, cancel, tell, _, _ = click(pending, **facts)
    assert (run, cancel) == (runs, False)
    assert told in tell if told else tell == ""


def test_answered_and_expired_questions_are_replaced() -> None:
    done = Pending(**{**ASKED.__dict__, "done_by": "U0OPER", "answer": "confirmed"})
    run, _, tell, replace, _ = click(done)
    assert not run and "already answered by <@U0OPER>" in tell
    assert replace == ":white_check_mark: `service scale web=0` confirmed by <@U0OPER>"
    replaced = click(ASKED, now=101.0)[3]
    assert "expired" in replaced and "service scale web=0" in replaced


def test_cancel_by_the_requester_or_an_approver_only() -> None:
    assert click(ASKED, action="cancel")[1]
    assert click(ASKED, action="cancel", role=None)[1]  # cancelling runs nothing
    assert not click(ASKED, action="cancel", user="U0X")[1]
    assert click(TWO, action="cancel", user="U0ADMIN2", approver=True)[1]


def test_roles_are_per_workspace() -> None:
    grants = role_map({"operator": ["U0OPER", "C0OPS"], "viewer": ["*", "T0PARTNER/U0GUEST"]})
    roles = RoleMap(grants.grants, home_team="T0HOME")
    assert roles.role_of("U0OPER", team="T0HOME") == "operator"
    assert roles.role_of("U0OPER", team="") == "operator"  # team unknown: home
    assert roles.role_of("U0OPER", "C0OPS", team="T0ELSE") is None  # no channel, no "*"
    assert roles.role_of("U0GUEST", team="T0PARTNER") == "viewer"
    assert roles.role_of("U0GUEST", team="T0HOME") == "viewer"  # through "*" at home
    home_grant = role_map({"admin": ["T0HOME/U0BOSS"]}).grants
    assert RoleMap(home_grant, "T0HOME").role_of("U0BOSS", team="T0HOME") == "admin"


@pytest.mark.parametrize("ident", ["T0/C0OPS", "U0/U1", "T0/", "/U0", "T0/U0/U1", "x"])
def test_malformed_team_grants_are_refused(ident: str) -> None:
    with pytest.raises(InvalidRequest, match="other-team user"):
        role_map({"viewer": [ident]})


def test_refusal_budget_answers_then_notices_once_then_drops() -> None:
    budget = RefusalBudget(3, users=2)
    verdicts = [budget.take("U1", now=float(t)) for t in range(6)]
    assert verdicts == ["answer", "answer", "answer", "notice", "drop", "drop"]
    assert budget.take("U2", now=6.0) == "answer"  # budgets are per user
    assert budget.take("U1", now=61.0) == "answer"  # the minute has passed
    budget.take("U3", now=62.0)
    budget.take("U4", now=62.0)  # only 2 users remembered: U2 forgotten
    assert len(budget._recent) == 2


def test_bounded_pool_refuses_beyond_its_bound_and_frees_slots() -> None:
    pool = BoundedPool(1, 2, "test")
    gate = threading.Event()
    done = threading.Semaphore(0)

    def work() -> None:
        gate.wait(5)
        done.release()

    assert pool.submit(work) and pool.submit(work)  # one running, one queued
    assert not pool.submit(work)  # full: nothing scheduled
    gate.set()
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    assert pool.submit(work)  # slots came back
    pool.shutdown()
