"""One data set judged both ways: by ``qalqan analyze`` afterwards and by ``qalqan replay`` live."""

from __future__ import annotations

import csv
from pathlib import Path

from qalqan.analytics.pipeline import Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.screening.config import ScreeningConfig
from qalqan.screening.replay import replay

__all__ = ["analyze_and_replay"]


def analyze_and_replay(
    data: Path, root: Path, *, config: ScreeningConfig | None = None
) -> tuple[dict[str, tuple[str, str]], list[dict[str, str]]]:
    """The calls analyze settled by a rule (record id → (rule, its detail)), and decisions.csv.

    Both read the same rules file's settings (``config``; the shipped one by default).
    """
    stage(data, root / "staged", quarantine_dir=root / "quarantine")
    store = AnalysisStore.open(root / "staged")
    try:
        analysis = Analysis(store, config=config)
        analysis.prepare()
        rows = analysis.con.execute(
            "SELECT record_id, rule, rule_detail FROM call_facts WHERE rule IS NOT NULL"
        ).fetchall()
    finally:
        store.close()
    decisions = root / "decisions.csv"
    replay(data, decisions, config=config)
    with decisions.open(newline="", encoding="utf-8") as handle:
        answered = list(csv.DictReader(handle))
    return {r: (rule, detail) for r, rule, detail in rows}, answered
