"""The shipped signals, registered on import in the order the engine runs them.

Cheap proofs first (the registry, our own subscribers, the numbering plan),
then the patterns across calls, the farms on our radio network, the
reputation lists, and STIR/SHAKEN (which may cost a signature check) last.
"""

from __future__ import annotations

# isort: off
from qalqan.screening.rules import spoofed_cli
from qalqan.screening.rules import wangiri
from qalqan.screening.rules import sim_farm
from qalqan.screening.rules import reputation
from qalqan.screening.rules import stir_shaken

# isort: on

__all__ = ["reputation", "sim_farm", "spoofed_cli", "stir_shaken", "wangiri"]
