"""Loading what screening and analysis found into the case store, idempotently and crash-safe.

    report = ingest_decisions(session, Path("decisions.csv"), data=Path("operator/"))
    report = ingest_findings(session, Path("analysis/"), data=Path("operator/"))

**Which alerts.** Every screening decision other than ``allow`` becomes an
*intercepted call* alert (with its episode); when the data set is given, its
``cdrs`` say who was called and which number called, its ``subscribers`` the
callee's birth year (vulnerable at ``vulnerable_age`` and over), its
``registry`` and ``reports`` the likely scheme (which picks the call-back
script). From ``qalqan analyze`` output: one alert per *SIM farm* (with its
handsets, SIMs, numbers and cells), per *campaign* (its farms, routes and,
with the data set, the numbers it called from) and per *spoofed-number wave*
(the spoofed calls of one campaign — or one route when no campaign — under one
rule on one UTC day, when there are at least ``min_wave_calls``).

**Reasons as given.** Every alert keeps its reasons as data, each as
:meth:`~qalqan.domain.model.Reason.as_data` has it (rule, message key, facts,
weight), from the input's ``reason_facts``; nothing is read back out of a
reason's words (:mod:`~qalqan.cases.ingest.reasons`).

**Idempotent.** Every row has a natural key with a unique constraint
(an alert: kind, source, record/farm/campaign id; an entity: kind, value; a
link: both ends) and is written with ``INSERT … ON CONFLICT`` on both
databases. Running the same input again updates what analysis says (reasons,
severity) and never what people did (claims, outcomes, an operator's choice
of scheme); nothing is duplicated.

**Crash-safe.** Rows are written in batches, each committed with its audit
entry before the next begins; ``progress`` is called only after the commit,
so a batch reported done is on disk. A crash loses at most the batch in
flight, and re-running the same command picks everything up again.

**Sources.** Record ids are unique within one operator's data set, and farm
and campaign ids within one analysis. ``source`` names the feed (an
operator, a day's analysis) so that two of them never collide; ingest a data
set's decisions and its analysis under the same source so that calls find
their campaigns.

**Where things are.** :mod:`~qalqan.cases.ingest.decisions` and
:mod:`~qalqan.cases.ingest.findings` are the two pipelines (the findings' also load
the money trail, :mod:`~qalqan.cases.ingest.money`),
:mod:`~qalqan.cases.ingest.data_set` reads what the operator's data set says
about their calls, :mod:`~qalqan.cases.ingest.alerts` writes alerts, entities
and links, :mod:`~qalqan.cases.ingest.reasons` keeps reasons and their schemes,
:mod:`~qalqan.cases.ingest.report` says what one ingest did.
"""

from __future__ import annotations

from qalqan.cases.ingest.alerts import call_severity
from qalqan.cases.ingest.decisions import ingest_decisions
from qalqan.cases.ingest.findings import MAX_CAMPAIGN_NUMBERS, ingest_findings
from qalqan.cases.ingest.money import ingest_money
from qalqan.cases.ingest.report import DEFAULT_BATCH, IngestProgress, IngestReport, RejectedRows

__all__ = [
    "DEFAULT_BATCH",
    "MAX_CAMPAIGN_NUMBERS",
    "IngestProgress",
    "IngestReport",
    "RejectedRows",
    "call_severity",
    "ingest_decisions",
    "ingest_findings",
    "ingest_money",
]
