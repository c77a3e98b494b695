"""Finding and building the screening engine for ``qalqan serve-http``, lazily.

The HTTP face depends on the engine only through a ``decide`` function. The
command line, though, has to build a real engine: by default
``qalqan.screening.engine:ScreeningEngine``, or any class named by the
``QALQAN_HTTP_ENGINE`` setting (``module:Class``), imported by name at the
moment it is needed, so that ``qalqan --help`` stays fast and a build without
the engine fails with a message that says so rather than an ImportError.

:func:`engine_factory` resolves everything that can be checked at once — the
engine class, the rules file, the STIR/SHAKEN settings (``QALQAN_STIR_*``,
see ``docs/stir-shaken.md``) — so that a mistake is reported before the
server listens, and returns a factory that the API calls at startup, in a
worker thread, to load the rules. The engine is built as:

- ``Engine.from_file(rules)`` when the class offers it; else
- ``Engine(load_config(rules), verifier=...)`` when the engine's module has a
  ``load_config`` (as Qalqan's own engine does); else ``Engine(rules=rules)``;
- ``Engine(verifier=...)``, or ``Engine()``, without rules.

``verifier`` (a :class:`~qalqan.screening.stir.IdentityVerifier`) is passed
only when STIR/SHAKEN is configured and the constructor takes it. The API
calls the engine's ``screen`` (decide, then remember the attempt, so that the
rolling features see the traffic) when it has one, else its ``decide``; and
its ``observe``, when it has one, with the outcomes reported to
``POST /v1/outcome``.

With ``data``, an engine that can (Qalqan's own) also learns contact from the
data set's ``cdrs`` at start: the operator's own records of answered calls and
delivered SMS within the contact window
(:func:`qalqan.screening.history.learn_contacts`); ``on_history`` is told what
was learned.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from qalqan.api.app import Decide, Observe, Screening
from qalqan.api.errors import EngineUnavailableError

__all__ = ["DEFAULT_ENGINE", "engine_factory"]

DEFAULT_ENGINE = "qalqan.screening.engine:ScreeningEngine"


def engine_factory(
    rules: Path | None = None,
    *,
    engine: str = DEFAULT_ENGINE,
    environ: Mapping[str, str] | None = None,
    data: Path | None = None,
    on_history: Callable[[Any], None] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Callable[[], Screening]:
    """A factory building the screening engine; raises :class:`EngineUnavailableError` now if it cannot.

    ``environ`` (default: the process environment) is where ``QALQAN_STIR_*`` are read;
    ``data`` is a folder of the operator's reference tables (exchange-v1), read by the
    engine's ``from_dataset`` when it has one, and whose ``cdrs`` Qalqan's engine learns
    contact from (up to ``now()``, default the clock's time); ``on_history`` is given the
    :class:`~qalqan.screening.history.ContactHistory` learned.
    """
    module_name, _, class_name = engine.partition(":")
    if rules is not None and not Path(rules).is_file():
        raise EngineUnavailableError(f"rules file {rules}: there is no such file")
    if data is not None and not Path(data).is_dir():
        raise EngineUnavailableError(f"reference tables {data}: there is no such folder")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            if engine == DEFAULT_ENGINE:
                raise EngineUnavailableError(
                    f"the screening engine ({module_name}) is not part of this installation of "
                    "Qalqan, so there is nothing to serve; update Qalqan, set QALQAN_HTTP_ENGINE "
                    "to an engine class (module:Class), or embed ScreeningApi with your own decide"
                ) from None
            raise EngineUnavailableError(
                f"the screening engine {engine}: there is no module {module_name}"
            ) from None
        raise EngineUnavailableError(
            f"the screening engine {engine} cannot be imported: module {error.name} is missing"
        ) from None
    engine_class = getattr(module, class_name, None)
    if engine_class is None:
        raise EngineUnavailableError(
            f"the screening engine {engine}: {module_name} has no {class_name}"
        )
    extras: dict[str, Any] = {}
    if _accepts(engine_class, "verifier"):
        from qalqan.screening.stir import StirSettings

        verifier = StirSettings.from_env(environ).verifier()
        if verifier is not None:
            extras["verifier"] = verifier
    load_config = getattr(module, "load_config", None)

    def build() -> Screening:
        instance: Any
        if data is not None and hasattr(engine_class, "from_dataset"):
            # the operator's subscribers, roaming, registry and cells: what most rules need
            config = load_config(rules) if callable(load_config) else None
            instance = engine_class.from_dataset(data, config, **extras)
            _learn_history(instance, data, on_history, now)
        elif rules is not None and hasattr(engine_class, "from_file"):
            instance = engine_class.from_file(rules)
        elif rules is not None and callable(load_config):
            instance = engine_class(load_config(rules), **extras)
        elif rules is not None:
            instance = engine_class(rules=rules, **extras)
        else:
            instance = engine_class(**extras)
        observe = getattr(instance, "observe", None)
        for name in ("screen", "decide"):
            method = getattr(instance, name, None)
            if callable(method):
                return Screening(
                    decide=cast(Decide, method),
                    observe=cast(Observe, observe) if callable(observe) else None,
                )
        raise EngineUnavailableError(f"the screening engine {engine} has no decide method")

    return build


def _learn_history(
    instance: Any,
    data: Path,
    on_history: Callable[[Any], None] | None,
    now: Callable[[], datetime] | None,
) -> None:
    """Contact from the data set's own records, for Qalqan's engine (others learn none)."""
    from qalqan.screening.engine import ScreeningEngine

    if not isinstance(instance, ScreeningEngine):
        return
    from qalqan.screening.history import learn_contacts

    learned = learn_contacts(instance, data, now=None if now is None else now())
    if on_history is not None:
        on_history(learned)


def _accepts(engine_class: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(engine_class).parameters
    except (TypeError, ValueError):
        return False
