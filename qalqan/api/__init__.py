"""HTTP screening API, health and metrics.

:class:`ScreeningApi` is the one object: it wraps a ``decide`` function (the
screening engine) and answers requests in-process (:meth:`ScreeningApi.handle`)
or as an ASGI application. :mod:`qalqan.api.server` serves it with uvicorn and
``qalqan serve-http`` lives in :mod:`qalqan.cli.serve`.

The names below are imported on first use, not with the package, so that the
``qalqan`` command, which registers ``serve-http`` from here, starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qalqan.api.app import Decide, Response, ScreeningApi
    from qalqan.api.config import ApiSettings, Secret
    from qalqan.api.errors import ApiError, EngineUnavailableError
    from qalqan.api.metrics import ApiMetrics

__all__ = [
    "ApiError",
    "ApiMetrics",
    "ApiSettings",
    "Decide",
    "EngineUnavailableError",
    "Response",
    "ScreeningApi",
    "Secret",
]

_HOMES = {
    "Decide": "qalqan.api.app",
    "Response": "qalqan.api.app",
    "ScreeningApi": "qalqan.api.app",
    "ApiSettings": "qalqan.api.config",
    "Secret": "qalqan.api.config",
    "ApiError": "qalqan.api.errors",
    "EngineUnavailableError": "qalqan.api.errors",
    "ApiMetrics": "qalqan.api.metrics",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'qalqan.api' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
