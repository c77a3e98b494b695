"""A few seconds of ``benchmarks/soak.py``: valid calls keep their answers while both faces are attacked."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qalqan_soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc for descriptors")
def test_a_short_soak_answers_every_valid_call_and_leaks_nothing() -> None:
    soak = load_soak()
    # 120 slow connections of each kind (480) against a limit of 256 descriptors.
    result = soak.soak(3.0, scale=0.5, fd_limit=256, slow_per_kind=120, burst=3000, warmup_s=1.0)
    print(result.report())
    for name, face in result.faces.items():
        assert face.sent > 50, name
        assert face.answered >= face.sent - 1, name  # the last may be cut off by the stop
        assert face.failed_open == 0, name
    assert result.stall_ms is not None and not result.stall_failed_open
    # The jump reached the engine (the node believed the client's time) and was answered in time.
    assert not result.stall_time_ignored
    assert result.stall_ms < soak.DEADLINE_MS * 4, f"{result.stall_ms:.1f} ms"
    assert all(result.slow_closed[kind] > 0 for kind in ("http-slowloris", "sip-idle"))
    assert not any(key.endswith("connect failed") for key in result.hostile)
    for face, (before, after) in result.fds.items():
        assert after <= before + 2, face  # every connection given back
    for face, (before, after) in result.rss_kib.items():
        assert after < before + 64 * 1024, face
    assert result.log_bytes < 4096
    assert "Traceback" not in "\n".join(result.log_lines)
