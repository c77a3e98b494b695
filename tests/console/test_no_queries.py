"""The console runs no query of its own: every read and write goes through a :mod:`qalqan.cases`
service, which checks the role and writes the audit log. So no module of ``qalqan.console``
imports SQLAlchemy or the store's tables (:mod:`qalqan.cases.models`), even only for typing."""

from __future__ import annotations

import ast
from pathlib import Path

import qalqan.console

CONSOLE = Path(qalqan.console.__file__).parent
FORBIDDEN = ("sqlalchemy", "qalqan.cases.models")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with the line: ``import a.b`` and ``from a.b import c``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_the_console_imports_neither_sqlalchemy_nor_the_tables() -> None:
    modules = sorted(CONSOLE.rglob("*.py"))
    assert CONSOLE / "app.py" in modules
    wrong = [
        f"{path.relative_to(CONSOLE.parent.parent)}:{line}: {module}"
        for path in modules
        for line, module in _imports(path)
        if _forbidden(module)
    ]
    assert wrong == []


def test_the_check_sees_each_way_of_importing(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlalchemy.orm\n"
        "from sqlalchemy import select\n"
        "from qalqan.cases import models\n"
        "from qalqan.cases.models import Alert\n"
        "from qalqan.cases import views\n",
        encoding="utf-8",
    )
    assert sorted({line for line, module in _imports(sample) if _forbidden(module)}) == [1, 2, 3, 4]
