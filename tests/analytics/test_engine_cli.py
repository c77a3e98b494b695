"""``qalqan analyze --engine spark`` stops with one line and exit 2 when Spark cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_missing_java_is_exit_2_before_any_work(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"JAVA_HOME", "SPARK_REMOTE"}}
    env["PATH"] = str(tmp_path)  # no java on it
    out = tmp_path / "out"
    qalqan = str(Path(sys.executable).with_name("qalqan"))
    done = subprocess.run(
        [qalqan, "analyze", str(tmp_path), "--out", str(out), "--engine", "spark", "-q"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "needs a Java runtime" in done.stderr
    assert not out.exists()
