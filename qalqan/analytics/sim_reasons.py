"""Why a SIM looks like a SIM box, in the words an analyst uses.

Each rule reads one or two features and, when they are in the suspicious
range, says what was seen. The model decides the score; these say why, and
the strongest rules can decide on their own (``decisive``), because some facts
are clearer than any model: a handset that carried a dozen SIMs in a day is
a SIM box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SIM_RULES", "SimRule", "sim_reasons"]

Row = Mapping[str, Any]


def _n(row: Row, name: str) -> float:
    value = row.get(name)
    if value is None or math.isnan(float(value)):
        return 0.0
    return float(value)


@dataclass(frozen=True, slots=True)
class SimRule:
    rule: str
    weight: float
    applies: Callable[[Row], bool]
    says: Callable[[Row], str]
    decisive: bool = False


SIM_RULES: tuple[SimRule, ...] = (
    SimRule(
        "simbox.imei_many_sims_day",
        0.9,
        lambda r: _n(r, "imei_max_sims_per_day") >= 4,
        lambda r: (
            f"IMEI {r.get('busiest_imei')} carried {int(_n(r, 'imei_max_sims_per_day'))} different SIMs in one day"
        ),
        decisive=True,
    ),
    SimRule(
        "simbox.imei_many_sims",
        0.6,
        lambda r: _n(r, "imei_max_sims") >= 4 and _n(r, "imei_max_sims_per_day") < 4,
        lambda r: (
            f"IMEI {r.get('busiest_imei')} carried {int(_n(r, 'imei_max_sims'))} different SIMs"
        ),
    ),
    SimRule(
        "simbox.never_called",
        0.5,
        lambda r: _n(r, "voice_in") + _n(r, "sms_in") == 0 and _n(r, "voice_out") >= 10,
        lambda r: (
            f"never received a call or SMS in {max(_n(r, 'lifespan_h') / 24, 1):.0f} days while making {int(_n(r, 'voice_out'))} calls"
        ),
    ),
    SimRule(
        "simbox.no_sms",
        0.2,
        lambda r: _n(r, "sms_out") + _n(r, "sms_in") == 0 and _n(r, "voice_out") >= 20,
        lambda r: "sent and received no SMS at all",
    ),
    SimRule(
        "simbox.strangers_only",
        0.4,
        lambda r: _n(r, "distinct_callees") >= 15 and _n(r, "callback_share") < 0.05,
        lambda r: (
            f"called {int(_n(r, 'distinct_callees'))} different numbers; {100 * _n(r, 'callback_share'):.0f}% ever called back"
        ),
    ),
    SimRule(
        "simbox.young_sim",
        0.3,
        lambda r: r.get("age_days") is not None and _n(r, "age_days") <= 60,
        lambda r: f"first call {int(_n(r, 'age_days'))} days after activation",
    ),
    SimRule(
        "simbox.activation_batch",
        0.5,
        lambda r: _n(r, "batch_sims") >= 10,
        lambda r: (
            f"one of {int(_n(r, 'batch_sims'))} SIMs activated the same day with neighbouring IMSIs"
        ),
    ),
    SimRule(
        "simbox.straw_owner",
        0.5,
        lambda r: _n(r, "owner_sims") >= 5 and _n(r, "plan_corporate") == 0,
        lambda r: f"its registered owner holds {int(_n(r, 'owner_sims'))} SIMs",
    ),
    SimRule(
        "simbox.short_life",
        0.3,
        lambda r: _n(r, "lifespan_h") <= 48 and _n(r, "age_days") <= 120,
        lambda r: f"made its calls within {_n(r, 'lifespan_h'):.0f} hours, then went silent",
    ),
    SimRule(
        "simbox.static",
        0.2,
        lambda r: _n(r, "distinct_sites") == 1 and _n(r, "voice_out") >= 20,
        lambda r: f"never moved: every call from site {r.get('main_site')}",
    ),
    SimRule(
        "simbox.crowded_site",
        0.3,
        lambda r: _n(r, "site_young_sims_per_day") >= 12,
        lambda r: (
            f"{int(_n(r, 'site_young_sims_per_day'))} young SIMs called from site {r.get('main_site')} on one day"
        ),
    ),
    SimRule(
        "simbox.sibling_contacts",
        0.3,
        lambda r: _n(r, "young_contact_share") >= 0.3,
        lambda r: (
            f"{100 * _n(r, 'young_contact_share'):.0f}% of its calls and SMS were with other young SIMs"
        ),
    ),
    SimRule(
        "simbox.unassigned_callees",
        0.2,
        lambda r: _n(r, "failed_share") >= 0.15 and _n(r, "voice_out") >= 2,
        lambda r: f"{100 * _n(r, 'failed_share'):.0f}% of its calls went to unassigned numbers",
    ),
    SimRule(
        "simbox.elderly_targets",
        0.2,
        lambda r: _n(r, "elderly_callee_share") >= 0.3,
        lambda r: f"{100 * _n(r, 'elderly_callee_share'):.0f}% of the people it called are over 65",
    ),
)


def sim_reasons(row: Row, *, limit: int = 5) -> list[tuple[str, float, str]]:
    """(rule, weight, what was seen) for every rule that applies, strongest first."""
    found = [(r.rule, r.weight, r.says(row)) for r in SIM_RULES if r.applies(row)]
    found.sort(key=lambda x: -x[1])
    return found[:limit]
