"""The screening node ``qalqan serve-http`` serves, built lazily.

:func:`node_factory` checks at once everything that can be checked — the rules
file, the data set's folder, the STIR/SHAKEN settings (``QALQAN_STIR_*``, see
``docs/stir-shaken.md``) — so that a mistake is reported before the server
listens, and returns a factory that the API calls at startup, in a worker
thread, to load the rules and the data:
:meth:`ScreeningNode.build <qalqan.screening.node.ScreeningNode.build>`, the
one way a node around Qalqan's engine is built (the SIP server's too).

**Deprecated: other engine classes.** ``QALQAN_HTTP_ENGINE`` may still name
another engine class (``module:Class``), imported when the server starts and
built as before: ``Engine.from_dataset(data, config)`` with ``data``,
``Engine.from_file(rules)``, ``Engine(load_config(rules), verifier=...)`` when
the engine's module has a ``load_config``, ``Engine(rules=rules)``, or
``Engine()``; the API calls its ``screen`` (else ``decide``) and ``observe``.
It is then put in a node like Qalqan's own engine, with the same deadline,
fail-open policy and metrics. Embedding :class:`~qalqan.api.app.ScreeningApi`
with ``node=ScreeningNode(your_decide)`` is the way forward.

:func:`engine_factory` is the former entry point: the node's engine and what
it learns from, as a :class:`~qalqan.api.app.Screening`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from qalqan.api.app import Decide, Observe, Screening
from qalqan.api.errors import EngineUnavailableError
from qalqan.screening.cluster import ClusterSettings
from qalqan.screening.node import NodeSettings, ScreeningNode

__all__ = ["DEFAULT_ENGINE", "engine_factory", "node_factory"]

DEFAULT_ENGINE = "qalqan.screening.engine:ScreeningEngine"


def node_factory(
    settings: NodeSettings | None = None,
    *,
    rules: Path | None = None,
    engine: str = DEFAULT_ENGINE,
    environ: Mapping[str, str] | None = None,
    data: Path | None = None,
    lists: Sequence[Path] = (),
    on_history: Callable[[Any], None] | None = None,
    now: Callable[[], datetime] | None = None,
    cluster: ClusterSettings | None = None,
) -> Callable[[], ScreeningNode]:
    """A factory building the screening node; raises :class:`EngineUnavailableError` now if it cannot.

    ``environ`` (default: the process environment) is where ``QALQAN_STIR_*`` are read;
    ``data`` is a folder of the operator's reference tables (exchange-v1), whose ``cdrs``
    Qalqan's engine learns contact from (up to ``now()``, default the clock's time);
    ``lists`` are reputation lists for Qalqan's engine (``qalqan analyze`` folders or
    CSVs); ``on_history`` is given the :class:`~qalqan.screening.history.ContactHistory`
    learned; ``cluster`` the cluster Qalqan's engine shares its state with (the API joins
    it, :meth:`~qalqan.screening.node.ScreeningNode.start`, once the node is built).
    """
    from qalqan.screening.stir import StirSettings

    if rules is not None and not Path(rules).is_file():
        raise EngineUnavailableError(f"rules file {rules}: there is no such file")
    if data is not None and not Path(data).is_dir():
        raise EngineUnavailableError(f"reference tables {data}: there is no such folder")
    missing = [str(path) for path in lists if not Path(path).exists()]
    if missing:
        raise EngineUnavailableError(
            f"reputation lists {', '.join(missing)}: there is no such file"
        )
    stir = StirSettings.from_env(environ)
    if engine != DEFAULT_ENGINE:
        build_plugin = _plugin(engine, rules=rules, data=data, stir=stir)

        def plugged() -> ScreeningNode:
            decide, observe = build_plugin()
            return ScreeningNode(decide, observe=observe, settings=settings)

        return plugged
    _importable(engine)
    return lambda: ScreeningNode.build(
        settings,
        rules=rules,
        data=data,
        lists=lists,
        stir=stir,
        on_history=on_history,
        now=None if now is None else now(),
        cluster=cluster,
    )


def engine_factory(
    rules: Path | None = None,
    *,
    engine: str = DEFAULT_ENGINE,
    environ: Mapping[str, str] | None = None,
    data: Path | None = None,
    on_history: Callable[[Any], None] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Callable[[], Screening]:
    """:func:`node_factory`, giving the node's engine (``decide``, ``observe``) alone."""
    build = node_factory(
        rules=rules, engine=engine, environ=environ, data=data, on_history=on_history, now=now
    )

    def screening() -> Screening:
        node = build()
        return Screening(decide=node.decide, observe=node.observe)

    return screening


def _importable(engine: str) -> Any:
    """The module of ``engine`` (``module:Class``); raises :class:`EngineUnavailableError`."""
    module_name = engine.partition(":")[0]
    try:
        return importlib.import_module(module_name)
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


def _plugin(
    engine: str, *, rules: Path | None, data: Path | None, stir: Any
) -> Callable[[], tuple[Decide, Observe | None]]:
    """Another engine class, named by ``QALQAN_HTTP_ENGINE`` (deprecated): how to build it."""
    module = _importable(engine)
    class_name = engine.partition(":")[2]
    engine_class = getattr(module, class_name, None)
    if engine_class is None:
        raise EngineUnavailableError(
            f"the screening engine {engine}: {module.__name__} has no {class_name}"
        )
    extras: dict[str, Any] = {}
    if _accepts(engine_class, "verifier"):
        verifier = stir.verifier()
        if verifier is not None:
            extras["verifier"] = verifier
    load_config = getattr(module, "load_config", None)

    def build() -> tuple[Decide, Observe | None]:
        instance = _instance(engine_class, load_config, rules=rules, data=data, extras=extras)
        observe = getattr(instance, "observe", None)
        for name in ("screen", "decide"):
            method = getattr(instance, name, None)
            if callable(method):
                return cast(Decide, method), cast(Observe, observe) if callable(observe) else None
        raise EngineUnavailableError(f"the screening engine {engine} has no decide method")

    return build


def _instance(
    engine_class: Any,
    load_config: Any,
    *,
    rules: Path | None,
    data: Path | None,
    extras: dict[str, Any],
) -> Any:
    """An engine of another class, built the first way it offers."""
    if data is not None and hasattr(engine_class, "from_dataset"):
        config = load_config(rules) if callable(load_config) else None
        return engine_class.from_dataset(data, config, **extras)
    if rules is not None and hasattr(engine_class, "from_file"):
        return engine_class.from_file(rules)
    if rules is not None and callable(load_config):
        return engine_class(load_config(rules), **extras)
    if rules is not None:
        return engine_class(rules=rules, **extras)
    return engine_class(**extras)


def _accepts(engine_class: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(engine_class).parameters
    except (TypeError, ValueError):
        return False
