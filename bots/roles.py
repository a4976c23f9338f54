"""Who may do what: viewer < operator < admin, from Slack ids in configuration.

A roles file (YAML) lists ids per role; the kind of an id is its first
letter, as Slack issues them: ``U``/``W`` users, ``S`` user groups, ``C``/``G``/``D``
channels. ``"*"`` means everyone. A caller's role is the highest that any of
their ids (user, groups, the channel they speak in) grants::

    admin: [U012ADMIN]
    operator: [S0OPS, C0OPS]      # the ops user group, anyone in #ops
    viewer: ["*", T0PARTNER/U0GUEST]

Roles are per workspace: plain ids are those of the bot's own workspace
(``home_team``, from ``auth.test``). A user of another team (Enterprise Grid,
shared channels) has no role, whatever the channel or ``*`` grants, unless
granted by ``T.../U...`` (their team and user id).

Pure: the caller supplies the user's groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkswarm.errors import InvalidRequest
from sparkswarm.operations import ROLES


def rank(role: str | None) -> int:
    """0 for no role, 1 viewer, 2 operator, 3 admin."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def allows(have: str | None, need: str) -> bool:
    """True if role ``have`` may run what needs ``need``."""
    return rank(have) >= rank(need) > 0


def refusal(have: str | None, need: str, what: str) -> str | None:
    """None when role ``have`` may do ``what`` (chat text), which needs role
    ``need``; else the sentence saying why not (every refusal of a role says it so)."""
    if allows(have, need):
        return None
    return f"{what} needs the {need} role; you have {have or 'none'}"


@dataclass(frozen=True)
class RoleMap:
    """Role per Slack id (users, user groups, channels; ``*`` for everyone)."""

    grants: dict[str, str] = field(default_factory=dict)
    home_team: str = ""  # the bot's workspace; "" when not known (then no team is foreign)

    @property
    def groups(self) -> list[str]:
        """The user-group ids named (their members must be looked up)."""
        return sorted(i for i in self.grants if i.startswith("S"))

    def role_of(
        self, user: str, channel: str = "", groups: Iterable[str] = (), team: str = ""
    ) -> str | None:
        """The highest role any of the caller's ids has; None for none. A caller
        of ``team`` other than the home team counts only as ``team/user``."""
        if team and self.home_team and team != self.home_team:
            ids = [f"{team}/{user}"]
        else:
            home = f"{self.home_team}/{user}" if self.home_team else ""
            ids = [user, home, channel, "*", *groups]
        best = max((self.grants.get(i) for i in ids if i), key=rank, default=None)
        return best if rank(best) else None


def role_map(lists: Mapping[str, Iterable[str]]) -> RoleMap:
    """A RoleMap from ``{role: [ids]}``; an id in several roles gets the highest.
    InvalidRequest for an unknown role or an id that is not a Slack id."""
    grants: dict[str, str] = {}
    for role, ids in lists.items():
        if role not in ROLES:
            raise InvalidRequest(
                f"unknown role {role!r} in the bot's roles: one of {', '.join(ROLES)}"
            )
        for raw in ids or ():
            ident = str(raw).strip()
            if not _is_grantee(ident):
                raise InvalidRequest(
                    f"{ident!r} is not a Slack user (U...), user-group (S...), channel (C...) "
                    "or other-team user (T.../U...) id"
                )
            if rank(role) > rank(grants.get(ident)):
                grants[ident] = role
    return RoleMap(grants)


def _is_grantee(ident: str) -> bool:
    if ident == "*":
        return True
    team, slash, user = ident.partition("/")
    if slash:
        return team[:1] in "TE" and team.isalnum() and user[:1] in "UW" and user.isalnum()
    return ident[:1] in "UWSCGD" and ident.isalnum()


def load_role_map(path: str | None, env_lists: dict[str, list[str]]) -> RoleMap:
    """The roles of the YAML file at ``path`` (if any) merged with the env lists.
    InvalidRequest for an unreadable or malformed file."""
    import yaml

    lists: dict[str, list[str]] = {role: list(ids) for role, ids in env_lists.items()}
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidRequest(f"bot roles file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidRequest(f"bot roles file {path}: expected role: [ids] mappings")
        for role, ids in data.items():
            if not isinstance(ids, list):
                raise InvalidRequest(f"bot roles file {path}: {role}: expected a list of ids")
            lists.setdefault(str(role), []).extend(str(i) for i in ids)
    return role_map(lists)
