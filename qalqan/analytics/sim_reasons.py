"""Why a SIM looks like a SIM box, in the words an analyst uses.

Each rule reads one or two features and, when they are in the suspicious
range, says what was seen. The model decides the score; these say why, and
the strongest rules can decide on their own (``decisive``), because some facts
are clearer than any model: a handset that carried a dozen SIMs in a day is
a SIM box.

"Young" is the feature table's ``young``: the screening configuration's
``network.young_sim_days``, one definition for batch and real time.

Each rule says its reason as a :class:`~qalqan.domain.model.Reason` (its id,
its weight, a message of :mod:`qalqan.domain.messages` and the facts that fill
it), so that ``sims.csv`` carries the reason as data next to the English text
(``reason_facts``) and the console can show it in Russian or Kazakh.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qalqan.domain.model import Reason

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
    tells: Callable[[SimRule, Row], Reason]
    """What was seen, as this rule's reason: ``lambda rule, r: rule.says(key, **facts)``."""
    decisive: bool = False

    def says(self, key: str, /, **facts: object) -> Reason:
        """This rule's reason with message ``key`` filled with ``facts``, at the rule's weight."""
        return Reason.from_facts(self.rule, self.weight, key, facts)

    def reason(self, row: Row) -> Reason:
        """The reason this rule gives for ``row`` (a SIM's features), when it :attr:`applies`."""
        return self.tells(self, row)


SIM_RULES: tuple[SimRule, ...] = (
    SimRule(
        "simbox.imei_many_sims_day",
        0.9,
        lambda r: _n(r, "imei_max_sims_per_day") >= 4,
        lambda rule, r: rule.says(
            "analysis.sim.imei_many_sims_day",
            imei=r.get("busiest_imei"),
            sims=int(_n(r, "imei_max_sims_per_day")),
        ),
        decisive=True,
    ),
    SimRule(
        "simbox.imei_many_sims",
        0.6,
        lambda r: _n(r, "imei_max_sims") >= 4 and _n(r, "imei_max_sims_per_day") < 4,
        lambda rule, r: rule.says(
            "analysis.sim.imei_many_sims",
            imei=r.get("busiest_imei"),
            sims=int(_n(r, "imei_max_sims")),
        ),
    ),
    SimRule(
        "simbox.never_called",
        0.5,
        lambda r: _n(r, "voice_in") + _n(r, "sms_in") == 0 and _n(r, "voice_out") >= 10,
        lambda rule, r: rule.says(
            "analysis.sim.never_called",
            days=f"{max(_n(r, 'lifespan_h') / 24, 1):.0f}",
            calls=int(_n(r, "voice_out")),
        ),
    ),
    SimRule(
        "simbox.no_sms",
        0.2,
        lambda r: _n(r, "sms_out") + _n(r, "sms_in") == 0 and _n(r, "voice_out") >= 20,
        lambda rule, r: rule.says("analysis.sim.no_sms"),
    ),
    SimRule(
        "simbox.strangers_only",
        0.4,
        lambda r: _n(r, "distinct_callees") >= 15 and _n(r, "callback_share") < 0.05,
        lambda rule, r: rule.says(
            "analysis.sim.strangers_only",
            callees=int(_n(r, "distinct_callees")),
            share=f"{100 * _n(r, 'callback_share'):.0f}",
        ),
    ),
    SimRule(
        "simbox.young_sim",
        0.3,
        lambda r: bool(r.get("young")),
        lambda rule, r: rule.says("analysis.sim.young_sim", days=int(_n(r, "age_days"))),
    ),
    SimRule(
        "simbox.activation_batch",
        0.5,
        lambda r: _n(r, "batch_sims") >= 10,
        lambda rule, r: rule.says("analysis.sim.activation_batch", sims=int(_n(r, "batch_sims"))),
    ),
    SimRule(
        "simbox.straw_owner",
        0.5,
        lambda r: _n(r, "owner_sims") >= 5 and _n(r, "plan_corporate") == 0,
        lambda rule, r: rule.says("analysis.sim.straw_owner", sims=int(_n(r, "owner_sims"))),
    ),
    SimRule(
        "simbox.short_life",
        0.3,
        lambda r: _n(r, "lifespan_h") <= 48 and bool(r.get("young")),
        lambda rule, r: rule.says("analysis.sim.short_life", hours=f"{_n(r, 'lifespan_h'):.0f}"),
    ),
    SimRule(
        "simbox.static",
        0.2,
        lambda r: _n(r, "distinct_sites") == 1 and _n(r, "voice_out") >= 20,
        lambda rule, r: rule.says("analysis.sim.static", site=r.get("main_site")),
    ),
    SimRule(
        "simbox.crowded_site",
        0.3,
        lambda r: _n(r, "site_young_sims_per_day") >= 12,
        lambda rule, r: rule.says(
            "analysis.sim.crowded_site",
            sims=int(_n(r, "site_young_sims_per_day")),
            site=r.get("main_site"),
        ),
    ),
    SimRule(
        "simbox.sibling_contacts",
        0.3,
        lambda r: _n(r, "young_contact_share") >= 0.3,
        lambda rule, r: rule.says(
            "analysis.sim.sibling_contacts", share=f"{100 * _n(r, 'young_contact_share'):.0f}"
        ),
    ),
    SimRule(
        "simbox.unassigned_callees",
        0.2,
        lambda r: _n(r, "failed_share") >= 0.15 and _n(r, "voice_out") >= 2,
        lambda rule, r: rule.says(
            "analysis.sim.unassigned_callees", share=f"{100 * _n(r, 'failed_share'):.0f}"
        ),
    ),
    SimRule(
        "simbox.elderly_targets",
        0.2,
        lambda r: _n(r, "elderly_callee_share") >= 0.3,
        lambda rule, r: rule.says(
            "analysis.sim.elderly_targets", share=f"{100 * _n(r, 'elderly_callee_share'):.0f}"
        ),
    ),
)


def sim_reasons(row: Row, *, limit: int = 5) -> list[Reason]:
    """The reason of every rule that applies, strongest first, with its message key and facts."""
    found = [r.reason(row) for r in SIM_RULES if r.applies(row)]
    found.sort(key=lambda x: -x.weight)
    return found[:limit]
