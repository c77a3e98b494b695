"""Reasons as data: every reason an alert keeps becomes ``Reason.as_data()``.

Before, an alert's ``reasons`` column was a JSON array of English strings
(``rule.id: what was seen``, or a farm's evidence), of objects with
``text``, ``rule``, ``key`` and ``facts``, or of both. Each becomes
``{"rule", "key", "facts", "weight"}``, with ``"text"`` only when it has no
message key, as :meth:`qalqan.domain.model.Reason.as_data` writes it:

- a string is kept whole as the words of a reason without a key, of rule
  ``TABLE.reasons`` after the file its alert came from (``decisions``,
  ``farms``, ``campaigns``, ``calls``); it is not cut up or read for its rule;
- an object keeps its rule, key and facts; one the store wrote itself (a
  finding's headline, with no rule) is named by its key;
- the weight was not kept then, and is 0.0.

Rows already in the new shape are left as they are, so running it on a
store some of whose alerts were loaded by a newer ingest changes only the
older ones. The downgrade writes the objects back with their English text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1_000

_WORDS_RULE = {
    "intercepted_call": "decisions.reasons",
    "sim_farm": "farms.reasons",
    "campaign": "campaigns.reasons",
    "spoofed_wave": "calls.reasons",
}
"""The rule of a reason known only by its words: the file its alert's reasons came from."""

_alerts = sa.table(
    "alerts",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("reasons", sa.Text),
)


def _as_data(item: object, kind: str) -> object:
    """One stored reason of an older shape as ``Reason.as_data()`` writes it."""
    words_rule = _WORDS_RULE.get(kind, "reasons")
    if isinstance(item, str):
        return {"rule": words_rule, "key": "", "facts": {}, "weight": 0.0, "text": item}
    if not isinstance(item, dict) or "weight" in item:
        return item  # already data (or nothing this migration knows how to read)
    key = str(item.get("key") or "")
    facts = item.get("facts")
    data: dict[str, object] = {
        "rule": str(item.get("rule") or key or words_rule),
        "key": key,
        "facts": {str(k): str(v) for k, v in facts.items()} if isinstance(facts, dict) else {},
        "weight": 0.0,
    }
    if not key:
        data["text"] = str(item.get("text") or "")
    return data


def _as_object(item: object, kind: str) -> object:
    """One reason of the new shape as the previous revision kept it (text, rule, key, facts)."""
    from qalqan.domain.messages import render

    if not isinstance(item, dict) or "weight" not in item:
        return item
    key, facts = str(item.get("key") or ""), item.get("facts") or {}
    text = str(item.get("text") or "")
    if key:
        try:
            text = render(key, facts)
        except (KeyError, IndexError, ValueError):
            text = key
    return {"text": text, "rule": str(item.get("rule") or ""), "key": key, "facts": facts}


def _rewrite(convert: Callable[[object, str], object]) -> None:
    """Every alert's reasons through ``convert``, in batches by id; unchanged rows untouched."""
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_alerts.c.id, _alerts.c.kind, _alerts.c.reasons)
            .where(_alerts.c.id > after)
            .order_by(_alerts.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        changed: list[dict[str, Any]] = []
        for ident, kind, raw in rows:
            try:
                items = json.loads(raw) if raw else []
            except json.JSONDecodeError:
                continue
            if not isinstance(items, list):
                continue
            converted = [convert(item, kind) for item in items]
            if converted != items:
                text = json.dumps(converted, ensure_ascii=False)
                changed.append({"ident": ident, "new_reasons": text})
        if changed:
            connection.execute(
                _alerts.update()
                .where(_alerts.c.id == sa.bindparam("ident"))
                .values(reasons=sa.bindparam("new_reasons")),
                changed,
            )
        after = rows[-1][0]


def upgrade() -> None:
    _rewrite(_as_data)


def downgrade() -> None:
    _rewrite(_as_object)
