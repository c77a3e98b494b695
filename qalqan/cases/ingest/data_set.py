"""What the operator's data set says about the calls an ingest loads: cdrs, subscribers, registry, reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from qalqan.cases.ingest.report import IngestReport
from qalqan.domain.model import CallAttempt, Ingress, ReportCategory
from qalqan.exchange.reader import DataSet


@dataclass(slots=True)
class DataSetFacts:
    """What the data set says about the calls of one ingest and the people they reached."""

    calls: dict[str, CallAttempt] = field(default_factory=dict)
    """record id → the call as its CDR has it."""
    callee_imsis: dict[str, str] = field(default_factory=dict)
    """callee → the IMSI its CDRs name (for a callee missing from ``subscribers``)."""
    subscribers: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """msisdn → (imsi, birth year)."""
    registry: dict[str, str] = field(default_factory=dict)
    """protected number → owner."""
    registered: dict[str, ReportCategory] = field(default_factory=dict)
    """protected number → the kind of body it belongs to, where the registry's optional
    ``category`` column says."""
    reported: dict[str, Counter[str]] = field(default_factory=dict)
    """reported number → categories citizens gave."""


def _whole_table(ds: DataSet, name: str, quarantine: Path | None, report: IngestReport) -> pa.Table:
    """A small table of the data set in one piece (empty when absent), its rejected rows counted."""
    if not ds.has(name):
        return ds.read_all(name)
    with ds.read(name, quarantine=quarantine) as reader:
        table = reader.read_all()
    report.note_rejected(reader.report, quarantine)
    return table


_CDR_COLUMNS: Final = (
    "record_id",
    "start_time",
    "a_number",
    "b_number",
    "ingress",
    "a_imsi",
    "a_imei",
    "a_cell",
    "b_imsi",
)


def _read_calls(
    ds: DataSet,
    record_ids: Sequence[str],
    facts: DataSetFacts,
    report: IngestReport,
    quarantine: Path | None,
) -> None:
    """The calls of ``record_ids`` as their CDRs have them, into ``facts``."""
    wanted = pa.array(sorted(set(record_ids)), pa.string())
    with ds.read("cdrs", quarantine=quarantine) as reader:
        for batch in reader:
            keep = pc.is_in(batch.column("record_id"), value_set=wanted)
            for row in batch.filter(keep).select(list(_CDR_COLUMNS)).to_pylist():
                call = CallAttempt(
                    time=row["start_time"],
                    caller=row["a_number"],
                    callee=row["b_number"],
                    ingress=Ingress.parse(row["ingress"]),
                    imsi=row["a_imsi"],
                    imei=row["a_imei"],
                    cell=row["a_cell"],
                    record_id=row["record_id"],
                )
                facts.calls[row["record_id"]] = call
                if row["b_imsi"]:
                    facts.callee_imsis[call.callee] = row["b_imsi"]
    report.note_rejected(reader.report, quarantine)


def read_data_set(
    data: Path,
    record_ids: Sequence[str],
    *,
    with_people: bool,
    report: IngestReport,
    quarantine: Path | None,
) -> DataSetFacts:
    """The cdrs rows of ``record_ids`` (and, for calls to victims, subscribers, registry, reports).

    Every row a table rejects is counted in ``report`` (and kept in ``quarantine``):
    an alert whose CDR was rejected loads without its caller and callee.
    """
    facts = DataSetFacts()
    if not record_ids:
        return facts
    ds = DataSet.open(data)
    # cells first, read on their own, so that their rejected rows are counted too
    # (cdrs would otherwise read them for their keys alone)
    _whole_table(ds, "cells", quarantine, report)
    _read_calls(ds, record_ids, facts, report, quarantine)
    if not with_people:
        return facts
    callees = pa.array(sorted({c.callee for c in facts.calls.values()}), pa.string())
    subscribers = _whole_table(ds, "subscribers", quarantine, report)
    if len(subscribers):
        subscribers = subscribers.filter(pc.is_in(subscribers.column("msisdn"), value_set=callees))
        birth = (
            subscribers.column("birth_year") if "birth_year" in subscribers.column_names else None
        )
        for i, (imsi, msisdn) in enumerate(
            zip(
                subscribers.column("imsi").to_pylist(),
                subscribers.column("msisdn").to_pylist(),
                strict=True,
            )
        ):
            year = None if birth is None else birth[i].as_py()
            facts.subscribers[msisdn] = (imsi, year)
    registry = _whole_table(ds, "registry", quarantine, report)
    numbers = registry.column("number").to_pylist()
    facts.registry = dict(zip(numbers, registry.column("owner").to_pylist(), strict=True))
    if "category" in registry.column_names:
        facts.registered = {
            number: ReportCategory(category)
            for number, category in zip(
                numbers, registry.column("category").to_pylist(), strict=True
            )
            if category
        }
    reports = _whole_table(ds, "reports", quarantine, report)
    for number, category in zip(
        reports.column("reported_number").to_pylist(),
        reports.column("category").to_pylist(),
        strict=True,
    ):
        if number:
            facts.reported.setdefault(number, Counter())[category] += 1
    return facts
