"""The ``qalqan`` command starts without loading what only some of its commands need.

Every invocation (``qalqan --help``, ``qalqan serve``, each run of a script calling it)
imports the command table; a command whose module pulls in a model library at import
time makes all of them pay for it. The heavy libraries are imported when the command
that needs them runs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sklearn", "onnxruntime", "pymisp", "stix2", "reportlab", "pyspark", "networkx")


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    code = "import sys, json, qalqan.cli.main; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("library", HEAVY)
def test_the_command_table_loads_no_heavy_library(loaded: set[str], library: str) -> None:
    assert library not in loaded, f"importing qalqan.cli.main imports {library}"
