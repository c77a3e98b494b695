"""The cluster tests run real processes: ``pytest -m cluster`` (or ``pytest tests/cluster``) runs them alone."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: several qalqan serve processes, Redis and Kamailio on loopback"
    )
