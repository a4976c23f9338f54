"""sparkswarm: Spark study clusters on Docker Swarm.

The core library. It never imports celery or slack_bolt (see DESIGN.md): every
operation is a plain, typed, keyword-only function over the gateway.
"""

from __future__ import annotations

__version__ = "0.1.0"
