"""Why a SIM looks like a SIM box, in the words an analyst uses.

Each rule reads one or two features and, when they are in the suspicious
range, says what was seen. The model decides the score; these say why, and
the strongest rules can decide on their own (``decisive``), because some facts
are clearer than any model: a handset that carried a dozen SIMs in a day is
a SIM box.

Whether a rule fires is read over the whole feature table at once
(:class:`SimColumns`), so that a national operator's millions of SIMs are judged
without a Python step per SIM; what a rule says is said only for the few SIMs
that are flagged (:func:`sim_reasons_of`).

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

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from qalqan.domain.model import Reason

__all__ = ["SIM_RULES", "SimColumns", "SimRule", "decisive", "sim_reasons", "sim_reasons_of"]

Row = Mapping[str, Any]
Mask = npt.NDArray[np.bool_]


def _n(row: Row, name: str) -> float:
    value = row.get(name)
    if value is None or math.isnan(float(value)):
        return 0.0
    return float(value)


class SimColumns:
    """The SIM feature table as the rules read it: whole columns at once, one value per SIM.

    A count or share with no value (null or NaN: no records of that kind) reads as 0, a
    flag with none as false, so that a rule never fires on a missing fact.
    """

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self._read: dict[str, npt.NDArray[np.float64]] = {}

    def n(self, name: str) -> npt.NDArray[np.float64]:
        """The column ``name`` as numbers, missing values as 0."""
        if name not in self._read:
            column = pc.fill_null(self.table.column(name).cast(pa.float64()), 0.0)
            values = np.asarray(column.to_numpy(), dtype=np.float64)
            self._read[name] = np.where(np.isnan(values), 0.0, values)
        return self._read[name]

    def flag(self, name: str) -> Mask:
        """The column ``name`` as true or false, missing as false."""
        column = pc.fill_null(self.table.column(name).cast(pa.bool_()), False)
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class SimRule:
    rule: str
    weight: float
    applies: Callable[[SimColumns], Mask]
    """Which SIMs the rule fires on, over the whole feature table at once."""
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
        lambda c: c.n("imei_max_sims_per_day") >= 4,
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
        lambda c: (c.n("imei_max_sims") >= 4) & (c.n("imei_max_sims_per_day") < 4),
        lambda rule, r: rule.says(
            "analysis.sim.imei_many_sims",
            imei=r.get("busiest_imei"),
            sims=int(_n(r, "imei_max_sims")),
        ),
    ),
    SimRule(
        "simbox.never_called",
        0.5,
        lambda c: (c.n("voice_in") + c.n("sms_in") == 0) & (c.n("voice_out") >= 10),
        lambda rule, r: rule.says(
            "analysis.sim.never_called",
            days=f"{max(_n(r, 'lifespan_h') / 24, 1):.0f}",
            calls=int(_n(r, "voice_out")),
        ),
    ),
    SimRule(
        "simbox.no_sms",
        0.2,
        lambda c: (c.n("sms_out") + c.n("sms_in") == 0) & (c.n("voice_out") >= 20),
        lambda rule, r: rule.says("analysis.sim.no_sms"),
    ),
    SimRule(
        "simbox.strangers_only",
        0.4,
        lambda c: (c.n("distinct_callees") >= 15) & (c.n("callback_share") < 0.05),
        lambda rule, r: rule.says(
            "analysis.sim.strangers_only",
            callees=int(_n(r, "distinct_callees")),
            share=f"{100 * _n(r, 'callback_share'):.0f}",
        ),
    ),
    SimRule(
        "simbox.young_sim",
        0.3,
        lambda c: c.flag("young"),
        lambda rule, r: rule.says("analysis.sim.young_sim", days=int(_n(r, "age_days"))),
    ),
    SimRule(
        "simbox.activation_batch",
        0.5,
        lambda c: c.n("batch_sims") >= 10,
        lambda rule, r: rule.says("analysis.sim.activation_batch", sims=int(_n(r, "batch_sims"))),
    ),
    SimRule(
        "simbox.straw_owner",
        0.5,
        lambda c: (c.n("owner_sims") >= 5) & (c.n("plan_corporate") == 0),
        lambda rule, r: rule.says("analysis.sim.straw_owner", sims=int(_n(r, "owner_sims"))),
    ),
    SimRule(
        "simbox.short_life",
        0.3,
        lambda c: (c.n("lifespan_h") <= 48) & (c.flag("young")),
        lambda rule, r: rule.says("analysis.sim.short_life", hours=f"{_n(r, 'lifespan_h'):.0f}"),
    ),
    SimRule(
        "simbox.static",
        0.2,
        lambda c: (c.n("distinct_sites") == 1) & (c.n("voice_out") >= 20),
        lambda rule, r: rule.says("analysis.sim.static", site=r.get("main_site")),
    ),
    SimRule(
        "simbox.crowded_site",
        0.3,
        lambda c: c.n("site_young_sims_per_day") >= 12,
        lambda rule, r: rule.says(
            "analysis.sim.crowded_site",
            sims=int(_n(r, "site_young_sims_per_day")),
            site=r.get("main_site"),
        ),
    ),
    SimRule(
        "simbox.sibling_contacts",
        0.3,
        lambda c: c.n("young_contact_share") >= 0.3,
        lambda rule, r: rule.says(
            "analysis.sim.sibling_contacts", share=f"{100 * _n(r, 'young_contact_share'):.0f}"
        ),
    ),
    SimRule(
        "simbox.unassigned_callees",
        0.2,
        lambda c: (c.n("failed_share") >= 0.15) & (c.n("voice_out") >= 2),
        lambda rule, r: rule.says(
            "analysis.sim.unassigned_callees", share=f"{100 * _n(r, 'failed_share'):.0f}"
        ),
    ),
    SimRule(
        "simbox.elderly_targets",
        0.2,
        lambda c: c.n("elderly_callee_share") >= 0.3,
        lambda rule, r: rule.says(
            "analysis.sim.elderly_targets", share=f"{100 * _n(r, 'elderly_callee_share'):.0f}"
        ),
    ),
)


def decisive(table: pa.Table) -> Mask:
    """The SIMs a decisive rule settles on its own, whatever the model says."""
    columns = SimColumns(table)
    settled = np.zeros(table.num_rows, dtype=np.bool_)
    for rule in SIM_RULES:
        if rule.decisive:
            settled |= rule.applies(columns)
    return settled


def sim_reasons_of(table: pa.Table, *, limit: int = 5) -> list[list[Reason]]:
    """:func:`sim_reasons` of every SIM of ``table``: meant for the flagged few, since each
    reason is said in Python; which rules fire is read over the columns at once."""
    columns = SimColumns(table)
    fired = np.column_stack(
        [rule.applies(columns) for rule in SIM_RULES] or [np.zeros(table.num_rows, np.bool_)]
    )
    found: list[list[Reason]] = []
    for row, hits in zip(table.to_pylist(), fired, strict=True):
        said = [rule.reason(row) for rule, hit in zip(SIM_RULES, hits, strict=True) if hit]
        said.sort(key=lambda x: -x.weight)
        found.append(said[:limit])
    return found


def sim_reasons(row: Row, *, limit: int = 5) -> list[Reason]:
    """The reason of every rule that applies, strongest first, with its message key and facts."""
    return sim_reasons_of(pa.Table.from_pylist([dict(row)]), limit=limit)[0]
