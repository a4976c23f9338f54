"""Kept for the multi-node tests that import it: use :mod:`tests.support.cli`."""

from __future__ import annotations

from tests.support.cli import SPARKSWARM as SPARKSWARM
from tests.support.cli import sparkswarm as sparkswarm
from tests.support.cli import sparkswarm_json as sparkswarm_json
