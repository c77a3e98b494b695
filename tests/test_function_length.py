"""No function of Qalqan is longer than a screen or two: at most 120 lines.

A function that long holds several steps; each step reads better as a function
with a name that says what it does. The database migrations are exempt: each is
one generated, append-only script. Nested functions and methods count on their
own (and inside the function that holds them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import qalqan

PACKAGE = Path(qalqan.__file__).parent
MAX_LINES = 120


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function in ``source`` longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_the_check_counts_a_function_from_def_to_its_last_line() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(5))
    source = f"def five():\n{body}\n\ndef outer():\n    def inner():\n{body.replace('    ', '        ')}\n"
    assert long_functions(source, limit=5) == [("five", 6), ("outer", 7), ("inner", 6)]


def test_no_function_is_longer_than_the_limit() -> None:
    found = [
        f"{path.relative_to(PACKAGE).as_posix()}:{name} ({lines} lines)"
        for path in _modules()
        for name, lines in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"over {MAX_LINES} lines: " + ", ".join(found)
