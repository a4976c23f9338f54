"""TLS to the queue's Redis (``rediss://`` URLs) for Celery's broker and RedBeat.

redis-py speaks TLS for a ``rediss://`` URL by itself, verifying the server's
certificate. kombu does not: it takes TLS settings from ``broker_use_ssl``
or from ``ssl_*`` query parameters, and a bare ``rediss://host:6380/0``
without them is spoken to in plain TCP. So every ``rediss://`` URL gets
explicit options here: the certificate is verified (``ssl_cert_reqs``
defaults to required) against ``ssl_ca_certs`` when the URL names one, else
the system's CAs.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def broker_ssl_options(url: str) -> dict[str, Any] | None:
    """The ``broker_use_ssl`` options for ``url``; None unless it is ``rediss://``."""
    parts = urlsplit(url)
    if parts.scheme != "rediss":
        return None
    query = dict(parse_qsl(parts.query))
    wanted = query.get("ssl_cert_reqs", "required").lower().removeprefix("cert_")
    options: dict[str, Any] = {"ssl_cert_reqs": _CERT_REQS.get(wanted, ssl.CERT_REQUIRED)}
    options.update({key: query[key] for key in _FILES if key in query})
    return options
