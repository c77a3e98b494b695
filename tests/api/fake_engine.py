"""A screening engine for the end-to-end tests of ``qalqan serve-http`` (QALQAN_HTTP_ENGINE).

Its rules file is JSON: ``{"+77071234567": "block", ...}``, the action by callee.
"""

from __future__ import annotations

import json
from pathlib import Path

from qalqan.domain.model import Action, CallAttempt, Decision, Reason


class TableEngine:
    def __init__(self, table: dict[str, str] | None = None) -> None:
        self.table = {k: Action(v) for k, v in (table or {}).items()}

    @classmethod
    def from_file(cls, path: Path) -> TableEngine:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def decide(self, attempt: CallAttempt) -> Decision:
        action = self.table.get(attempt.callee, Action.ALLOW)
        score = 0.0 if action is Action.ALLOW else 0.9
        reasons = (
            ()
            if action is Action.ALLOW
            else (Reason(rule="table.callee", weight=score, detail=f"{attempt.callee} is listed"),)
        )
        return Decision(action=action, score=score, reasons=reasons, record_id=attempt.record_id)


class NoDecide:
    """An engine class without a decide method."""


def load_config(path: Path) -> dict[str, str]:
    """Like ``qalqan.screening.config.load_config``: the rules file, parsed."""
    table: dict[str, str] = json.loads(Path(path).read_text(encoding="utf-8"))
    return table


class ConfigEngine:
    """Built like Qalqan's engine: ``ConfigEngine(load_config(path), verifier=...)``; has ``screen``."""

    def __init__(self, config: dict[str, str] | None = None, *, verifier: object = None) -> None:
        self.table = TableEngine(config)
        self.verifier = verifier
        self.screened = 0

    def decide(self, attempt: CallAttempt) -> Decision:
        return self.table.decide(attempt)

    def screen(self, attempt: CallAttempt) -> Decision:
        self.screened += 1
        return self.decide(attempt)
