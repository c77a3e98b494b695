"""A verdict or an action is compared as the domain's enum, never as a string literal.

``SimVerdict``, ``CallVerdict`` and ``Action`` are ``StrEnum``s: they equal their
strings, so files, DuckDB and templates keep working, and a misspelt member fails
at import where a misspelt string (``"sim_box"``) would silently never match.
The check reads every module of ``qalqan`` but the enums' own and the exchange
schema (which lists the allowed values): a comparison (``==``, ``!=``, ``in``), a
``.get()`` by key, a ``pyarrow.compute.equal`` or an SQL comparison of a
verdict, action or label column must not spell out a verdict.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import qalqan
from qalqan.domain.model import Action, CallVerdict, SimVerdict

PACKAGE = Path(qalqan.__file__).parent
EXEMPT = {PACKAGE / "domain" / "model.py", PACKAGE / "exchange" / "schema.py"}
VERDICTS = frozenset(member.value for enum in (SimVerdict, CallVerdict, Action) for member in enum)
_SQL = re.compile(
    r"\b(?:verdict|action|label)\s*(?:=|<>|!=|\bIN\s*\()\s*'(" + "|".join(sorted(VERDICTS)) + r")'",
    re.IGNORECASE,
)
_COMPARES_BY_CALL = {"get", "equal", "not_equal"}


def _spelt(node: ast.AST) -> str | None:
    """The verdict a node spells out: a string constant, or one inside a tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VERDICTS:
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            found = _spelt(item)
            if found is not None:
                return found
    return None


def verdict_literals(source: str) -> list[tuple[int, str]]:
    """``(line, verdict)`` of every verdict compared as a literal in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _COMPARES_BY_CALL
        ):
            operands = list(node.args[:2])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.extend((node.lineno, m.group(1)) for m in _SQL.finditer(node.value))
            continue
        else:
            continue
        for operand in operands:
            spelt = _spelt(operand)
            if spelt is not None:
                found.append((node.lineno, spelt))
    return found


def test_the_check_finds_each_way_of_spelling_a_verdict() -> None:
    source = """
if row["verdict"] == "simbox": pass
if verdict in ("fraud", "spoofed"): pass
n = counts.get("suspect", 0)
mask = pc.equal(column, "simbox")
sql = f"SELECT * FROM j WHERE action <> 'allow' AND {x}"
"""
    assert [verdict for _, verdict in verdict_literals(source)] == [
        "simbox",
        "fraud",
        "suspect",
        "simbox",
        "allow",
    ]


def test_the_check_lets_the_enums_through() -> None:
    source = """
if row["verdict"] == SimVerdict.SIMBOX: pass
sql = f"SELECT * FROM j WHERE action <> '{Action.ALLOW}'"
sections = {"fraud": settings}
"""
    assert verdict_literals(source) == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p not in EXEMPT),
    ids=lambda p: p.relative_to(PACKAGE).as_posix(),
)
def test_no_verdict_is_compared_as_a_literal(path: Path) -> None:
    found = verdict_literals(path.read_text(encoding="utf-8"))
    assert not found, "\n".join(
        f"{path.relative_to(PACKAGE.parent)}:{line}: '{verdict}' (use the domain's enum)"
        for line, verdict in found
    )
