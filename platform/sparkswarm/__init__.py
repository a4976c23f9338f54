"""sparkswarm: Spark study clusters on Docker Swarm.

The core library, in layers (the README of the repository describes the whole):

- requests in: the CLI (``sparkswarm.cli``), the queue (its worker and
  schedules) and the chat bot all run the operations registered in
  :mod:`sparkswarm.operations`, through one :mod:`sparkswarm.executor`;
- the operations: plain, typed, keyword-only functions (``services``,
  ``stacks``, ``spark``, ``nodes``, ``networks``, ``swarm``, ``images``);
- :mod:`sparkswarm.gateway`, the one module that talks to the Docker Engine.

The core never imports celery or slack_bolt; settings come from
:mod:`sparkswarm.config`, errors from :mod:`sparkswarm.errors`.
"""

from __future__ import annotations

__version__ = "0.1.0"
