"""What every file Qalqan writes promises of its reasons, checked on one file.

Each row's ``reason_facts`` cell holds its reasons as data (version 2 of the
column, ``docs/exchange-format.md``): every reason names its rule, says a key
of the message catalog with the facts that fill it, and keeps its weight. The
English ``reasons`` column is a rendering of that data, for people and
spreadsheets: rendering the data in English gives it back, joined as each
file joins its reasons.
"""

from __future__ import annotations

import csv
import json
import math
import string
from pathlib import Path

from qalqan.analytics.output import ACCOUNTS
from qalqan.domain.messages import LANGUAGES, MESSAGES, parse_reasons, render
from qalqan.domain.model import Reason
from qalqan.exchange.reader import read_file
from qalqan.exchange.schema import TABLES

__all__ = ["JOINS", "check_reasons_file"]

JOINS = {
    "sims": " | ",
    "decisions": " | ",
    "farms": "; ",
    "campaigns": "; ",
    "calls": "",
    "accounts": "",
}
"""How each file joins its reasons in ``reasons`` (calls have one reason each)."""
RULE_PREFIXED = frozenset({"sims", "decisions", "calls"})
"""Files whose English says each reason's rule before its text (``rule: text``)."""
SCORED = "fraud_call.model"
"""The call model's reason reads ``fraud_call.model (0.93): text``: its weight, to two places."""


def _fields(key: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(MESSAGES[key]["en"]) if name}


def _check_data(item: object) -> None:
    """One reason's data as written: rule, a catalog key, facts filling it, a finite weight."""
    assert isinstance(item, dict), item
    assert item.get("rule"), f"a reason without its rule: {item}"
    key = item.get("key")
    assert key in MESSAGES, f"{item.get('rule')}: key {key!r} is not in the catalog"
    facts = item.get("facts")
    assert isinstance(facts, dict) and _fields(key) <= set(facts), (key, facts)
    weight = item.get("weight")
    assert isinstance(weight, int | float) and math.isfinite(weight), f"no weight in {item}"


def _english(name: str, reasons: list[Reason], text: str) -> None:
    """``text`` is what rendering ``reasons`` in English gives, joined as file ``name`` joins."""
    if name == "calls" and reasons[0].rule == SCORED:
        [reason] = reasons
        lead, _, rest = text.partition("): ")
        assert lead.startswith(f"{SCORED} (") and rest == reason.detail, (text, reason)
        assert abs(float(lead.removeprefix(f"{SCORED} (")) - reason.weight) <= 0.0051
        return
    parts = [
        f"{r.rule}: {render(r.key, r.facts_dict())}"
        if name in RULE_PREFIXED
        else render(r.key, r.facts_dict())
        for r in reasons
    ]
    if not JOINS[name]:
        assert len(parts) == 1, reasons
    assert JOINS[name].join(parts) == text, (text, reasons)


def check_reasons_file(path: Path, name: str, quarantine: Path) -> int:
    """Check every reason of output file ``path`` (table ``name``); returns how many there were."""
    table_def = ACCOUNTS if name == "accounts" else TABLES[name]
    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[-1] == "reason_facts"  # last in the file, after the extras
    with read_file(path, table_def, quarantine=quarantine) as reader:
        table = reader.read_all()
        report = reader.report
    assert report.rows_rejected == 0 and report.rows_read == table.num_rows
    assert not report.cells_emptied, report.warning_examples[:3]
    said = 0
    for text, cell in zip(
        table.column("reasons").to_pylist(), table.column("reason_facts").to_pylist(), strict=True
    ):
        if not text:
            assert not cell, cell
            continue
        assert cell, f"no reason_facts for {text!r}"
        for item in json.loads(cell):
            _check_data(item)
        reasons = parse_reasons(cell)
        _english(name, reasons, text)
        for reason in reasons:
            assert all(reason.detail_in(lang) for lang in LANGUAGES)
        said += len(reasons)
    return said
