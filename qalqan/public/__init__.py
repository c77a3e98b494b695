"""The public's face: "is this really my bank?" number check and citizens' reports.

Served apart from the operators' console (``qalqan serve-public``): it never
imports the console, holds no sessions and shows nothing personal. See
``docs/public.md``. The core object is :class:`~qalqan.public.face.PublicFace`;
:func:`~qalqan.public.app.create_app` is the web adapter over it.
"""

from __future__ import annotations

from qalqan.public.app import create_app
from qalqan.public.face import PublicFace, PublicSettings, load_registry

__all__ = ["PublicFace", "PublicSettings", "create_app", "load_registry"]
