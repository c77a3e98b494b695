"""Makes the research code beside the package (``research/``) importable from a benchmark script.

A benchmark runs as ``python benchmarks/NAME.py``, which puts only ``benchmarks/`` on the
import path; ``import _research`` before ``from research... import ...`` adds the repository
root. The tests reach it through pytest's ``pythonpath``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
