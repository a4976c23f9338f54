"""The Slack double's views: ``views.open``, ``views.update``, ``views.publish``.

``views.open`` takes a trigger id once, within 3 s of it, and checks the
view against Slack's view limits (:func:`sparkswarm.bots.double_rules.view_error`);
the views opened are kept in ``SlackDouble.views``. ``views.update``
replaces an open view (``hash_conflict`` on a stale hash); ``views.publish``
keeps each user's App Home (``SlackDouble.home_views``).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.double_messages import json_argument
from sparkswarm.bots.double_rules import view_error


def view_argument(args: dict[str, Any]) -> dict[str, Any] | None:
    """The ``view`` argument (a JSON string in a form post, an object in a
    JSON body); None when it is neither."""
    view = json_argument(args.get("view"))
    return view if isinstance(view, dict) else None


def _held(view: dict[str, Any], view_id: str) -> dict[str, Any]:
    """``view`` as Slack holds an open one: its id, no input yet, a new hash."""
    held = {**view, "id": view_id, "state": {"values": {}}}
    return {**held, "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}"}


class ViewsDouble:
    """The view methods of :class:`~sparkswarm.bots.double.SlackDouble`."""

    if TYPE_CHECKING:
        views: list[dict[str, Any]]
        home_views: dict[str, dict[str, Any]]
        _triggers: set[str]

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A modal for a trigger id: one view per trigger, within 3 s of it
        (the id starts with its time, as Slack's do), checked as Slack does."""
        trigger = str(args.get("trigger_id") or "")
        head = trigger.partition(".")[0]
        if not head.isdigit():
            return {"ok": False, "error": "invalid_trigger_id"}
        if time.time() - int(head) > 4:  # 3 s, and the id's time is whole seconds
            return {"ok": False, "error": "expired_trigger_id"}
        if trigger in self._triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        view = view_argument(args)
        if view is None:
            return {"ok": False, "error": "invalid_arguments"}
        refused = view_error(view)
        if refused:
            return refused
        self._triggers.add(trigger)
        # Unique across doubles, as Slack's are across a workspace's life.
        opened = _held(view, f"V{uuid.uuid4().hex[:10].upper()}")
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace an open view (by ``view_id``): ``not_found`` for an unknown
        one, ``hash_conflict`` when ``hash`` is not the view's current one
        (someone updated it since), checked as ``views.open`` checks."""
        view = view_argument(args)
        if view is None:
            return {"ok": False, "error": "invalid_arguments"}
        at = next((i for i, v in enumerate(self.views) if v["id"] == args.get("view_id")), None)
        if at is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != self.views[at]["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        refused = view_error(view)
        if refused:
            return refused
        updated = _held(view, self.views[at]["id"])
        self.views[at] = updated
        return {"ok": True, "view": updated}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """Publish a user's App Home, refused as Slack refuses it: no user, a
        view that is not a ``home`` view, or more than 100 blocks."""
        view = view_argument(args)
        user = str(args.get("user_id") or "")
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        refused = view_error(view)  # Block Kit's view rules, as for views.open
        if refused:
            return refused
        self.home_views[user] = view
        return {"ok": True, "view": {**view, "id": f"V{len(self.home_views):08d}"}}
