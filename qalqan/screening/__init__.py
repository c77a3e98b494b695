"""The real-time screening engine: decides allow, warn, divert or block for a call attempt.

    from qalqan.screening import ScreeningEngine, load_config

    engine = ScreeningEngine.from_dataset(Path("operator-data"), load_config())
    decision = engine.screen(attempt)        # CallAttempt → Decision, with its reasons

Pieces, each in its own module:

- :mod:`~qalqan.screening.engine` — :class:`ScreeningEngine`: decide, record, observe;
- :mod:`~qalqan.screening.signals` — the one protocol of rules and models, and their registry;
- :mod:`~qalqan.screening.rules` — the shipped rules (spoofed caller IDs, Wangiri,
  dialling through number blocks, SIM farms, reputation, STIR/SHAKEN);
- :mod:`~qalqan.screening.config` — the documented YAML rules file, parsed collect-or-raise;
- :mod:`~qalqan.screening.state` — rolling per-key features behind :class:`StateStore`;
- :mod:`~qalqan.screening.network` — subscribers, roaming, registry and cells;
- :mod:`~qalqan.screening.reputation` — listings from ``qalqan analyze`` and partners;
- :mod:`~qalqan.screening.replay` — a data set replayed in time order, and its score;
- :mod:`~qalqan.screening.farm_watch` — the light batch detector replay runs every hour.

Importing this package loads no data and opens nothing.
"""

from __future__ import annotations

from qalqan.screening.config import (
    ConfigProblem,
    ScreeningConfig,
    lint_config,
    lint_config_file,
    load_config,
    parse_config,
)
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.network import CellSites, ProtectedNumbers, Subscribers
from qalqan.screening.reputation import Listing, ReputationLists
from qalqan.screening.signals import SIGNALS, CallOutcome, Context, Signal
from qalqan.screening.state import InMemoryStateStore, StateStore

__all__ = [
    "SIGNALS",
    "CallOutcome",
    "CellSites",
    "ConfigProblem",
    "Context",
    "InMemoryStateStore",
    "Listing",
    "ProtectedNumbers",
    "ReputationLists",
    "ScreeningConfig",
    "ScreeningEngine",
    "Signal",
    "StateStore",
    "Subscribers",
    "lint_config",
    "lint_config_file",
    "load_config",
    "parse_config",
]
