"""The model cache is shared by every process of a user (parallel test workers, a node and a CLI)."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any, cast

from qalqan.analytics.models import Models, save_models


def test_writers_at_the_same_time_leave_one_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "models.pkl"
    payloads = [{"writer": i, "weights": bytes([i]) * 4_000_000} for i in range(6)]
    start = threading.Barrier(len(payloads))
    failed: list[BaseException] = []

    def write(payload: dict[str, Any]) -> None:
        start.wait()
        try:
            save_models(cast(Models, payload), target)
        except BaseException as error:  # a writer must not fail because another wrote
            failed.append(error)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    with target.open("rb") as f:
        written = pickle.load(f)
    assert written in payloads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.pkl"]
